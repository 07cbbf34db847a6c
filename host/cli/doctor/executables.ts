// The bin dir as deployed: which executables are ours (the wasm-cni shim, recognised by strings only it
// carries), whether all of ours are one build (identical bytes: `wasm-cni install` copies one executable under
// every plugin name), and which of our plugin names hold someone else's executable.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { plugins as ourPlugins } from '../../plugins/registry.ts';
import type { Report } from './findings.ts';

/** Strings in shims/exec that no other program carries together: its socket variable and its kit's directory. */
const SHIM_MARKERS = ['WASM_CNI_SOCKET', '.wasm-cni'].map((s) => Buffer.from(s));
/** Only an executable that can start a daemon on demand reads this variable. */
const ON_DEMAND_MARKER = Buffer.from('WASM_CNI_ON_DEMAND');
/** The shim is well under this; a bigger file is not it (and is not read whole). */
const MAX_SHIM_BYTES = 16 << 20;

export interface Executable {
  name: string;
  path: string;
  ours: boolean;
  sha256?: string;
  /** Ours, and able to start a daemon when none answers. */
  startsDaemon?: boolean;
}

export function isOurShim(bytes: Buffer): boolean {
  return SHIM_MARKERS.every((m) => bytes.includes(m));
}

export function listExecutables(binDir: string): Executable[] {
  let names: string[];
  try {
    names = readdirSync(binDir).sort();
  } catch {
    return [];
  }
  const out: Executable[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(binDir, name);
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      continue;
    }
    if (!st.isFile() || (st.mode & 0o111) === 0) continue;
    if (st.size > MAX_SHIM_BYTES) {
      out.push({ name, path, ours: false });
      continue;
    }
    const bytes = readFileSync(path);
    const ours = isOurShim(bytes);
    out.push({
      name,
      path,
      ours,
      ...(ours
        ? { sha256: createHash('sha256').update(bytes).digest('hex'), startsDaemon: bytes.includes(ON_DEMAND_MARKER) }
        : {}),
    });
  }
  return out;
}

/** Checks the executables; returns them for the checks that follow. */
export function checkExecutables(report: Report, binDir: string): Executable[] {
  const fixInstall = `wasm-cni install --bin-dir ${binDir}`;
  let exists = true;
  try {
    exists = statSync(binDir).isDirectory();
  } catch {
    exists = false;
  }
  if (!exists) {
    report.add('executables', 'fail', `${binDir} does not exist`, fixInstall);
    return [];
  }
  const all = listExecutables(binDir);
  const ours = all.filter((e) => e.ours);
  const names = Object.keys(ourPlugins);
  const foreign = all.filter((e) => !e.ours && names.includes(e.name));
  const missing = names.filter((n) => !all.some((e) => e.name === n));
  if (ours.length === 0) {
    report.add('executables', 'fail', `no wasm-cni executable in ${binDir}`, fixInstall);
  } else {
    report.add('executables', 'ok', `ours: ${ours.map((e) => e.name).join(', ')}`);
  }
  for (const e of foreign) {
    report.add(
      'executables',
      'warn',
      `${e.path} is not the wasm-cni executable (another build of "${e.name}", e.g. the reference plugin)`,
      fixInstall,
    );
  }
  if (ours.length > 0 && missing.length > 0) {
    report.add('executables', 'info', `not installed: ${missing.join(', ')}`);
  }
  const builds = new Map<string, string[]>();
  for (const e of ours) builds.set(e.sha256!, [...(builds.get(e.sha256!) ?? []), e.name]);
  if (builds.size > 1) {
    const groups = [...builds].map(([h, n]) => `${h.slice(0, 12)}: ${n.join(', ')}`).join('; ');
    report.add(
      'executables',
      'warn',
      `wasm-cni executables of ${builds.size} different builds (${groups})`,
      fixInstall,
    );
  } else if (builds.size === 1) {
    report.add('executables', 'ok', `one build (sha256 ${[...builds.keys()][0]!.slice(0, 12)})`);
  }
  const others = all.filter((e) => !e.ours && !names.includes(e.name)).map((e) => e.name);
  if (others.length > 0) report.add('executables', 'info', `other plugins: ${others.join(', ')}`);
  return all;
}

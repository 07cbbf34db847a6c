// Calls one CNI plugin directly (env + stdin, as a runtime or a delegating plugin does) against the reference
// (/usr/lib/cni) or ours (build/cni/<type> when built and fresh, else the registry handler in-process — the
// same choice as tests/_lib/oracle.ts), and compares what both leave in a host-local data directory.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cniBinDir } from '../../../host/paths.ts';
import { cleanEnv } from '../../_lib/run.ts';
import { oursMode, referenceCniPath, runCommand } from '../../_lib/oracle.ts';

export type Impl = 'reference' | 'ours';
export const impls: Impl[] = ['reference', 'ours'];

export interface Call {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';
  conf: unknown;
  containerId?: string;
  ifName?: string;
  netns: string;
  cniArgs?: string;
  /** Plugin name (default host-local). */
  type?: string;
  /** Raw stdin instead of JSON.stringify(conf). */
  stdin?: string;
}

export interface CallResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Dispatch = (
  name: string,
  req: { env: Record<string, string | undefined>; stdin: Uint8Array },
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
let dispatch: Promise<Dispatch> | undefined;

export async function callPlugin(impl: Impl, c: Call): Promise<CallResult> {
  const type = c.type ?? 'host-local';
  const cniPath = impl === 'reference' ? referenceCniPath : cniBinDir;
  const env: Record<string, string> = {
    CNI_COMMAND: c.command,
    CNI_CONTAINERID: c.containerId ?? '',
    CNI_NETNS: c.netns,
    CNI_IFNAME: c.ifName ?? '',
    CNI_ARGS: c.cniArgs ?? '',
    CNI_PATH: cniPath,
  };
  const input = c.stdin ?? JSON.stringify(c.conf);
  if (impl === 'ours' && oursMode() === 'in-process') {
    dispatch ??= import('../../../host/plugins/dispatch.ts').then((m) => m.callPlugin as Dispatch);
    const r = await (await dispatch)(type, { env: { ...cleanEnv(), ...env }, stdin: new TextEncoder().encode(input) });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }
  return runCommand(join(cniPath, type), [], { input, env, timeoutMs: 60_000 });
}

/** Every file under dir: relative path → "<octal mode> <content as JSON string>". */
export function stateOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = (statSync(p).mode & 0o7777).toString(8);
        walk(p);
        continue;
      }
      out[relative(dir, p)] = `${(statSync(p).mode & 0o7777).toString(8)} ${JSON.stringify(readFileSync(p, 'latin1'))}`;
    }
  };
  walk(dir);
  return out;
}

/**
 * The reference's state with the one intended difference applied: v1.9.1 (which we follow) creates reservation
 * and last_reserved_ip files with mode 0600, Debian's v1.1.1 with 0644.
 */
export function referenceStateAsV191(state: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(state)) {
    const base = k.split('/').pop()!;
    out[k] = base !== 'lock' && !k.endsWith('/') && v.startsWith('644 ') ? `600${v.slice(3)}` : v;
  }
  return out;
}

/** A result or error printed by a plugin, parsed, with the spec-1.x printing difference of v1.1.1 removed. */
export function parsedOutput(stdout: string): unknown {
  if (stdout === '') return '';
  const v = JSON.parse(stdout) as Record<string, unknown>;
  // Debian's v1.1.1 prints an empty `"dns": {}` in 1.x results; the v1.3 library (v1.9.1) omits it.
  if (typeof v.cniVersion === 'string' && v.cniVersion.startsWith('1.') && v.dns && Object.keys(v.dns).length === 0)
    delete v.dns;
  return v;
}

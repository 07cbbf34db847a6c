// `wasm-cni install --bin-dir DIR`: the install-cni step. Copies the native executable under every plugin name
// into DIR, and next to them (DIR/.wasm-cni/) what the cold path and the daemon need to run from there:
// a marker package.json (so the bundles find their root), the two bundles, core.wasm and the addon.
// Each file is written beside its target and renamed into place, so a runtime exec'ing a plugin meanwhile
// sees the old or the new file, never half of one.
import { errorMessage } from '../errors.ts';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDir, cniBinDir } from '../paths.ts';

const usage = 'usage: wasm-cni install --bin-dir DIR [--plugins NAME,...]';

/** Where the cold-path kit goes inside a bin dir; shims/exec/coldpath.c looks for it under the same name. */
export const kitDirName = '.wasm-cni';

const kitFiles = ['js/cni-plugin.mjs', 'js/wasm-cni.mjs', 'js/daemon-worker.mjs', 'core.wasm', 'native/wasm_cni.node'];

function place(src: string, dst: string, mode: number): void {
  mkdirSync(dirname(dst), { recursive: true });
  const tmp = `${dst}.${process.pid}.tmp`;
  copyFileSync(src, tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, dst);
}

export interface InstallReport {
  binDir: string;
  plugins: string[];
  kit: string[];
}

export function install(binDir: string, only?: string[]): InstallReport {
  if (!existsSync(cniBinDir)) throw new Error(`${cniBinDir} does not exist: run build.sh first`);
  const available = readdirSync(cniBinDir).filter((f) => !f.startsWith('.') && statSync(join(cniBinDir, f)).isFile());
  const missing = (only ?? []).filter((p) => !available.includes(p));
  if (missing.length) throw new Error(`not built: ${missing.join(', ')} (built: ${available.join(', ')})`);
  const plugins = only ?? available;
  const kitRoot = join(binDir, kitDirName);
  const kit: string[] = [];
  for (const rel of kitFiles) {
    const src = join(buildDir, rel);
    if (!existsSync(src)) continue; // e.g. no addon on a build without a compiler: the plugins needing it say so
    place(src, join(kitRoot, 'build', rel), 0o644);
    kit.push(rel);
  }
  if (!kit.includes('js/cni-plugin.mjs'))
    throw new Error(`${join(buildDir, 'js/cni-plugin.mjs')} missing: run build.sh first`);
  mkdirSync(kitRoot, { recursive: true });
  writeFileSync(
    join(kitRoot, 'package.json'),
    `${JSON.stringify({ name: 'wasm-cni', private: true, type: 'module' })}\n`,
  );
  for (const p of plugins) place(join(cniBinDir, p), join(binDir, p), 0o755);
  return { binDir, plugins, kit };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'bin-dir': { type: 'string' }, plugins: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    process.stderr.write(`${errorMessage(e)}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!values['bin-dir']) {
    process.stderr.write(`--bin-dir is required\n${usage}\n`);
    return 2;
  }
  const r = install(values['bin-dir'], values.plugins?.split(',').filter(Boolean));
  process.stdout.write(
    `installed ${r.plugins.join(', ')} into ${r.binDir} (cold-path kit: ${kitDirName}/build/{${r.kit.join(',')}})\n`,
  );
  return 0;
}

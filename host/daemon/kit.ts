// The kit: everything the CNI executables need beside them to run a call without a daemon and to start one,
// a JavaScript runtime included, so a node with no Node.js (and no compiler, no npm) works.
//   <bin-dir>/<plugin>...        the native executable under every plugin name (shims/exec/)
//   <bin-dir>/wasm-cni           the same executable: under this name it runs the CLI on the kit's runtime
//   <bin-dir>/wasm-cni.conf      settings read by the executables (on-demand start, idle exit, socket)
//   <bin-dir>/.wasm-cni/build/   js/ bundles, core.wasm, native/ addon and cni-shim, runtime/bun, REVISION
// The runtime is bun: one binary that needs only glibc (Debian's node also needs libstdc++ and libgcc_s), and
// it starts the cold path faster than node (README, "Deployment"). shims/exec/kit.h finds these by the same names.
// Each file is written beside its target and renamed into place, so a runtime exec'ing a plugin meanwhile sees
// the old or the new file, never half of one; the ~100 MB runtime is copied only when it changed.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  realpathSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { childEnv } from '../child-env.ts';
import { plugins as registered } from '../plugins/registry.ts';

export const kitDirName = '.wasm-cni';
export const runtimeRel = 'runtime/bun';
export const settingsFileName = 'wasm-cni.conf';
export const cliName = 'wasm-cni';

/** Files of a build/ directory the kit carries, relative to it, with their modes. */
const kitFiles: Array<[string, number]> = [
  ['js/cni-plugin.mjs', 0o644],
  ['js/wasm-cni.mjs', 0o644],
  ['js/daemon-worker.mjs', 0o644],
  ['core.wasm', 0o644],
  ['native/wasm_cni.node', 0o755],
  ['native/cni-shim', 0o755],
  [runtimeRel, 0o755],
  ['REVISION', 0o644],
];
const requiredFiles = ['js/cni-plugin.mjs', 'js/wasm-cni.mjs', 'native/cni-shim', runtimeRel];

export const defaultSettings = `# wasm-cni settings, read by the CNI executables in this directory (runtimes do not reliably pass environment).
# on-demand: when no daemon answers, start one (detached, in its own systemd scope where systemd runs) and hand
#            it the call; false: run each call on the kit's runtime instead (the cold path).
on-demand = true
# idle-exit: seconds without calls after which a daemon started on demand exits by itself.
idle-exit = 60
# socket: the daemon's socket (default /run/wasm-cni/wasm-cni.sock; $WASM_CNI_SOCKET wins when set).
# socket = /run/wasm-cni/wasm-cni.sock
`;

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function place(src: string, dst: string, mode: number): void {
  if (sameFile(src, dst)) return;
  const s = statSync(src);
  if (existsSync(dst)) {
    const d = statSync(dst);
    if (d.size === s.size && d.mtimeMs === s.mtimeMs && (d.mode & 0o777) === mode) return; // unchanged
  }
  mkdirSync(dirname(dst), { recursive: true });
  const tmp = `${dst}.${process.pid}.tmp`;
  copyFileSync(src, tmp);
  chmodSync(tmp, mode);
  utimesSync(tmp, s.atime, s.mtime);
  renameSync(tmp, dst);
}

export interface KitPlacement {
  binDir: string;
  plugins: string[];
  kit: string[];
  settingsWritten: boolean;
}

/**
 * Places the executables (every registered plugin, or `only`), the `wasm-cni` command, the kit and, when absent
 * and asked for, the settings file into binDir, from a build/ directory (a built tree's, or an installed kit's
 * own). A release tarball carries no settings file: unpacked over a bin dir it must not replace the operator's.
 */
export function placeKit(binDir: string, sourceBuild: string, only?: string[], withSettings = true): KitPlacement {
  const known = Object.keys(registered);
  const unknown = (only ?? []).filter((p) => !known.includes(p));
  if (unknown.length) throw new Error(`not built: ${unknown.join(', ')} (ours: ${known.join(', ')})`);
  const missing = requiredFiles.filter((f) => !existsSync(join(sourceBuild, f)));
  if (missing.length)
    throw new Error(`${sourceBuild} lacks ${missing.map((f) => join(sourceBuild, f)).join(', ')}: run build.sh first`);
  const kitRoot = join(binDir, kitDirName);
  const kit: string[] = [];
  for (const [rel, mode] of kitFiles) {
    const src = join(sourceBuild, rel);
    if (!existsSync(src)) continue; // e.g. no addon on a build without a compiler: the plugins needing it say so
    place(src, join(kitRoot, 'build', rel), mode);
    kit.push(rel);
  }
  const marker = join(kitRoot, 'package.json'); // the bundles find their root (host/paths.ts) by it
  if (!existsSync(marker))
    writeFileSync(marker, `${JSON.stringify({ name: 'wasm-cni', private: true, type: 'module' })}\n`);
  const shim = join(sourceBuild, 'native', 'cni-shim');
  const names = only ?? known;
  for (const p of [...names, cliName]) place(shim, join(binDir, p), 0o755);
  const settings = join(binDir, settingsFileName);
  const settingsWritten = withSettings && !existsSync(settings);
  if (settingsWritten) writeFileSync(settings, defaultSettings, { mode: 0o644 });
  return { binDir, plugins: names, kit, settingsWritten };
}

export interface KitCheck {
  ok: boolean;
  detail: string;
}

/**
 * Runs what was placed, as a runtime would with no daemon: `<bin-dir>/loopback` answering VERSION on the kit's
 * runtime (no on-demand start, a socket nobody listens on), and `<bin-dir>/wasm-cni version`.
 */
export function checkKit(binDir: string): KitCheck {
  const env = childEnv(process.env, {
    WASM_CNI_SOCKET: join(binDir, kitDirName, 'no-daemon.sock'),
    WASM_CNI_ON_DEMAND: 'false',
    WASM_CNI_HOME: undefined,
    WASM_CNI_NODE: undefined,
    CNI_COMMAND: 'VERSION',
  });
  const plugin = spawnSync(join(binDir, 'loopback'), [], {
    input: '{"cniVersion":"1.0.0","name":"check","type":"loopback"}',
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  let versions: unknown;
  try {
    versions = JSON.parse(plugin.stdout).supportedVersions;
  } catch {
    /* reported below */
  }
  if (plugin.status !== 0 || !Array.isArray(versions)) {
    const why = plugin.error?.message ?? `${plugin.stdout}${plugin.stderr}`.trim().slice(0, 600);
    return {
      ok: false,
      detail: `the cold path does not run on this host (${join(binDir, 'loopback')} VERSION): ${why}`,
    };
  }
  const cli = spawnSync(join(binDir, cliName), ['version'], { env, encoding: 'utf8', timeout: 30_000 });
  if (cli.status !== 0)
    return {
      ok: false,
      detail: `${join(binDir, cliName)} version failed: ${(cli.error?.message ?? cli.stderr).trim()}`,
    };
  const runtime = join(binDir, kitDirName, 'build', runtimeRel);
  const rv = spawnSync(runtime, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return { ok: true, detail: `the kit's runtime (bun ${rv.stdout.trim()}) ran the cold path and the CLI` };
}

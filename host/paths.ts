// Where the built artefacts live, found the same way from sources (tsx) and from bundles (build/js/).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(): string {
  if (process.env.WASM_CNI_HOME) return process.env.WASM_CNI_HOME;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'wasm-cni') return dir;
      } catch {
        /* not ours */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('wasm-cni: cannot find the project root (set WASM_CNI_HOME)');
    dir = up;
  }
}

export const projectRoot = findProjectRoot();
export const buildDir = join(projectRoot, 'build');
export const coreWasmPath = join(buildDir, 'core.wasm');
export const addonPath = join(buildDir, 'native', 'wasm_cni.node');
/** A ready CNI_PATH directory: the native executable under every plugin name. */
export const cniBinDir = join(buildDir, 'cni');
/** The cold-path entry the native executable runs with Node when no daemon answers. */
export const pluginEntryPath = join(buildDir, 'js', 'cni-plugin.mjs');
export const cliEntryPath = join(buildDir, 'js', 'wasm-cni.mjs');

function newestMtimeUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeUnder(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when the cold-path bundle is at least as new as every source under host/ (an installed kit has none). */
export function bundlesFresh(): boolean {
  const sources = join(projectRoot, 'host');
  return (
    existsSync(pluginEntryPath) &&
    (!existsSync(sources) || statSync(pluginEntryPath).mtimeMs >= newestMtimeUnder(sources))
  );
}

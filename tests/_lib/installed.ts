// What a real node has, for tests that run a plugin as another uid: `wasm-cni install --bin-dir` into a fresh
// directory every user can reach. The checkout itself may sit below a directory only its owner can enter (a clone
// under /root, or inside `mktemp -d`), so another uid must never be asked to execute or read from it.
import { chmodSync, copyFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cliEntryPath } from '../../host/paths.ts';
import { cleanEnv, run } from './run.ts';
import type { Sandbox } from './sandbox.ts';

/** Fails unless every directory from `/` down to `dir` lets other users through (o+x). */
function assertReachableByAnyUser(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(`${d} is not searchable by other users: set TMPDIR to a world-readable directory`);
    }
    if (dirname(d) === d) return;
  }
}

/**
 * Installs the built plugins into a new world-readable bin dir and returns it. `extraNames` are more copies of the
 * executable placed like installed plugins (test-only plugin names the daemon fixture serves, or unknown ones).
 */
export async function installForAnyUser(box: Sandbox, extraNames: readonly string[] = []): Promise<string> {
  const binDir = box.dir('installed');
  chmodSync(binDir, 0o755);
  const r = await run(process.execPath, [cliEntryPath, 'install', '--bin-dir', binDir], {
    env: cleanEnv(),
    cwd: binDir,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`wasm-cni install failed (${r.code}): ${r.stderr}${r.stdout}`);
  for (const name of extraNames) {
    copyFileSync(join(binDir, 'loopback'), join(binDir, name));
    chmodSync(join(binDir, name), 0o755);
  }
  assertReachableByAnyUser(binDir);
  return binDir;
}

// The release tarball as the deploy tests use it: `scripts/dist.ts` into a private directory, unpacked into
// another empty one (what an operator's /opt/cni/bin would hold).
import { join } from 'node:path';
import { projectRoot } from '../../host/paths.ts';
import { sh } from '../_lib/run.ts';
import type { Sandbox } from '../_lib/sandbox.ts';

/** Builds the tarball and unpacks it into a new directory of the sandbox; returns that directory. */
export async function unpackedDist(box: Sandbox): Promise<string> {
  const out = box.dir('dist');
  await sh(process.execPath, ['--import', 'tsx', join(projectRoot, 'scripts', 'dist.ts'), '--out', out], {
    cwd: projectRoot,
    timeoutMs: 180_000,
  });
  const dir = box.dir('opt-cni-bin');
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  await sh('tar', ['-xzf', join(out, `wasm-cni-linux-${arch}.tgz`), '-C', dir]);
  return dir;
}

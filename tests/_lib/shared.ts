// The project's ../shared folder (reference docs, tools), found beside the checkout as CI lays it out.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../../host/paths.ts';

export const sharedDir =
  [resolve(projectRoot, '..', 'shared'), '/work/shared'].find((d) => existsSync(d)) ??
  resolve(projectRoot, '..', 'shared');
/** Runs plugin binaries exactly as libcni does (the oracle's harness). */
export const cniExecScript = join(sharedDir, 'tools', 'cni-exec.sh');

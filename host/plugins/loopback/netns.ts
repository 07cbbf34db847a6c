// A network namespace path checked the way the reference's ns.GetNS does before it enters it: the path must
// exist (`failed to Statfs "<p>": no such file or directory`, which DEL treats as "already gone") and be an
// nsfs or procfs file (`unknown FS magic on "<p>": <hex>`).
import { statfsSync } from 'node:fs';
import { ownCaller, type CallerContext } from '../../cni/caller.ts';
import { addon } from '../../native/addon.ts';

const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;

export class NetnsNotFoundError extends Error {}

/** Checks `path` as the caller names it; returns the path this process opens (caller.ts). */
export function checkNetnsPath(path: string, caller: CallerContext = ownCaller): string {
  const real = caller.resolve(path);
  let type: number;
  try {
    type = Number(statfsSync(real).type);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = typeof err.errno === 'number' ? addon().errnoText(Math.abs(err.errno)) : err.message;
    const msg = `failed to Statfs "${path}": ${reason}`;
    throw err.code === 'ENOENT' ? new NetnsNotFoundError(msg) : new Error(msg);
  }
  if (type !== NSFS_MAGIC && type !== PROC_SUPER_MAGIC)
    throw new Error(`unknown FS magic on "${path}": ${type.toString(16)}`);
  return real;
}

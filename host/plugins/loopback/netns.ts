// A network namespace path checked the way the reference's ns.GetNS does before it enters it: the path must
// exist (`failed to Statfs "<p>": no such file or directory`, which DEL treats as "already gone") and be an
// nsfs or procfs file (`unknown FS magic on "<p>": <hex>`).
import { statfsSync } from 'node:fs';
import { addon } from '../../native/addon.ts';

const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;

export class NetnsNotFoundError extends Error {}

export function checkNetnsPath(path: string): void {
  let type: number;
  try {
    type = Number(statfsSync(path).type);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const reason = typeof err.errno === 'number' ? addon().errnoText(Math.abs(err.errno)) : err.message;
    const msg = `failed to Statfs "${path}": ${reason}`;
    throw err.code === 'ENOENT' ? new NetnsNotFoundError(msg) : new Error(msg);
  }
  if (type !== NSFS_MAGIC && type !== PROC_SUPER_MAGIC)
    throw new Error(`unknown FS magic on "${path}": ${type.toString(16)}`);
}

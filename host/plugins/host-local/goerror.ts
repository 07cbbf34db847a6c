// File system errors worded like Go's *PathError ("open /x: no such file or directory"), which the reference
// prints as the CNI error message.
import { addon } from '../../native/addon.ts';

export function goFsError(e: unknown, op: string, path: string): Error {
  const errno = (e as NodeJS.ErrnoException).errno;
  if (typeof errno !== 'number') return e instanceof Error ? e : new Error(String(e));
  return new Error(`${op} ${path}: ${addon().errnoText(Math.abs(errno))}`);
}

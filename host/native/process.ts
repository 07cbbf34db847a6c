// Running a short-lived process to completion (a firewall tool, a delegated plugin): posix_spawn through the
// addon, which starts it the way Go's os/exec does (no copy of this process's page tables, unlike
// child_process's fork), with stdin written and stdout/stderr collected off the event loop.
import { addon } from './addon.ts';

export interface ProcessResult {
  /** The exit status; 128 when a signal ended it (as child_process callers here have always read it). */
  code: number;
  signal: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs the executable at `file` (a path with a slash: no $PATH search) with exactly `env` and `input` on stdin.
 * Never rejects for a non-zero exit; rejects with the errno (code ENOENT, ETXTBSY, ...) when it cannot start. */
export async function runProcess(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  input: Uint8Array | string = '',
): Promise<ProcessResult> {
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const stdin = typeof input === 'string' ? Buffer.from(input) : input;
  const r = await addon().spawnCollect(file, [...args], envList, stdin);
  return { code: r.status ?? 128, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

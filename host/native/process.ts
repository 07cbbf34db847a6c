// Running a short-lived process to completion (a firewall tool, a delegated plugin) through the addon, which
// starts it the way Go's os/exec does (CLONE_VM|CLONE_VFORK: no copy of this process's page tables, unlike
// child_process's fork), with stdin written and stdout/stderr collected off the event loop. The process can be
// started in another world (the daemon's caller's namespaces, root and ids) without a helper like nsenter.
import { addon } from './addon.ts';

/** Where the process runs instead of this process's world: namespace files and a root directory as paths this
 * process can open (null: ours), and the uid/gid it runs as (absent: ours). */
export interface ProcessWorld {
  netns?: string | null;
  mntns?: string | null;
  root?: string | null;
  uid?: number;
  gid?: number;
}

export interface ProcessResult {
  /** The exit status; 128 when a signal ended it (as child_process callers here have always read it). */
  code: number;
  signal: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs the executable at `file` (a path with a slash: no $PATH search; in `world`'s root when it has one) with
 * exactly `env` and `input` on stdin. Never rejects for a non-zero exit; rejects with the errno (code ENOENT,
 * ETXTBSY, EPERM, ...; the message names the step: execve, setns, chroot, setuid) when it cannot start. */
export async function runProcess(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  input: Uint8Array | string = '',
  world?: ProcessWorld,
): Promise<ProcessResult> {
  const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const stdin = typeof input === 'string' ? Buffer.from(input) : input;
  const r = await addon().spawnCollect(file, [...args], envList, stdin, world);
  return { code: r.status ?? 128, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

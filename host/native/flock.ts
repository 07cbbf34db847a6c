// flock(2) on a file, interoperating with the Go plugins' locks (host-local's <dataDir>/<network>/lock).
import { closeSync, constants, openSync } from 'node:fs';
import { addon } from './addon.ts';

export interface LockOptions {
  /** Shared (read) lock instead of exclusive. */
  shared?: boolean;
  /** Give up after this many milliseconds (default: wait forever). */
  timeoutMs?: number;
}

export class LockTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for the lock on ${path}`);
  }
}

export class FileLock {
  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  /** Opens (creating it if missing) the lock file read-only, like the Go plugins do (mode 0750 by default). */
  static open(path: string, mode = 0o750): FileLock {
    return new FileLock(path, openSync(path, constants.O_RDONLY | constants.O_CREAT, mode));
  }

  /** Waits for the lock without blocking the event loop; throws LockTimeoutError when the timeout passes. */
  async lock(opts: LockOptions = {}): Promise<void> {
    const timeout = opts.timeoutMs ?? -1;
    const got = await addon().flockWait(this.openFd(), !opts.shared, timeout);
    if (!got) throw new LockTimeoutError(this.path, timeout);
  }

  /** Takes the lock only if it is free right now. */
  tryLock(opts: Pick<LockOptions, 'shared'> = {}): boolean {
    return addon().flockTry(this.openFd(), !opts.shared);
  }

  unlock(): void {
    addon().flockUnlock(this.openFd());
  }

  /** Closes the file, which also drops the lock. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private openFd(): number {
    if (this.fd < 0) throw new Error(`lock file ${this.path} is closed`);
    return this.fd;
  }
}

/** Runs fn while holding the lock on path; always unlocks and closes. */
export async function withFileLock<T>(path: string, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
  const l = FileLock.open(path);
  try {
    await l.lock(opts);
    return await fn();
  } finally {
    l.close();
  }
}

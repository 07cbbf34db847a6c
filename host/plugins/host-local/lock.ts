// The exclusive lock on <dataDir>/<network>/lock: flock(2), as the reference takes it, so our processes and
// the Go plugin exclude each other. Within one process (the daemon) callers also queue on an in-memory
// mutex first, so that at most one of them waits in flock and ties up a libuv worker thread.
import { FileLock } from '../../native/flock.ts';

const queues = new Map<string, Promise<void>>();

export class DirectoryLock {
  private releaseQueue: (() => void) | undefined;

  private constructor(
    readonly path: string,
    private readonly file: FileLock,
  ) {}

  /** Opens (creating it 0750 if missing) the lock file. */
  static open(path: string): DirectoryLock {
    return new DirectoryLock(path, FileLock.open(path, 0o750));
  }

  async acquire(): Promise<void> {
    const before = queues.get(this.path) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = before.then(() => mine);
    queues.set(this.path, tail);
    this.releaseQueue = () => {
      done();
      if (queues.get(this.path) === tail) queues.delete(this.path);
    };
    await before;
    try {
      await this.file.lock();
    } catch (e) {
      this.releaseQueue();
      this.releaseQueue = undefined;
      throw e;
    }
  }

  release(): void {
    try {
      this.file.unlock();
    } finally {
      this.releaseQueue?.();
      this.releaseQueue = undefined;
    }
  }

  close(): void {
    this.file.close();
  }
}

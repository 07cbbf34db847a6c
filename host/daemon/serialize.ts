// Calls for the same container run one after another (a DEL never overtakes its ADD); others run concurrently.

export class KeyedSerializer {
  private tails = new Map<string, Promise<void>>();

  /** Runs fn after every earlier fn with the same key has settled. An empty key is not serialized. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (!key) return fn();
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Containers with a call running or queued. */
  get busyKeys(): number {
    return this.tails.size;
  }
}

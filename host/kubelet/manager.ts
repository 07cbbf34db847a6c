// PluginManager: what dockershim wraps the chosen plugin in (kubernetes v1.23
// pkg/kubelet/dockershim/network/plugins.go, PluginManager). Operations on one pod (`<name>_<namespace>`) are
// serialised; different pods run in parallel; errors are wrapped with the plugin name and pod; every operation is
// counted and timed.
import { errorMessage } from '../errors.ts';
import { NetworkPluginMetrics } from './metrics.ts';
import { podFullName, type NetworkPlugin, type PodNetworkStatus } from './types.ts';

interface PodLock {
  refcount: number;
  tail: Promise<void>;
}

export class PluginManager {
  private readonly locks = new Map<string, PodLock>();

  constructor(
    readonly plugin: NetworkPlugin,
    readonly metrics = new NetworkPluginMetrics(),
  ) {}

  pluginName(): string {
    return this.plugin.name();
  }
  event(name: string, details: Record<string, unknown>): void {
    this.plugin.event(name, details);
  }
  status(): Promise<void> {
    return this.plugin.status();
  }

  async setUpPod(
    namespace: string,
    name: string,
    sandboxId: string,
    annotations: Record<string, string> = {},
    options: Record<string, string> = {},
  ): Promise<void> {
    const full = podFullName(namespace, name);
    await this.withPod(full, 'set_up_pod', async () => {
      try {
        await this.plugin.setUpPod(namespace, name, sandboxId, annotations, options);
      } catch (e) {
        throw new Error(
          `networkPlugin ${this.plugin.name()} failed to set up pod "${full}" network: ${errorMessage(e)}`,
          {
            cause: e,
          },
        );
      }
    });
  }

  async tearDownPod(namespace: string, name: string, sandboxId: string): Promise<void> {
    const full = podFullName(namespace, name);
    await this.withPod(full, 'tear_down_pod', async () => {
      try {
        await this.plugin.tearDownPod(namespace, name, sandboxId);
      } catch (e) {
        throw new Error(
          `networkPlugin ${this.plugin.name()} failed to teardown pod "${full}" network: ${errorMessage(e)}`,
          { cause: e },
        );
      }
    });
  }

  async getPodNetworkStatus(namespace: string, name: string, sandboxId: string): Promise<PodNetworkStatus | null> {
    const full = podFullName(namespace, name);
    return this.withPod(full, 'get_pod_network_status', async () => {
      try {
        return await this.plugin.getPodNetworkStatus(namespace, name, sandboxId);
      } catch (e) {
        throw new Error(
          `networkPlugin ${this.plugin.name()} failed on the status hook for pod "${full}": ${errorMessage(e)}`,
          { cause: e },
        );
      }
    });
  }

  /** Number of pods with a lock entry (held or waited for); 0 when idle. */
  get lockedPods(): number {
    return this.locks.size;
  }

  private async withPod<T>(fullName: string, op: string, fn: () => Promise<T>): Promise<T> {
    let lock = this.locks.get(fullName);
    if (!lock) {
      lock = { refcount: 0, tail: Promise.resolve() };
      this.locks.set(fullName, lock);
    }
    lock.refcount++;
    const before = lock.tail;
    let release!: () => void;
    lock.tail = new Promise<void>((r) => {
      release = r;
    });
    await before;
    const start = performance.now();
    try {
      const v = await fn();
      this.metrics.recordOperation(op, (performance.now() - start) / 1000);
      return v;
    } catch (e) {
      this.metrics.recordOperation(op, (performance.now() - start) / 1000);
      this.metrics.recordError(op);
      throw e;
    } finally {
      release();
      if (--lock.refcount === 0) this.locks.delete(fullName);
    }
  }
}

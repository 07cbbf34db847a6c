// Where the daemon runs a call: on a pool of worker threads (the default), or on the main thread, so that a
// handler blocking its thread (a synchronous syscall, a long computation) stalls one worker, not every call.
import { errorMessage } from '../errors.ts';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PluginRequest, PluginResponse } from '../cni/handler.ts';
import { CniError, ErrCode } from '../cni/errors.ts';
import { callPlugin, errorResponse, loadPlugin, type PluginTable } from '../plugins/dispatch.ts';
import type { LogSink } from './log.ts';

export interface CallRunner {
  /** Threads running handlers (0: the main thread). */
  readonly workers: number;
  run(plugin: string, req: PluginRequest): Promise<PluginResponse>;
  close(): Promise<void>;
}

/** Runs handlers on the main thread (a test table of functions, or workers: 0). */
export async function inProcessRunner(table: PluginTable, log: LogSink): Promise<CallRunner> {
  for (const name of Object.keys(table)) {
    try {
      await loadPlugin(name, table);
    } catch (e) {
      log('warn', 'plugin-load-failed', { plugin: name, error: errorMessage(e) });
    }
  }
  return { workers: 0, run: (plugin, req) => callPlugin(plugin, req, table), close: async () => {} };
}

/**
 * Handlers run on worker threads by default (`--workers N`, 0 for the main thread; the addon keeps its netlink
 * receive buffer and waits per thread): one slow or huge call then holds one thread, not every call — with
 * the handlers on one thread, 16 parallel bridge ADDs had a p50 three times the reference's. Two threads at
 * least (a call blocking one leaves the other), more only where there are cores for them.
 */
export const defaultWorkers = Math.max(2, Math.min(4, availableParallelism()));

/**
 * What the main thread sends a worker and gets back (worker.ts is the other side). The request crosses as it is
 * (structured clone): any plain-data field added to PluginRequest (e.g. the caller's identity) reaches the
 * handler in the worker with no change here.
 */
export type ToWorker = { id: number; plugin: string; req: PluginRequest };
export type FromWorker =
  | { ready: true; failed: Array<{ plugin: string; error: string }> }
  | { id: number; res: PluginResponse };

/**
 * The bundled worker next to the bundled daemon (build/js/daemon-worker.mjs); from sources, worker.ts with
 * tsx registered inside the thread (Node 20 does not carry the parent's --import hooks into workers).
 */
function workerEntry(): { url: URL; code?: string } {
  if (!import.meta.url.endsWith('.ts')) return { url: new URL('./daemon-worker.mjs', import.meta.url) };
  const url = new URL('./worker.ts', import.meta.url);
  const tsx = import.meta.resolve('tsx/esm/api');
  return {
    url,
    code: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`,
  };
}

interface Slot {
  worker: Worker;
  pending: Map<number, (res: PluginResponse) => void>;
  ready: Promise<void>;
}

/**
 * A pool of worker threads, each loading the plugin table from `tableModule` (a module URL exporting
 * `plugins`; default: the registry). A worker that dies fails its in-flight calls with "try again later"
 * and is replaced.
 */
export async function workerPoolRunner(size: number, log: LogSink, tableModule?: string): Promise<CallRunner> {
  const entry = workerEntry();
  let nextId = 1;
  let closing = false;
  const slots: Slot[] = [];

  const spawnSlot = (index: number): Slot => {
    const worker = new Worker(entry.code ?? entry.url, {
      eval: !!entry.code,
      workerData: { tableModule },
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    });
    const pending = new Map<number, (res: PluginResponse) => void>();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: FromWorker) => {
        if ('ready' in m) {
          for (const f of m.failed)
            log('warn', 'plugin-load-failed', { plugin: f.plugin, error: f.error, worker: index });
          worker.off('error', reject);
          resolve();
          return;
        }
        const done = pending.get(m.id);
        pending.delete(m.id);
        done?.(m.res);
      });
    });
    worker.on('error', (e) => log('error', 'worker-error', { worker: index, error: e.message }));
    worker.once('exit', (code) => {
      const lost = [...pending.values()];
      pending.clear();
      for (const done of lost) {
        done(
          errorResponse(
            new CniError(
              ErrCode.TryAgainLater,
              'wasm-cni daemon worker stopped during the call; try again later',
              `exit code ${code}`,
            ),
          ),
        );
      }
      if (!closing) {
        log('error', 'worker-exit', { worker: index, code, failedCalls: lost.length });
        slots[index] = spawnSlot(index);
      }
    });
    return { worker, pending, ready };
  };

  for (let i = 0; i < size; i++) slots.push(spawnSlot(i));
  await Promise.all(slots.map((s) => s.ready));

  return {
    workers: size,
    async run(plugin, req) {
      const slot = slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
      await slot.ready;
      const id = nextId++;
      return new Promise<PluginResponse>((resolve) => {
        slot.pending.set(id, resolve);
        const msg: ToWorker = { id, plugin, req };
        try {
          slot.worker.postMessage(msg);
        } catch (e) {
          // a request field that cannot be cloned: a bug, answered rather than left hanging
          slot.pending.delete(id);
          resolve(errorResponse(new CniError(ErrCode.Internal, `cannot pass the call to a worker: ${String(e)}`)));
        }
      });
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

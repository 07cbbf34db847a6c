// One daemon worker thread: loads the plugin table, then runs each call it is sent (runner.ts).
import { errorMessage } from '../errors.ts';
import { parentPort, workerData } from 'node:worker_threads';
import { callPlugin, errorResponse, loadPlugin, type PluginTable } from '../plugins/dispatch.ts';
import type { FromWorker, ToWorker } from './runner.ts';

const { tableModule } = workerData as { tableModule?: string };
const table: PluginTable = tableModule
  ? (await import(tableModule)).plugins
  : (await import('../plugins/registry.ts')).plugins;

const failed: Array<{ plugin: string; error: string }> = [];
for (const name of Object.keys(table)) {
  try {
    await loadPlugin(name, table);
  } catch (e) {
    failed.push({ plugin: name, error: errorMessage(e) });
  }
}

const port = parentPort!;
port.on('message', (m: ToWorker) => {
  void callPlugin(m.plugin, m.req, table)
    .catch((e: unknown) => errorResponse(e))
    .then((res) => port.postMessage({ id: m.id, res } satisfies FromWorker));
});
port.postMessage({ ready: true, failed } satisfies FromWorker);

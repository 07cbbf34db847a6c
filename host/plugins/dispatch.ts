// Run one plugin call by plugin name: the one entry both the cold path (standalone.ts) and the daemon use.
// Never throws: an unknown name or a handler that throws becomes a CNI error result (stdout, exit 1).
import type { PluginHandler, PluginLookup, PluginRequest, PluginResponse } from '../cni/handler.ts';
import { CniError, ErrCode, errorResponse } from '../cni/errors.ts';
import { execExecutor, type PluginExecutor } from '../runtime/runtime.ts';
import { plugins as registered } from './registry.ts';

/** Plugins by name, each a lazy import of its handler (the shape of registry.ts; tests pass their own). */
export type PluginTable = Readonly<Record<string, () => Promise<PluginHandler>>>;

/** The error boundary, re-exported for the daemon (its lost-call and bad-frame answers). */
export { errorResponse };

const loaded = new WeakMap<PluginTable, Map<string, Promise<PluginHandler>>>();

/** The handler for `name`, loaded once per process and table; undefined when no such plugin is registered. */
export function loadPlugin(name: string, table: PluginTable = registered): Promise<PluginHandler> | undefined {
  if (!Object.hasOwn(table, name)) return undefined;
  let cache = loaded.get(table);
  if (!cache) {
    cache = new Map();
    loaded.set(table, cache);
  }
  let loading = cache.get(name);
  if (!loading) {
    loading = table[name]!();
    cache.set(name, loading);
    loading.catch(() => cache.delete(name)); // a failed import is retried on the next call
  }
  return loading;
}

/** The plugins of `table` as a lookup for delegating plugins (PluginRequest.plugins). */
export function pluginLookup(table: PluginTable = registered): PluginLookup {
  return (type) => loadPlugin(type, table);
}

/** Runs `name` with `req`; a delegating plugin gets the plugins of `table` unless the request names its own. */
export async function callPlugin(
  name: string,
  req: PluginRequest,
  table: PluginTable = registered,
): Promise<PluginResponse> {
  if (!Object.hasOwn(table, name)) {
    return errorResponse(
      new CniError(
        ErrCode.Internal,
        `unknown plugin "${name}"`,
        `wasm-cni ships: ${Object.keys(table).sort().join(', ')}`,
      ),
    );
  }
  try {
    const handler = await loadPlugin(name, table)!;
    return await handler({ ...req, plugins: req.plugins ?? pluginLookup(table) });
  } catch (e) {
    return errorResponse(e); // skel turns errors into results; this catches a failed import or a handler bug
  }
}

const IN_PROCESS = 'in-process:';

/**
 * A libcni executor (runtime.ts) that runs the plugins of `table` in this process by type, and everything
 * else through `fallback` (exec on the plugin path).
 */
export function inProcessExecutor(table: PluginTable, fallback: PluginExecutor = execExecutor): PluginExecutor {
  return {
    find(type, paths) {
      if (type !== '' && !type.includes('/') && Object.hasOwn(table, type)) return IN_PROCESS + type;
      return fallback.find(type, paths);
    },
    run(pluginPath, stdin, env) {
      if (!pluginPath.startsWith(IN_PROCESS)) return fallback.run(pluginPath, stdin, env);
      return callPlugin(pluginPath.slice(IN_PROCESS.length), { env, stdin }, table);
    },
  };
}

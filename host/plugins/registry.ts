// Every plugin we ship, by the name a runtime execs (the `type` in a network config).
// Lazy: a process loads only the plugin it runs. One line per plugin.
import type { PluginHandler } from '../cni/handler.ts';

export const plugins: Record<string, () => Promise<PluginHandler>> = {
  portmap: async () => (await import('./portmap/index.ts')).handler,
  'host-local': async () => (await import('./host-local/index.ts')).handler,
  loopback: async () => (await import('./loopback/index.ts')).handler,
  bridge: async () => (await import('./bridge/index.ts')).handler,
  bandwidth: async () => (await import('./bandwidth/index.ts')).handler,
  kubenet: async () => (await import('./kubenet/index.ts')).handler,
};

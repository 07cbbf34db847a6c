// IPAM delegation: a main plugin (bridge, ...) hands its whole stdin and environment to the IPAM plugin
// named in `ipam.type`, with only CNI_COMMAND changed (libcni invoke.Delegate*). When the IPAM plugin is
// one of ours it runs in this process through the registry; otherwise `<dir>/<type>` from CNI_PATH is
// executed. Errors from the delegate come back unchanged (same code, msg, details).
// WASM_CNI_IPAM_EXEC=1 in the plugin's environment forces the exec path (differential tests use it to
// pair our main plugin with the reference IPAM binaries).
import type { PluginHandler, PluginResponse } from './handler.ts';
import type { PluginTable } from '../plugins/dispatch.ts';
import type { CmdArgs } from './skel.ts';
import type { Result } from './types.ts';
import { findInPath, readPluginResult, spawnPlugin, stdoutOrThrow } from './invoke.ts';
import { ownCaller, type CallerContext, type CallerData } from './caller.ts';

type DelegateCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

export type { PluginTable };

/** Our plugin of that type, loaded once per process (dispatch.ts); undefined when we have none. */
async function ourHandler(type: string, table?: PluginTable): Promise<PluginHandler | undefined> {
  // Lazy: dispatch → registry → plugin → ipam.ts would otherwise be an import cycle.
  const { loadPlugin } = await import('../plugins/dispatch.ts');
  return loadPlugin(type, table);
}

/**
 * Run the IPAM plugin `type` for `command` with the caller's stdin and env; returns its raw response.
 * `table` replaces the registry (tests).
 */
export async function delegate(
  a: CmdArgs,
  type: string,
  command: DelegateCommand,
  table?: PluginTable,
): Promise<PluginResponse> {
  const env = { ...a.env, CNI_COMMAND: command };
  const forceExec = ['1', 'true'].includes((a.env.WASM_CNI_IPAM_EXEC ?? '').toLowerCase());
  const caller = a.caller ?? ownCaller;
  const handler = forceExec ? undefined : await ourHandler(type, table);
  if (handler) return handler({ env, stdin: a.stdin, caller: callerDataOf(caller) });
  const path = findInPath(
    type,
    (a.env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    caller,
  );
  return spawnPlugin(path, a.stdin, env, caller);
}

function callerDataOf(c: CallerContext): CallerData {
  const { pid, root, netns, mntns, uid, gid } = c;
  return { pid, root, netns, mntns, uid, gid };
}

/** IPAM ADD: the delegate's result in the 1.x model (its cniVersion is the one it printed). */
export async function ipamAdd(a: CmdArgs, type: string): Promise<Result> {
  const stdout = stdoutOrThrow(await delegate(a, type, 'ADD'));
  return readPluginResult(stdout, a.cniVersion).result;
}

export async function ipamDel(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'DEL'));
}

export async function ipamCheck(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'CHECK'));
}

export async function ipamStatus(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'STATUS'));
}

export async function ipamGc(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'GC'));
}

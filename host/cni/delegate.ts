// Delegation: a plugin hands its whole stdin and environment to another plugin, with only CNI_COMMAND changed
// (containernetworking/cni v1.2.0 pkg/invoke/delegate.go: DelegateAdd, DelegateDel, DelegateCheck, DelegateGC,
// DelegateStatus). bridge delegates to its IPAM plugin (`ipam.type`); kubenet to bridge, portmap and bandwidth.
// A plugin this process can run itself (CmdArgs.plugins, provided by the caller: dispatch.ts passes the
// registry) runs in-process; any other type, or every type when the caller gave no lookup, is executed as
// `<dir>/<type>` from CNI_PATH. Errors from the delegate come back unchanged (code, msg, details).
import type { PluginResponse } from './handler.ts';
import type { CmdArgs } from './skel.ts';
import type { Result } from './types.ts';
import { findInPath, readPluginResult, spawnPlugin, stdoutOrThrow } from './invoke.ts';
import { ownCaller, type CallerContext, type CallerData } from './caller.ts';

export type DelegateCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';

/** Run the plugin `type` for `command` with the caller's stdin and env; returns its raw response. */
export async function delegate(a: CmdArgs, type: string, command: DelegateCommand): Promise<PluginResponse> {
  const env = { ...a.env, CNI_COMMAND: command };
  const caller = a.caller ?? ownCaller;
  const handler = await a.plugins?.(type);
  if (handler) return handler({ env, stdin: a.stdin, plugins: a.plugins, caller: callerDataOf(caller) });
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

/** Delegated ADD: the delegate's result in the 1.x model (its cniVersion is the one it printed). */
export async function delegateAdd(a: CmdArgs, type: string): Promise<Result> {
  const stdout = stdoutOrThrow(await delegate(a, type, 'ADD'));
  return readPluginResult(stdout, a.cniVersion).result;
}

export async function delegateDel(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'DEL'));
}

export async function delegateCheck(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'CHECK'));
}

export async function delegateStatus(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'STATUS'));
}

export async function delegateGc(a: CmdArgs, type: string): Promise<void> {
  stdoutOrThrow(await delegate(a, type, 'GC'));
}

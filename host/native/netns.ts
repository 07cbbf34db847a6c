// Network namespaces by path: the reference's check before entering one and its wording when that fails,
// identity (device + inode), and named namespaces under /var/run/netns.
import { statfsSync } from 'node:fs';
import { errorMessage } from '../errors.ts';
import { addon, type NetnsIdentity } from './addon.ts';

export type { NetnsIdentity };

/** The namespace of this process's main thread (where the event loop runs). */
export const currentNetnsPath = '/proc/self/ns/net';

export function netnsIdentity(path: string): NetnsIdentity {
  return addon().netnsIdentity(path);
}

/** True when both paths name the same network namespace. */
export function sameNetns(a: string, b: string): boolean {
  const x = netnsIdentity(a);
  const y = netnsIdentity(b);
  return x.dev === y.dev && x.ino === y.ino;
}

const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;

/** The path does not exist (the reference's ns.NSPathNotExistErr: DELs treat it as "already gone"). */
export class NetnsNotFoundError extends Error {}

/** How a caller names paths (host/cni/caller.ts): the path this process opens for one the caller names, and an
 * error text put back in the caller's terms. The identity for a plugin run by its own caller. */
export interface PathView {
  resolve(path: string): string;
  inCallerTerms(text: string): string;
}

const ownView: PathView = { resolve: (p) => p, inCallerTerms: (t) => t };

/**
 * The check containernetworking/plugins v1.9.1 pkg/ns (IsNSorErr, run by GetNS) makes before using a path: it
 * must exist (`failed to Statfs "<p>": <errno text>`, a NetnsNotFoundError when missing) and be an nsfs or
 * procfs file (`unknown FS magic on "<p>": <hex>`). `path` is as the caller names it; returns the path this
 * process opens.
 */
export function checkNetnsPath(path: string, view: PathView = ownView): string {
  const real = view.resolve(path);
  let type: number;
  try {
    type = Number(statfsSync(real).type);
  } catch (e) {
    const msg = `failed to Statfs "${path}": ${errnoReason(e)}`;
    throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? new NetnsNotFoundError(msg) : new Error(msg);
  }
  if (type !== NSFS_MAGIC && type !== PROC_SUPER_MAGIC)
    throw new Error(`unknown FS magic on "${path}": ${type.toString(16)}`);
  return real;
}

/**
 * `failed to open netns "<p>": <why>` — how the plugins report a namespace they cannot open or enter
 * (containernetworking/plugins v1.9.1 plugins/main/bridge and plugins/meta/bandwidth wrap GetNS this way).
 * A cause already worded so (the addon's own open failure) is not wrapped twice; `code` is the cause's.
 */
export function netnsOpenError(path: string, cause: unknown): Error & { code?: string } {
  const prefix = `failed to open netns "${path}"`;
  const why = errnoReason(cause);
  const err: Error & { code?: string } = new Error(why.startsWith(prefix) ? why : `${prefix}: ${why}`, { cause });
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string') err.code = code;
  return err;
}

/**
 * A Node fs error's errno as Go prints it (`no such file or directory`); the addon's errors (already
 * "<what>: <errno text>") and anything else by their message.
 */
function errnoReason(e: unknown): string {
  const err = e as (NodeJS.ErrnoException & { reason?: unknown }) | null;
  if (typeof err?.errno === 'number' && typeof err.reason !== 'string') return addon().errnoText(Math.abs(err.errno));
  return errorMessage(e);
}

/** `ip netns add <name>`: returns /var/run/netns/<name>. */
export function createNamedNetns(name: string): string {
  return addon().netnsCreate(name);
}

/** `ip netns delete <name>`. */
export function removeNamedNetns(name: string): void {
  addon().netnsRemove(name);
}

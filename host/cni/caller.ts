// The caller's world: the one place that knows where a call's paths and namespaces live.
// A plugin run cold is its own caller (the identity context: paths as given, this process's namespaces).
// A plugin run by the daemon acts for a process the daemon pinned (host/daemon/pin.ts): its root directory,
// network and mount namespaces are reached through file descriptors the daemon holds for the call, so every
// path the call names (CNI_NETNS, dataDir, resolvConf, CNI_PATH) is looked up in the caller's filesystem view
// and never climbs out of the caller's root, and the host side of the call is the caller's network namespace.
// CallerData is plain data (it crosses to worker threads); callerContext() rebuilds the functions around it.
import type { ProcessWorld } from '../native/process.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { lstatSync, readlinkSync } from 'node:fs';

export interface CallerData {
  /** The caller's pid as this process sees it; absent when the caller is this process (cold path). */
  pid?: number;
  /** The caller's root directory as a path this process can open ("/proc/<pid>/fd/<n>"); "/" when it is ours. */
  root: string;
  /** The caller's network namespace as a path this process can open; null when it is ours. */
  netns: string | null;
  /** The caller's mount namespace as a path this process can open; null when it is ours. */
  mntns: string | null;
  /** The caller's uid and gid when it is not root (an --allow-uid grant): executables the call names run
   * with them, never with the daemon's. */
  uid?: number;
  gid?: number;
}

export interface CallerContext extends Readonly<CallerData> {
  /** True when nothing differs from this process's world (no path mapping, no namespace to enter). */
  readonly own: boolean;
  /**
   * The path the caller means by `path`, as this process can reach it: symlinks are followed component by
   * component inside the caller's root ("/" and ".." stop at it), so the result never leaves the caller's
   * filesystem view. Relative paths are taken from the caller's root. Identity for the own world.
   */
  resolve(path: string): string;
  /** `text` (an error message) with resolved paths written back the way the caller named them. */
  inCallerTerms(text: string): string;
}

export const ownWorld: CallerData = { root: '/', netns: null, mntns: null };

export function callerContext(data: CallerData = ownWorld): CallerContext {
  const own = data.root === '/' && data.netns === null && data.mntns === null;
  const rooted = data.root !== '/';
  return {
    ...data,
    own,
    resolve: (path) => (rooted ? resolveInRoot(data.root, path) : path),
    inCallerTerms: (text) => (rooted ? text.split(`${data.root}/`).join('/') : text),
  };
}

/** The identity context of the cold path. */
export const ownCaller: CallerContext = callerContext(ownWorld);

const MAX_SYMLINKS = 40; // Linux's limit for one lookup

/**
 * `path` looked up beneath `root` as if `root` were "/": every existing component is checked with lstat;
 * a symlink's target is spliced in (an absolute target restarts at `root`), and ".." never goes above
 * `root`. Components from the first missing one on are taken as written (they may be created later).
 * The result is `root` plus a path free of symlinks and of "..".
 */
export function resolveInRoot(root: string, path: string): string {
  const done: string[] = [];
  let todo = components(path);
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    if (missing) {
      done.push(c);
      continue;
    }
    const here = `${root}/${[...done, c].join('/')}`;
    let isLink: boolean;
    try {
      isLink = lstatSync(here).isSymbolicLink();
    } catch {
      missing = true;
      done.push(c);
      continue;
    }
    if (!isLink) {
      done.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS)
      throw Object.assign(new Error(`too many levels of symbolic links in "${path}"`), { code: 'ELOOP' });
    const target = readlinkSync(here);
    if (target.startsWith('/')) done.length = 0;
    todo = [...components(target), ...todo];
  }
  return `${root}/${done.join('/')}`;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

// The caller of the call running now, for code deep below the plugins (the firewall spawner) that would
// otherwise have to pass it through every function. skel opens the scope around each command.
const scope = new AsyncLocalStorage<CallerContext>();

export function runAsCaller<T>(caller: CallerContext, fn: () => T): T {
  return scope.run(caller, fn);
}

/** The caller of the current call; the identity context outside any call. */
export function currentCaller(): CallerContext {
  return scope.getStore() ?? ownCaller;
}

/**
 * Where a process of this call runs (host/native/process.ts): the caller's network and mount namespaces and root,
 * entered by the child itself before it execs (the descriptors this process holds; a Node process cannot safely
 * move its own threads into another mount namespace). With asCaller (an executable the call itself names, e.g. an
 * IPAM delegate from CNI_PATH), a caller that is not root runs it with its own uid and gid. Undefined in the own
 * world of a root caller: the process runs as this one does.
 */
export function processWorld(caller: CallerContext, opts: { asCaller?: boolean } = {}): ProcessWorld | undefined {
  const asUser = opts.asCaller && caller.uid !== undefined && caller.uid !== 0;
  if (caller.own && !asUser) return undefined;
  return {
    netns: caller.netns,
    mntns: caller.mntns,
    root: caller.root !== '/' ? caller.root : null,
    ...(asUser ? { uid: caller.uid, gid: caller.gid ?? caller.uid } : {}),
  };
}

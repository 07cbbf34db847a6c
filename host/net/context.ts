// What every object-kind module works with: the namespace's netlink socket, and how to name namespaces.
import { closeSync, openSync } from 'node:fs';
import { currentNetnsPath, netnsOpenError } from '../native/netns.ts';
import type { NetlinkSocket } from './nl/socket.ts';

export interface NetContext {
  readonly sock: NetlinkSocket;
  /** the namespace the socket lives in; null = this process's */
  readonly nsPath: string | null;
}

/** A namespace to move or create a link into: a path (/var/run/netns/x, /proc/<pid>/ns/net) or a handle. */
export type NetnsRef = string | { readonly nsPath: string | null };

export function netnsRefPath(ref: NetnsRef): string {
  if (typeof ref === 'string') return ref;
  return ref.nsPath ?? currentNetnsPath;
}

/** Runs fn with an open fd of the namespace (for IFLA_NET_NS_FD), closing it afterwards. */
export async function withNetnsFd<T>(ref: NetnsRef, fn: (fd: number) => Promise<T>): Promise<T> {
  const path = netnsRefPath(ref);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw netnsOpenError(path, e);
  }
  try {
    return await fn(fd);
  } finally {
    closeSync(fd);
  }
}

// Network namespaces by path: identity (device + inode) and named namespaces under /var/run/netns.
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

/** `ip netns add <name>`: returns /var/run/netns/<name>. */
export function createNamedNetns(name: string): string {
  return addon().netnsCreate(name);
}

/** `ip netns delete <name>`. */
export function removeNamedNetns(name: string): void {
  addon().netnsRemove(name);
}

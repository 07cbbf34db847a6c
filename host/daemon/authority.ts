// Whether the daemon may act for a pinned caller: it never does for a caller what the caller could not do
// itself (the cold path runs with the caller's own privileges), except for an explicit --allow-uid grant.
//
// What the cold path needs: entering the pod's network namespace is setns(CLONE_NEWNET), which takes
// CAP_SYS_ADMIN; links, addresses, routes, qdiscs and firewall rules take CAP_NET_ADMIN. Both count only in
// the user namespace that owns the host's namespaces, i.e. the daemon's: a caller in another user namespace
// (root "inside" an unprivileged container or `unshare --user --map-root-user`) has none there, whatever uid
// it shows.
import type { PinnedCaller } from './pin.ts';

export const CAP_NET_ADMIN = 12;
export const CAP_SYS_ADMIN = 21;
const REQUIRED = [
  [CAP_NET_ADMIN, 'CAP_NET_ADMIN'],
  [CAP_SYS_ADMIN, 'CAP_SYS_ADMIN'],
] as const;

/** Null when the daemon may act for the caller; else what the caller lacks, in words for the CNI error. */
export function lackOfAuthority(
  caller: Pick<PinnedCaller, 'uid' | 'capEff' | 'sameUserns' | 'pid' | 'data'>,
  allowUids: ReadonlySet<number>,
): string | null {
  const who = `caller pid ${caller.pid} (uid ${caller.uid})`;
  if (!caller.sameUserns)
    return `${who} runs in another user namespace, so it has no authority over this host's network namespaces`;
  if (caller.uid !== 0) {
    // --allow-uid: the operator granted this uid the daemon's network-admin authority explicitly, in the
    // daemon's own filesystem view only (elsewhere the firewall tools the daemon would run as root are the
    // caller's, e.g. a container image's)
    if (!allowUids.has(caller.uid)) return `${who} may not use this daemon`;
    if (caller.data.root !== '/' || caller.data.mntns !== null)
      return `${who} is granted by --allow-uid only in the daemon's own mount namespace and root, and runs elsewhere`;
    return null;
  }
  const missing = REQUIRED.filter(([bit]) => (caller.capEff & (1n << BigInt(bit))) === 0n).map(([, name]) => name);
  if (missing.length === 0) return null;
  return `${who} lacks ${missing.join(' and ')} (effective capabilities 0x${caller.capEff.toString(16).padStart(16, '0')}), which the plugin would need to run on its own`;
}

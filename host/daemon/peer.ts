// Who is on the other end of an accepted connection: SO_PEERCRED through the native addon. The uid rule
// (root or --allow-uid) is checked on connect; what the caller may have the daemon do is judged per call on the
// pinned process (pin.ts, authority.ts).
import type { Socket } from 'node:net';
import { addon } from '../native/addon.ts';
import { peerCredOfSocket } from '../native/peercred.ts';

export type PeerVerdict =
  | { ok: true; uid?: number; pid?: number }
  | { ok: false; uid?: number; pid?: number; reason: string };

export interface PeerChecker {
  /** False when credentials cannot be read (no addon): then only the socket's root-only mode protects it,
   * and calls run in the daemon's own world. */
  readonly available: boolean;
  readonly describe: string;
  check(sock: Socket, allowUids: ReadonlySet<number>): PeerVerdict;
}

/** The fd of a connected net.Socket (its libuv handle's), or undefined once closed. */
export function socketFd(sock: Socket): number | undefined {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export function peerCheckerFromAddon(): PeerChecker {
  try {
    addon();
  } catch (e) {
    return {
      available: false,
      describe: `socket mode only (${(e as Error).message})`,
      check: () => ({ ok: true }),
    };
  }
  return {
    available: true,
    describe: 'SO_PEERCRED, pidfd-pinned callers (capabilities, user namespace)',
    check(sock, allowUids) {
      let cred;
      try {
        cred = peerCredOfSocket(sock);
      } catch (e) {
        return { ok: false, reason: `cannot read peer credentials: ${(e as Error).message}` };
      }
      if (allowUids.has(cred.uid)) return { ok: true, uid: cred.uid, pid: cred.pid };
      return {
        ok: false,
        uid: cred.uid,
        pid: cred.pid,
        reason: `uid ${cred.uid} (pid ${cred.pid}) may not use this daemon`,
      };
    },
  };
}

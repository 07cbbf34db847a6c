// Who may drive the daemon: root, or a configured uid, told by SO_PEERCRED on the accepted socket.
import { errorMessage } from '../errors.ts';
import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { addon } from '../native/addon.ts';
import { peerCredOfSocket } from '../native/peercred.ts';

export type PeerVerdict =
  | { ok: true; uid?: number; pid?: number }
  | { ok: false; uid?: number; pid?: number; reason: string };

export interface PeerChecker {
  /** False when credentials cannot be read (no addon): then only the socket's root-only mode protects it. */
  readonly available: boolean;
  readonly describe: string;
  check(sock: Socket, allowUids: ReadonlySet<number>): PeerVerdict;
}

export function peerCheckerFromAddon(): PeerChecker {
  try {
    addon();
  } catch (e) {
    return {
      available: false,
      describe: `socket mode only (${errorMessage(e)})`,
      check: () => ({ ok: true }),
    };
  }
  return {
    available: true,
    describe: 'SO_PEERCRED',
    check(sock, allowUids) {
      let cred;
      try {
        cred = peerCredOfSocket(sock);
      } catch (e) {
        return { ok: false, reason: `cannot read peer credentials: ${errorMessage(e)}` };
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

/** The namespaces whose identity must match for the daemon to act for a caller: where links, rules and paths live. */
const SHARED_NAMESPACES = ['net', 'mnt'] as const;

function namespaceId(pid: number | 'self', kind: string): string {
  const st = statSync(`/proc/${pid}/ns/${kind}`);
  return `${st.dev}:${st.ino}`;
}

/**
 * Null when the peer shares the daemon's network and mount namespaces; else why not. A peer whose namespaces
 * cannot be read (it exited, or no pid) counts as different: the cold path is always correct, only slower.
 */
export function namespaceMismatch(pid: number | undefined): string | null {
  if (pid === undefined || pid <= 0) return 'caller pid unknown';
  for (const kind of SHARED_NAMESPACES) {
    let theirs: string;
    try {
      theirs = namespaceId(pid, kind);
    } catch (e) {
      return `cannot read the ${kind} namespace of pid ${pid}: ${errorMessage(e)}`;
    }
    if (theirs !== namespaceId('self', kind)) return `caller (pid ${pid}) is in another ${kind} namespace`;
  }
  return null;
}

// Who is on the other end of an accepted unix socket (the daemon checks its callers).
import type { Socket } from 'node:net';
import { addon, type PeerCred } from './addon.ts';

export type { PeerCred };

export function peerCredOfFd(fd: number): PeerCred {
  return addon().peerCred(fd);
}

/** SO_PEERCRED of a connected net.Socket (uses its libuv handle's fd). */
export function peerCredOfSocket(socket: Socket): PeerCred {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor (closed, or not a unix socket)');
  return addon().peerCred(fd);
}

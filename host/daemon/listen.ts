// Where the daemon listens: a unix socket path it binds (atomically replacing a stale socket, refusing to
// take over a live daemon unless asked). Listening on an inherited fd (socket activation) plugs in here.
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { requestStatus } from './client.ts';
import type { LogSink } from './log.ts';

/**
 * What is at the socket path now: nothing, a stale socket (replaced silently), or a live daemon (an error
 * unless replacing, then its pid). Anything that is not a socket is left alone.
 */
export async function inspectExistingSocket(path: string, replace: boolean, log: LogSink): Promise<number | undefined> {
  try {
    if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let livePid: number;
  try {
    livePid = (await requestStatus(path, 1000)).pid;
  } catch {
    log('info', 'stale-socket', { socket: path });
    return undefined;
  }
  if (!replace)
    throw new Error(`a wasm-cni daemon (pid ${livePid}) already serves ${path}; use --replace to take over`);
  return livePid;
}

/** Binds next to the path and renames into place, so the path always names a working socket; returns its
 * inode (close() removes the path only while it is still ours). */
export async function listenAt(server: Server, path: string, sharedAccess: boolean): Promise<number> {
  mkdirSync(dirname(path), { recursive: true, mode: sharedAccess ? 0o711 : 0o700 });
  const tmp = `${path}.${process.pid}.new`;
  try {
    unlinkSync(tmp);
  } catch {
    /* not there */
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(tmp, sharedAccess ? 0o666 : 0o600);
  renameSync(tmp, path);
  return statSync(path).ino;
}

/** Removes the socket path if it still names the socket we bound (a successor may have replaced it). */
export function unlinkIfOurs(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch {
    /* gone or replaced */
  }
}

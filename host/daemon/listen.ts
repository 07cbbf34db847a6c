// Where the daemon listens: a unix socket path it binds (atomically replacing a stale socket, refusing to
// take over a live daemon unless asked), or a listening socket handed over by systemd (socket activation,
// sd_listen_fds(3)): LISTEN_PID names this process, LISTEN_FDS counts the descriptors from fd 3 on. The
// variables are removed once read, so nothing the daemon starts mistakes them for its own.
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { requestStatus } from './client.ts';
import type { LogSink } from './log.ts';

/**
 * What is at the socket path now: nothing, a stale socket (replaced silently), or a live daemon (an error
 * unless replacing or it was started on demand, then its pid). Anything that is not a socket is left alone.
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
    const live = await requestStatus(path, 1000);
    livePid = live.pid;
    replace ||= live.origin?.startedBy === 'on-demand'; // a daemon started on demand gives way to one started on purpose
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

export const SD_LISTEN_FDS_START = 3;

export interface InheritedSocket {
  fd: number;
  /** LISTEN_FDNAMES' first entry (systemd: the socket unit's name unless FileDescriptorName= says otherwise). */
  name?: string;
}

export function inheritedSocket(env: NodeJS.ProcessEnv = process.env, pid = process.pid): InheritedSocket | undefined {
  const count = Number(env.LISTEN_FDS);
  const forUs = Number(env.LISTEN_PID) === pid;
  const name = env.LISTEN_FDNAMES?.split(':')[0] || undefined;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isInteger(count) || count < 1) return undefined;
  return { fd: SD_LISTEN_FDS_START, name };
}

/** Tells whoever started us on demand (shims/exec/ondemand.c) that we listen: one line on WASM_CNI_READY_FD. */
export function signalReady(writeLine: (fd: number, line: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  const fd = Number(env.WASM_CNI_READY_FD);
  delete env.WASM_CNI_READY_FD;
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeLine(fd, 'ready\n');
  } catch {
    /* the starter gave up waiting: nothing to tell */
  }
}

/** Serves an inherited listening socket. */
export function listenOnFd(server: Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

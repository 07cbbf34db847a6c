// A listening socket handed over by systemd (socket activation, sd_listen_fds(3)): LISTEN_PID names this process,
// LISTEN_FDS counts the descriptors from fd 3 on. The variables are removed once read, so nothing the daemon
// starts mistakes them for its own.
import type { Server } from 'node:net';

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

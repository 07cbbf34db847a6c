// Pinning the caller of one call: the process on the other end of the socket (SO_PEERCRED, and its pidfd),
// with its root directory and namespaces held open for the whole call. The /proc entries are opened first
// and the pidfd checked afterwards: if the process still runs then, the entries were its own, not those of
// a process that got its pid after it exited.
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import type { CallerData } from '../cni/caller.ts';
import { addon } from '../native/addon.ts';

/** What the daemon knows about a pinned caller. */
export interface PinnedCaller {
  pid: number;
  uid: number;
  /** Effective capabilities (CapEff of /proc/<pid>/status), in the caller's own user namespace. */
  capEff: bigint;
  /** Whether the caller runs in the daemon's user namespace (else its capabilities are not over ours). */
  sameUserns: boolean;
  /** The caller's world for the handler (plain data; fds stay open until release()). */
  data: CallerData;
  /** Closes everything held for the call. */
  release(): void;
}

export type PinOutcome = { ok: true; caller: PinnedCaller } | { ok: false; reason: string };

const O_DIRECTORY_RDONLY = constants.O_RDONLY | constants.O_DIRECTORY;

function identity(st: { dev: number; ino: number }): string {
  return `${st.dev}:${st.ino}`;
}

/** The pid a pidfd names (its fdinfo), or undefined when the kernel does not say. */
function pidOfPidfd(fd: number): number | undefined {
  const m = /^Pid:\s*(-?\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/**
 * Pins the peer of the connected unix socket `sockFd` whose SO_PEERCRED said `pid`/`uid`. Fails (with why)
 * when the caller cannot be told apart for sure: no pid (it runs in a pid namespace the daemon cannot see),
 * it exited, or its /proc entries cannot be opened.
 */
export function pinCaller(sockFd: number, pid: number | undefined, uid: number): PinOutcome {
  if (pid === undefined || pid <= 0)
    return { ok: false, reason: 'caller pid unknown (a pid namespace the daemon cannot see)' };
  const held: number[] = [];
  const hold = (fd: number) => {
    held.push(fd);
    return fd;
  };
  const releaseAll = () => {
    for (const fd of held.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
  };
  try {
    const pidfd = hold(addon().peerPidfd(sockFd) ?? addon().pidfdOpen(pid));
    const pidfdPid = pidOfPidfd(pidfd);
    if (pidfdPid !== undefined && pidfdPid !== pid) {
      releaseAll();
      return { ok: false, reason: `caller pid ${pid} is not the process that connected (${pidfdPid})` };
    }
    const proc = `/proc/${pid}`;
    const root = hold(openSync(`${proc}/root`, O_DIRECTORY_RDONLY));
    const net = hold(openSync(`${proc}/ns/net`, constants.O_RDONLY));
    const mnt = hold(openSync(`${proc}/ns/mnt`, constants.O_RDONLY));
    const user = hold(openSync(`${proc}/ns/user`, constants.O_RDONLY));
    const status = readFileSync(`${proc}/status`, 'utf8');
    if (!addon().pidfdAlive(pidfd)) {
      releaseAll();
      return { ok: false, reason: `caller pid ${pid} exited before it could be pinned` };
    }
    const capHex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
    const same = (fd: number, own: string) => identity(fstatSync(fd)) === identity(statSync(own));
    const sameMnt = same(mnt, '/proc/self/ns/mnt');
    const sameRoot = sameMnt && same(root, '/proc/self/root');
    const sameNet = same(net, '/proc/self/ns/net');
    const sameUserns = same(user, '/proc/self/ns/user');
    // /proc/<daemon pid>/fd/<n> rather than /proc/self/...: a path that names this process's descriptor from any thread
    const viaFd = (fd: number) => `/proc/${process.pid}/fd/${fd}`;
    const gid = Number(/^Gid:\s*\d+\s+(\d+)/m.exec(status)?.[1] ?? uid);
    const data: CallerData = {
      pid,
      ...(uid !== 0 ? { uid, gid } : {}),
      root: sameRoot ? '/' : viaFd(root),
      netns: sameNet ? null : viaFd(net),
      mntns: sameMnt ? null : viaFd(mnt),
    };
    return {
      ok: true,
      caller: { pid, uid, capEff: capHex ? BigInt(`0x${capHex}`) : 0n, sameUserns, data, release: releaseAll },
    };
  } catch (e) {
    releaseAll();
    return { ok: false, reason: `cannot pin caller pid ${pid}: ${(e as Error).message}` };
  }
}

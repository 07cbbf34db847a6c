// Typed loader of the native addon (shims/addon → build/native/wasm_cni.node). Loaded on first use so that
// importing a module that may need it costs nothing until it does.
import { annotate } from '../errors.ts';
import { createRequire } from 'node:module';
import { addonPath } from '../paths.ts';

/** Errors thrown by the addon look like Node's system errors: message "<what>: <reason>", code "ENOENT". */
export interface AddonError extends Error {
  code: string;
  errno: number;
  syscall: string;
  /** The errno text alone, lower-cased like Go prints it ("no such file or directory"). */
  reason: string;
}

export interface NetnsIdentity {
  dev: number;
  ino: number;
}
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

export interface WasmCniAddon {
  /** A non-blocking netlink socket created inside the namespace at nsPath (null: the caller's), bound to it. */
  netlinkOpen(nsPath: string | null, protocol: number): number;
  netlinkSend(fd: number, bytes: Uint8Array): number;
  /** The same from a thread of its own (not libuv's pool): the kernel runs a request inside sendmsg(), and
   * some (link deletion, netns moves) take tens of milliseconds there. */
  netlinkSendAsync(fd: number, bytes: Uint8Array): Promise<number>;
  /** One datagram from the kernel, or null when none is queued. */
  netlinkRecv(fd: number): Buffer | null;
  /** Resolves true when a datagram is ready, false after timeoutMs (negative: none). Waits on this thread's
   * event loop (a poll handle, no pool thread); one wait per fd at a time (else throws EBUSY); netlinkClose
   * rejects a pending wait with ECANCELED. */
  netlinkWait(fd: number, timeoutMs: number): Promise<boolean>;
  netlinkClose(fd: number): void;
  /** key is relative to /proc/sys with slashes ("net/ipv4/ip_forward"); the trailing newline is removed.
   * sysDir: the sys directory of another procfs mount to use instead of /proc/sys (it must be a procfs; key
   * is looked up beneath it without following symlinks). */
  sysctlRead(nsPath: string | null, key: string, sysDir?: string | null): string;
  sysctlWrite(nsPath: string | null, key: string, value: string, sysDir?: string | null): void;
  /** flock(2) without waiting: false when a conflicting lock is held. */
  flockTry(fd: number, exclusive: boolean): boolean;
  /** flock(2) waiting on a thread of its own: false when timeoutMs passed (negative: no timeout). */
  flockWait(fd: number, exclusive: boolean, timeoutMs: number): Promise<boolean>;
  flockUnlock(fd: number): void;
  netnsIdentity(path: string): NetnsIdentity;
  /** Creates /var/run/netns/<name> like `ip netns add`; returns its path. */
  netnsCreate(name: string): string;
  netnsRemove(name: string): void;
  /** SO_PEERCRED of a connected unix socket (for a net.Socket: `(socket as any)._handle.fd`). */
  peerCred(fd: number): PeerCred;
  /** SO_PEERPIDFD of a connected unix socket: a pidfd of the connecting process; null on kernels before 6.5. */
  peerPidfd(fd: number): number | null;
  /** pidfd_open(2): a pidfd for pid (close it with fs.closeSync). */
  pidfdOpen(pid: number): number;
  /** Whether the process a pidfd names still runs (pidfd_send_signal with signal 0). */
  pidfdAlive(fd: number): boolean;
  /** Starts file (absolute; args exclude argv[0]; env as "K=V") with stdin, optionally in another world (namespace
   * and root paths to open, uid/gid), resolved when it has exited and its output is drained. status is null when a
   * signal ended it. Rejects (ENOENT, EACCES, ETXTBSY, EPERM, ...; syscall names the step) when it could not start. */
  spawnCollect(
    file: string,
    args: string[],
    env: string[],
    stdin: Uint8Array,
    world?: { netns?: string | null; mntns?: string | null; root?: string | null; uid?: number; gid?: number },
  ): Promise<{ status: number | null; signal: number | null; stdout: Buffer; stderr: Buffer }>;
  /** strerror(errno) lower-cased at the start, as Go prints a syscall.Errno ("file exists"). */
  errnoText(errno: number): string;
}

let loaded: WasmCniAddon | undefined;

export function addon(): WasmCniAddon {
  if (!loaded) {
    try {
      loaded = createRequire(import.meta.url)(addonPath) as WasmCniAddon;
    } catch (e) {
      throw annotate(e, `wasm-cni: cannot load the native addon ${addonPath} (run build.sh)`);
    }
  }
  return loaded;
}

export function isAddonError(e: unknown): e is AddonError {
  return (
    e instanceof Error && typeof (e as AddonError).code === 'string' && typeof (e as AddonError).errno === 'number'
  );
}

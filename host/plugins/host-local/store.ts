// The host-local state directory, bit-compatible with the reference plugin so that both can allocate from
// one directory at the same time:
//   <dataDir>/<network>/lock                    empty; exclusive flock(2) around every change
//   <dataDir>/<network>/<ip>                    "<containerID>\r\n<ifname>" (no newline), mode 0600
//   <dataDir>/<network>/last_reserved_ip.<set>  the last IP handed out from range set <set>, no newline
//   <dataDir>/<network>/.reserving.<pid>         ours only, while the lock is held: a reservation's content
//                                                before it is linked to its name; removed after
//
// Unlike the reference, which reads every reservation file on every ADD, DEL and CHECK, the store keeps a
// per-process view of the reservations (ReservationView) and only checks it against the directory when the
// lock is taken: see view.ts for how.
import { ownCaller, type CallerContext } from '../../cni/caller.ts';
import { linkSync, lstatSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { faultPoint } from '../../cni/faults.ts';
import { goFsError } from './goerror.ts';
import { goTrimSpace } from './gotrim.ts';
import { DirectoryLock } from './lock.ts';
import { type ReservationView, viewFor, type FileStamp, tempPrefix } from './view.ts';

export const defaultDataDir = '/var/lib/cni/networks';
const lastReservedPrefix = 'last_reserved_ip.';
const lineBreak = '\r\n';

/** What a reservation file holds for (containerID, ifname). */
export function ownerKey(containerId: string, ifName: string): string {
  return goTrimSpace(containerId) + lineBreak + ifName;
}

/** What a reservation file written by old versions (id only) holds. */
export function legacyOwnerKey(containerId: string): string {
  return goTrimSpace(containerId);
}

/** Splits a reservation's owner back into (containerID, ifname); ifName is undefined for a legacy record. */
export function parseOwner(owner: string): { containerId: string; ifName?: string } {
  const at = owner.indexOf(lineBreak);
  if (at < 0) return { containerId: owner };
  return { containerId: owner.slice(0, at), ifName: owner.slice(at + lineBreak.length) };
}

export class NetworkStore {
  private holding = false;

  private constructor(
    readonly dir: string,
    private readonly lock: DirectoryLock,
    private readonly view: ReservationView,
  ) {}

  /** Creates `<dataDir>/<network>` (0755) and its lock file like the reference, nothing else; dataDir is
   * the caller's path, looked up in its filesystem view. */
  static open(dataDir: string, network: string, caller: CallerContext = ownCaller): NetworkStore {
    const named = resolve(join(dataDir || defaultDataDir, network));
    const dir = caller.resolve(named);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw goFsError(e, 'mkdir', named);
    }
    let lock: DirectoryLock;
    try {
      lock = DirectoryLock.open(join(dir, 'lock'));
    } catch (e) {
      throw goFsError(e, 'open', join(named, 'lock'));
    }
    return new NetworkStore(dir, lock, viewFor(dir));
  }

  /** Runs fn holding the exclusive lock, with the reservation view checked against the directory. */
  async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.lock.acquire();
    this.holding = true;
    this.view.dir = this.dir; // this call's path to the directory (the lock keeps other calls off the view)
    let inDoubt = false;
    try {
      this.view.refresh();
      return await fn();
    } catch (e) {
      // After a failed system call the view may miss a change it made; list the directory next time.
      inDoubt = typeof (e as NodeJS.ErrnoException).code === 'string';
      throw e;
    } finally {
      try {
        if (inDoubt) this.view.invalidate();
        else this.view.seal();
      } finally {
        this.holding = false;
        this.lock.release();
      }
    }
  }

  close(): void {
    this.lock.close();
  }

  /** The reservations: IP text → trimmed file content. */
  get reservations(): ReadonlyMap<string, string> {
    this.mustHoldLock();
    return this.view.owners;
  }

  /** The IPs whose file holds exactly `owner`. */
  ipsOwnedBy(owner: string): string[] {
    this.mustHoldLock();
    return this.view.ipsOwnedBy(owner);
  }

  /** Subscribe to reservation changes (own and foreign), e.g. to keep an allocator bitmap in step. */
  get changes(): ReservationView {
    return this.view;
  }

  /**
   * Creates the reservation file exclusively; false when the IP is already taken (then the view learns the
   * file's owner). The file appears whole or not at all: its content is written to a temporary file that is
   * then hard-linked to the IP's name (link(2) fails with EEXIST like an O_EXCL create). On success also
   * records the IP in last_reserved_ip.<rangeId>, as the reference does.
   */
  reserve(ip: string, containerId: string, ifName: string, rangeId: number): boolean {
    this.mustHoldLock();
    const path = join(this.dir, ip);
    const content = ownerKey(containerId, ifName);
    const tmp = join(this.dir, `${tempPrefix}${process.pid}`);
    writeFileSync(tmp, content, { mode: 0o600 });
    faultPoint('host-local:temp-written');
    let stamp: FileStamp;
    try {
      if (!linkExclusive(tmp, path, () => this.view.learn(ip) === undefined)) return false;
      faultPoint('host-local:linked');
      unlinkSync(tmp);
      const st = lstatSync(path); // after the unlink: the link count is part of the ctime
      stamp = { ino: st.ino, ctimeMs: st.ctimeMs, size: st.size };
    } finally {
      rmSync(tmp, { force: true });
    }
    this.view.add(ip, goTrimSpace(content), stamp);
    writeFileSync(join(this.dir, lastReservedPrefix + rangeId), ip, { mode: 0o600 });
    return true;
  }

  /** Removes one reservation file; false when it was already gone. */
  release(ip: string): boolean {
    this.mustHoldLock();
    try {
      unlinkSync(join(this.dir, ip));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.view.remove(ip);
        return false;
      }
      throw e;
    }
    this.view.remove(ip);
    return true;
  }

  /**
   * Releases every reservation whose file holds `owner`, re-reading each file first so that a file a foreign
   * writer re-created for someone else since we last looked is never removed. Returns the released IPs.
   */
  releaseOwnedBy(owner: string): string[] {
    this.mustHoldLock();
    const released: string[] = [];
    for (const ip of this.view.ipsOwnedBy(owner)) {
      if (this.view.learn(ip) !== owner) continue;
      if (this.release(ip)) released.push(ip);
    }
    return released;
  }

  /** The text of last_reserved_ip.<rangeId>, or undefined when there is none. */
  lastReservedIP(rangeId: number): string | undefined {
    this.mustHoldLock();
    try {
      return readFileSync(join(this.dir, lastReservedPrefix + rangeId), 'latin1');
    } catch {
      return undefined;
    }
  }

  private mustHoldLock(): void {
    if (!this.holding) throw new Error(`host-local store ${this.dir}: used without holding its lock`);
  }
}

/**
 * link(2) `from` to `to`; false when `to` exists. `vanished` is asked once on EEXIST whether the name has gone
 * meanwhile (a torn reservation the view reclaimed), and the link is tried once more if so.
 */
function linkExclusive(from: string, to: string, vanished: () => boolean): boolean {
  for (let attempt = 0; ; attempt++) {
    try {
      linkSync(from, to);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (attempt > 0 || !vanished()) return false;
    }
  }
}

// The per-process view of one host-local directory's reservations (IP → owner), so that a warm process does
// not re-read every reservation file on each call as the reference does (~20 µs per reservation).
//
// Validation, always under the directory's flock (every writer, ours and the reference, changes the
// directory only while holding it):
//  1. When we release the lock we "seal" the view with the directory's (inode, mtime, ctime).
//  2. When we next take the lock, an identical stamp means nobody created or removed an entry in between:
//     the view is used as it is (one stat). This needs timestamps that always move on a change. Linux ≥ 6.13
//     gives ext4/xfs/btrfs/tmpfs "multigrain" timestamps: once a stamp has been read, the next change gets a
//     fine-grained, different one. Elsewhere two changes within one clock tick could share a stamp, so there
//     the stamp is never trusted and step 3 always runs.
//  3. Otherwise (or on first use) the directory is listed: new names are read, vanished names dropped, and
//     known names are re-read only if their (inode, ctime, size) changed — a file removed and re-created for
//     another container gets a new inode and ctime. Listing plus stat is far cheaper than reading each file.
// last_reserved_ip.<n> is rewritten in place by the reference (no directory change), so callers always read it.
//
// Every writer creates and fills a reservation while holding the lock, so under the lock an empty reservation
// file, or one of our temporary files, is what a writer killed mid-way (ours before it linked, or the
// reference between its O_EXCL create and its write) left: both are removed here, and the address is free.
import {
  closeSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  statfsSync,
  statSync,
  unlinkSync,
  constants as fsc,
} from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { parseIP } from '../../cni/iptext.ts';
import { goTrimSpace } from './gotrim.ts';

/** Our temporary reservation files (store.ts), named so that no writer takes them for a reservation. */
export const tempPrefix = '.reserving.';

/** A reservation file's identity: a file removed and re-created gets a new inode and/or ctime. */
export interface FileStamp {
  ino: number;
  ctimeMs: number;
  size: number;
}
interface DirStamp {
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Called when an IP becomes taken (true) or free (false) in the directory, whoever changed it. */
export type ReservationListener = (ip: string, taken: boolean) => void;

/** How the view was validated, counted (for tests and benchmarks). */
export interface ViewStats {
  trusted: number;
  listed: number;
  filesRead: number;
  /** Torn reservations and temporary files of dead writers removed. */
  reclaimed: number;
}

export class ReservationView {
  /** IP text → trimmed file content ("<id>\r\n<ifname>", or "<id>" for legacy records). */
  readonly owners = new Map<string, string>();
  readonly stats: ViewStats = { trusted: 0, listed: 0, filesRead: 0, reclaimed: 0 };
  private readonly stamps = new Map<string, FileStamp>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly listeners = new Set<ReservationListener>();
  private sealed: DirStamp | undefined;

  constructor(
    /** The path this process reaches the directory by; a daemon call in another caller's world re-points it
     * (store.ts, under the lock) since the same directory is reached through that caller's root. */
    public dir: string,
    private readonly trustDirStamp: boolean,
    /** The directory's identity (device:inode), stable whatever path reaches it. */
    readonly key: string = dir,
  ) {}

  subscribe(fn: ReservationListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Brings the view up to date with the directory (call holding the lock). */
  refresh(): void {
    const st = statSync(this.dir, { bigint: true });
    const s = this.sealed;
    this.sealed = undefined;
    if (s && this.trustDirStamp && st.ino === s.ino && st.mtimeNs === s.mtimeNs && st.ctimeNs === s.ctimeNs) {
      this.stats.trusted++;
      return;
    }
    this.stats.listed++;
    const present = new Set<string>();
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(tempPrefix)) {
        this.reclaim(name);
        continue;
      }
      if (!isReservationName(name)) continue;
      const known = this.stamps.get(name);
      if (known) {
        let now;
        try {
          now = lstatSync(join(this.dir, name));
        } catch {
          continue;
        }
        present.add(name);
        if (now.ino === known.ino && now.ctimeMs === known.ctimeMs && now.size === known.size) continue;
      } else {
        present.add(name);
      }
      if (this.learn(name) === undefined) present.delete(name);
    }
    for (const ip of [...this.owners.keys()]) if (!present.has(ip)) this.remove(ip);
  }

  /** Records the directory's stamp; call after the last change, still holding the lock. */
  seal(): void {
    try {
      const st = statSync(this.dir, { bigint: true });
      this.sealed = { ino: st.ino, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
    } catch {
      this.sealed = undefined;
    }
  }

  /** Forget everything (e.g. after an I/O error left the view in doubt). */
  invalidate(): void {
    this.sealed = undefined;
  }

  /** (Re-)reads one reservation file; returns its owner, or undefined when the file does not exist. */
  learn(ip: string): string | undefined {
    let fd: number;
    try {
      fd = openSync(join(this.dir, ip), fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return this.takenUnreadable(ip);
      this.remove(ip);
      return undefined;
    }
    try {
      const st = fstatSync(fd);
      const buf = Buffer.allocUnsafe(st.size + 1);
      let len = 0;
      for (;;) {
        const n = readSync(fd, buf, len, buf.length - len, null);
        if (n === 0 || len + n === buf.length) {
          len += n;
          break;
        }
        len += n;
      }
      this.stats.filesRead++;
      const owner = goTrimSpace(buf.toString('utf8', 0, len));
      if (owner === '' && st.isFile()) {
        this.reclaim(ip);
        return undefined;
      }
      this.add(ip, owner, { ino: st.ino, ctimeMs: st.ctimeMs, size: st.size });
      return owner;
    } catch {
      return this.takenUnreadable(ip); // e.g. a directory of that name: the address is taken, by nobody we know
    } finally {
      closeSync(fd);
    }
  }

  /** Removes a file a dead writer left (see the top of this file); held lock assumed. */
  private reclaim(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
      this.stats.reclaimed++;
    } catch {
      /* gone already */
    }
    this.remove(name);
  }

  private takenUnreadable(ip: string): string {
    this.add(ip, '', { ino: -1, ctimeMs: -1, size: -1 });
    return '';
  }

  add(ip: string, owner: string, stamp: FileStamp): void {
    const before = this.owners.get(ip);
    if (before !== undefined) this.byOwner.get(before)?.delete(ip);
    this.owners.set(ip, owner);
    this.stamps.set(ip, stamp);
    let set = this.byOwner.get(owner);
    if (!set) {
      set = new Set();
      this.byOwner.set(owner, set);
    }
    set.add(ip);
    if (before === undefined) for (const fn of this.listeners) fn(ip, true);
  }

  remove(ip: string): void {
    const before = this.owners.get(ip);
    if (before === undefined) return;
    this.owners.delete(ip);
    this.stamps.delete(ip);
    const set = this.byOwner.get(before);
    set?.delete(ip);
    if (set && set.size === 0) this.byOwner.delete(before);
    for (const fn of this.listeners) fn(ip, false);
  }

  ipsOwnedBy(owner: string): string[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }
}

/**
 * Reservation files are named by an IP address in the canonical form every writer uses (the name an O_EXCL
 * create would collide with); `lock`, `last_reserved_ip.*` and anything else are not.
 */
function isReservationName(name: string): boolean {
  return parseIP(name)?.text === name;
}

/** Enough for every network of a node; a warm process serving ever new directories must not keep them all. */
const maxViews = 64;
const views = new Map<string, ReservationView>();

/** The process-wide view of a directory (an absolute path), one per directory however it is reached; the least
 * recently used is dropped beyond maxViews. */
export function viewFor(dir: string): ReservationView {
  const key = directoryKey(dir);
  let v = views.get(key);
  if (v) views.delete(key);
  else v = new ReservationView(dir, hasMultigrainTimestamps(dir), key);
  views.set(key, v); // most recently used last
  while (views.size > maxViews) views.delete(views.keys().next().value as string);
  return v;
}

function directoryKey(dir: string): string {
  try {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return dir;
  }
}

const multigrainFs = new Set([0xef53 /* ext4 */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, 0x01021994 /* tmpfs */]);

/** True where a change after a stat always yields a different ctime/mtime (Linux ≥ 6.13 on these file systems). */
export function hasMultigrainTimestamps(dir: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m || Number(m[1]) * 1000 + Number(m[2]) < 6013) return false;
  try {
    return multigrainFs.has(Number(statfsSync(dir).type));
  } catch {
    return false;
  }
}

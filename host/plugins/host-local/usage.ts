// Read-only utilisation of a host-local state directory, for metrics and `wasm-cni doctor`: how many addresses
// each configured range holds against its size, and the reservation files themselves (empty ones included).
// Runs on the daemon's event loop at scrape time: 60,000 reservations cost one listing and no file reads.
// Takes no lock and changes nothing; a count taken while a plugin allocates may be off by the calls in flight.
import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ipToBytes, tryParseIP, type RangeSet } from '../../core/index.ts';
import { loadConfig } from './config.ts';
import { parseOwner } from './store.ts';

export interface HostLocalNetwork {
  /** The network name: names the state directory under dataDir. */
  name: string;
  dataDir: string;
  rangeSets: RangeSet[];
}

/** The host-local view of a plugin config (one holding `ipam`); per-call fields (requested IPs) are dropped. */
export function hostLocalNetwork(conf: Record<string, unknown>): HostLocalNetwork {
  const { args: _args, ...rest } = conf;
  const c = loadConfig(rest, '');
  return { name: c.name, dataDir: resolve(c.dataDir), rangeSets: c.rangeSets };
}

export interface RangeUsage {
  rangeSet: number;
  /** `start-end` as the reference prints a range. */
  range: string;
  family: 4 | 6;
  /** Addresses the allocator can hand out: start..end without the gateway. */
  size: number;
  allocated: number;
}

export interface ReservationFile {
  ip: string;
  file: string;
  /** The file's size, container id and interface (only when the files are read; no ifName in old records). */
  bytes?: number;
  containerId?: string;
  ifName?: string;
}

export interface NetworkUsage {
  dir: string;
  exists: boolean;
  ranges: RangeUsage[];
  reservations: ReservationFile[];
  /** More reservation files than the limit: counts cover the first `limit` names only. */
  truncated: boolean;
}

/** A canonical dotted quad (as host-local names its files) as a number, else undefined. */
function ipv4Number(name: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 255) return undefined;
      n = n * 256 + part;
      if (++dots > 4) return undefined;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3) return undefined;
    } else return undefined;
  }
  return dots === 4 ? n : undefined;
}

function ipNumber(text: string): bigint {
  let n = 0n;
  for (const b of ipToBytes(text)) n = (n << 8n) | BigInt(b);
  return n;
}

interface Bounds {
  rangeSet: number;
  range: string;
  family: 4 | 6;
  start: bigint;
  end: bigint;
  /** The same as numbers, for IPv4 (the common case, compared without BigInt). */
  start4: number;
  end4: number;
  size: bigint;
  allocated: number;
}

/**
 * Counts `<dataDir>/<name>`'s reservations per range: at most `limit` directory entries, without reading them
 * (a listing and a parse per name); with `readFiles`, also each file's size and owner.
 */
export function networkUsage(net: HostLocalNetwork, opts: { readFiles?: boolean; limit?: number } = {}): NetworkUsage {
  const dir = join(net.dataDir, net.name);
  const limit = opts.limit ?? 200_000;
  const bounds: Bounds[] = net.rangeSets.flatMap((set, rangeSet) =>
    set.ranges.map((r) => {
      const start = ipNumber(r.rangeStart);
      const end = ipNumber(r.rangeEnd);
      const gw = r.gateway ? ipNumber(r.gateway) : -1n;
      const size = end - start + 1n - (gw >= start && gw <= end ? 1n : 0n);
      return {
        rangeSet,
        range: r.text,
        family: r.family,
        start,
        end,
        start4: Number(start),
        end4: Number(end),
        size,
        allocated: 0,
      };
    }),
  );
  const v4 = bounds.filter((b) => b.family === 4);
  const v6 = bounds.filter((b) => b.family === 6);
  let entries: Dirent[] = [];
  let exists = true;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    exists = false;
  }
  const truncated = entries.length > limit;
  const reservations: ReservationFile[] = [];
  for (const e of entries.slice(0, limit)) {
    if (!e.isFile()) continue;
    const name = e.name;
    const n4 = ipv4Number(name);
    let b: Bounds | undefined;
    if (n4 !== undefined) b = v4.find((x) => n4 >= x.start4 && n4 <= x.end4);
    else {
      const ip = name.includes(':') ? tryParseIP(name) : null;
      if (!ip || ip.text !== name || ip.family !== 6) continue;
      const n6 = ipNumber(name);
      b = v6.find((x) => n6 >= x.start && n6 <= x.end);
    }
    if (b) b.allocated++;
    const r: ReservationFile = { ip: name, file: join(dir, name) };
    if (opts.readFiles) {
      let text: string;
      try {
        text = readFileSync(r.file, 'latin1');
      } catch {
        continue; // released meanwhile
      }
      r.bytes = text.length;
      if (text.length > 0) Object.assign(r, parseOwner(text.trim()));
    }
    reservations.push(r);
  }
  return {
    dir,
    exists,
    truncated,
    reservations,
    ranges: bounds.map(({ rangeSet, range, family, size, allocated }) => ({
      rangeSet,
      range,
      family,
      size: Number(size),
      allocated,
    })),
  };
}

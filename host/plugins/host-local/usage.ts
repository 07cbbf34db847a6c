// Read-only utilisation of a host-local state directory, for metrics and `wasm-cni doctor`: how many addresses
// each configured range holds against its size, and the reservation files themselves (empty ones included).
// Takes no lock and changes nothing; a count taken while a plugin allocates may be off by the calls in flight.
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
  bytes: number;
  /** The container id in the file (read only when asked). */
  containerId?: string;
}

export interface NetworkUsage {
  dir: string;
  exists: boolean;
  ranges: RangeUsage[];
  reservations: ReservationFile[];
  /** More reservation files than the limit: counts cover the first `limit` names only. */
  truncated: boolean;
}

function ipNumber(text: string): bigint {
  let n = 0n;
  for (const b of ipToBytes(text)) n = (n << 8n) | BigInt(b);
  return n;
}

/** Reads `<dataDir>/<name>`: at most `limit` reservation files; their owners only with `readOwners`. */
export function networkUsage(net: HostLocalNetwork, opts: { readOwners?: boolean; limit?: number } = {}): NetworkUsage {
  const dir = join(net.dataDir, net.name);
  const limit = opts.limit ?? 200_000;
  const bounds = net.rangeSets.flatMap((set, rangeSet) =>
    set.ranges.map((r) => {
      const start = ipNumber(r.rangeStart);
      const end = ipNumber(r.rangeEnd);
      const gw = r.gateway ? ipNumber(r.gateway) : -1n;
      const size = end - start + 1n - (gw >= start && gw <= end ? 1n : 0n);
      return { rangeSet, range: r.text, family: r.family, start, end, size, allocated: 0 };
    }),
  );
  let names: string[] = [];
  let exists = true;
  try {
    names = readdirSync(dir);
  } catch {
    exists = false;
  }
  const truncated = names.length > limit;
  const reservations: ReservationFile[] = [];
  for (const name of names.slice(0, limit)) {
    const ip = tryParseIP(name);
    if (!ip || ip.text !== name) continue;
    const file = join(dir, name);
    let bytes: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) continue;
      bytes = st.size;
    } catch {
      continue; // released meanwhile
    }
    const r: ReservationFile = { ip: name, file, bytes };
    if (opts.readOwners && bytes > 0) {
      try {
        r.containerId = parseOwner(readFileSync(file, 'latin1').trim()).containerId;
      } catch {
        /* released meanwhile */
      }
    }
    reservations.push(r);
    const n = ipNumber(name);
    const fam = ip.family;
    const b = bounds.find((x) => x.family === fam && n >= x.start && n <= x.end);
    if (b) b.allocated++;
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

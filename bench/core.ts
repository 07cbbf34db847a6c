// npm run bench:core — the Wasm core against the same algorithm in plain TypeScript (bench/core-plain.ts)
// and against ipaddr.js, for the operations that run over whole ranges. Prints ops/s and time ratios.
import ipaddr from 'ipaddr.js';
import { Allocator, RangeSet, Cidr, Ipv4Batch } from '../host/core/index.ts';
import { PlainAllocator, countInV4 } from './core-plain.ts';
import { median, ratio, table } from './stats.ts';

const NET = 0x0ac80000; // 10.200.0.0/16
const RANGE = { start: NET + 1, end: NET + 0xfffe, gw: NET + 1 };
const quad = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Median wall time in ms of fn over `runs` runs (after `warm` warm-up runs); setup is not timed. */
function time(runs: number, warm: number, setup: () => void, fn: () => void): number {
  const ts: number[] = [];
  for (let i = 0; i < runs + warm; i++) {
    setup();
    const t0 = process.hrtime.bigint();
    fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= warm) ts.push(dt);
  }
  return median(ts);
}

// ipaddr.js version of the same allocator: ipaddr objects for addresses, a Set of canonical strings for
// reservations — how the allocator looks when written with a general-purpose address library.
class IpaddrAllocator {
  reserved = new Set<string>();
  private start = ipaddr.IPv4.parse(quad(RANGE.start));
  private end = ipaddr.IPv4.parse(quad(RANGE.end));
  private gw = ipaddr.IPv4.parse(quad(RANGE.gw)).toString();
  private next(ip: ipaddr.IPv4): ipaddr.IPv4 {
    const b = ip.toByteArray();
    for (let i = 3; i >= 0; i--) {
      if (b[i] < 255) {
        b[i]++;
        break;
      }
      b[i] = 0;
    }
    return ipaddr.fromByteArray(b) as ipaddr.IPv4;
  }
  nextFree(last?: string): string | null {
    const cur = last ? ipaddr.IPv4.parse(last) : null;
    const first = cur ? (cur.toString() === this.end.toString() ? this.start : this.next(cur)) : this.start;
    let c = first;
    for (;;) {
      const s = c.toString();
      if (s !== this.gw && !this.reserved.has(s)) return s;
      c = s === this.end.toString() ? this.start : this.next(c);
      if (c.toString() === first.toString()) return null;
    }
  }
  allocateMany(max: number, last?: string): number {
    let n = 0;
    let l = last;
    while (n < max) {
      const ip = this.nextFree(l);
      if (!ip) break;
      this.reserved.add(ip);
      l = ip;
      n++;
    }
    return n;
  }
}

const all = new Uint32Array(0x10000).map((_, i) => NET + i);
const rows: string[][] = [
  ['operation', 'ops', 'Wasm ops/s', 'plain TS ops/s', 'ipaddr.js ops/s', 'TS ÷ Wasm time', 'ipaddr.js ÷ Wasm time'],
];
const fmt = (ops: number, msTime: number) => Math.round(ops / (msTime / 1000)).toLocaleString('en-US');
function row(name: string, ops: number, wasm: number, ts: number, ip?: number) {
  rows.push([
    name,
    ops.toLocaleString('en-US'),
    fmt(ops, wasm),
    fmt(ops, ts),
    ip === undefined ? '—' : fmt(ops, ip),
    ratio(ts, wasm),
    ip === undefined ? '—' : ratio(ip, wasm),
  ]);
}

// 1. fill a /16 in reference order, then release every address (one coarse call each way)
{
  const set = RangeSet.parse([{ subnet: '10.200.0.0/16' }]);
  const a = new Allocator(set);
  const p = new PlainAllocator([RANGE]);
  const wasmCheck = a.allocateMany(1 << 20),
    tsCheck = p.allocateMany(1 << 20);
  if (wasmCheck.count !== tsCheck.count || wasmCheck.last !== quad(tsCheck.last))
    throw new Error('fill results differ');
  const wasmFill = time(
    31,
    5,
    () => a.clear(),
    () => {
      a.allocateMany(1 << 20);
    },
  );
  const tsFill = time(
    31,
    5,
    () => p.releaseMany(all),
    () => {
      p.allocateMany(1 << 20);
    },
  );
  const ipa = new IpaddrAllocator();
  const ipFill = time(
    3,
    1,
    () => ipa.reserved.clear(),
    () => {
      ipa.allocateMany(1 << 20);
    },
  );
  row('fill a /16 in allocation order', 65533, wasmFill, tsFill, ipFill);
  const wasmRel = time(
    31,
    5,
    () => a.allocateMany(1 << 20),
    () => {
      a.releasePacked(all);
    },
  );
  const tsRel = time(
    31,
    5,
    () => p.allocateMany(1 << 20),
    () => {
      p.releaseMany(all);
    },
  );
  const ipRel = time(
    3,
    1,
    () => ipa.allocateMany(1 << 20),
    () => {
      for (const v of all) ipa.reserved.delete(quad(v));
    },
  );
  row('release a whole /16 (packed list)', 65533, wasmRel, tsRel, ipRel);
  a.dispose();
}

// 2. a 99%-full /16: allocate the remaining 1% in reference order from a random last reservation
{
  const r = rng(1);
  const taken = all.filter((v) => v !== NET && v !== NET + 0xffff && v !== RANGE.gw && r() % 100 !== 0);
  const lastPick = quad(taken[taken.length >> 1]);
  const a = new Allocator(RangeSet.parse([{ subnet: '10.200.0.0/16' }]));
  const p = new PlainAllocator([RANGE]);
  const ipa = new IpaddrAllocator();
  const free = 65533 - taken.length;
  const wasm = time(
    41,
    5,
    () => {
      a.clear();
      a.loadReservedPacked(taken);
    },
    () => {
      a.allocateMany(free, lastPick);
    },
  );
  const ts = time(
    41,
    5,
    () => {
      p.releaseMany(all);
      for (const v of taken) p.set(v, true);
    },
    () => {
      p.allocateMany(free, taken[taken.length >> 1]);
    },
  );
  a.clear();
  a.loadReservedPacked(taken);
  p.releaseMany(all);
  for (const v of taken) p.set(v, true);
  const w0 = a.allocateMany(free, lastPick),
    t0 = p.allocateMany(free, taken[taken.length >> 1]);
  if (w0.count !== free || t0.count !== free || w0.last !== quad(t0.last)) throw new Error('99% results differ');
  const takenText = Array.from(taken, quad);
  const ip = time(
    5,
    1,
    () => {
      ipa.reserved = new Set(takenText);
    },
    () => {
      ipa.allocateMany(free, lastPick);
    },
  );
  row('99%-full /16: allocate the free 1%', free, wasm, ts, ip);

  // the same, one call per allocation through the string API (what a single host-local ADD pays)
  const single = 2000;
  const lasts = Array.from({ length: single }, () => quad(taken[r() % taken.length]));
  a.clear();
  a.loadReservedPacked(taken);
  p.releaseMany(all);
  for (const v of taken) p.set(v, true);
  ipa.reserved = new Set(takenText);
  const w1 = time(
    15,
    3,
    () => {},
    () => {
      for (const l of lasts) a.nextFree(l);
    },
  );
  const t1 = time(
    15,
    3,
    () => {},
    () => {
      for (const l of lasts) quad(p.nextFree(l.split('.').reduce((x, o) => x * 256 + Number(o), 0)));
    },
  );
  const i1 = time(
    5,
    1,
    () => {},
    () => {
      for (const l of lasts) ipa.nextFree(l);
    },
  );
  row('99%-full /16: one nextFree(last) call, text in/out', single, w1, t1, i1);
  a.dispose();
}

// 3. contains over 1M resident IPv4 addresses
{
  const r = rng(3);
  const addrs = new Uint32Array(1 << 20).map(() => (r() & 0x00ffffff) | 0x0a000000);
  const batch = new Ipv4Batch(addrs);
  const cidr = Cidr.parse('10.200.0.0/16');
  const objs = Array.from(addrs, (v) => ipaddr.IPv4.parse(quad(v)));
  const range = ipaddr.parseCIDR('10.200.0.0/16');
  let w = 0,
    t = 0,
    i = 0;
  const wasm = time(
    25,
    3,
    () => {},
    () => {
      w = batch.countIn(cidr);
    },
  );
  const ts = time(
    25,
    3,
    () => {},
    () => {
      t = countInV4(addrs, NET, 16);
    },
  );
  const ip = time(
    5,
    1,
    () => {},
    () => {
      i = 0;
      for (const o of objs) if (o.match(range)) i++;
    },
  );
  if (w !== t || w !== i) throw new Error(`contains disagree: wasm ${w}, ts ${t}, ipaddr.js ${i}`);
  row('contains over 1M resident addresses', addrs.length, wasm, ts, ip);
  batch.dispose();
}

console.log(`bench:core (node ${process.version}; medians; ratio > 1 means Wasm is faster)\n`);
console.log(table(rows));

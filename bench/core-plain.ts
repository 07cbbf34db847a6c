// The core's allocator algorithm written in plain TypeScript (IPv4 only), as the comparison row of
// bench/core.ts: same ranges, same bitmap, same reference order (resume after last, wrap, last one last).

interface PlainRange {
  start: number;
  end: number;
  gw: number;
  bits: Uint32Array;
}

export class PlainAllocator {
  private ranges: PlainRange[];
  count = 0;

  constructor(ranges: Array<{ start: number; end: number; gw: number }>) {
    this.ranges = ranges.map((r) => ({ ...r, bits: new Uint32Array(((r.end - r.start + 1) >>> 5) + 1) }));
  }

  private find(ip: number): number {
    for (let i = 0; i < this.ranges.length; i++) if (ip >= this.ranges[i].start && ip <= this.ranges[i].end) return i;
    return -1;
  }

  set(ip: number, on: boolean): boolean {
    const i = this.find(ip);
    if (i < 0) return false;
    const r = this.ranges[i];
    const off = ip - r.start;
    const w = off >>> 5,
      b = 1 << (off & 31);
    if (((r.bits[w] & b) !== 0) === on) return false;
    r.bits[w] ^= b;
    this.count += on ? 1 : -1;
    return true;
  }

  /** First clear, non-gateway offset in [from, to] of range r, or -1. */
  private freeIn(r: PlainRange, from: number, to: number): number {
    const gw = r.gw - r.start;
    while (from <= to) {
      let w = from >>> 5;
      let word = ~r.bits[w] & (~0 << (from & 31));
      let found = -1;
      for (;;) {
        if (word !== 0) {
          found = (w << 5) + (31 - Math.clz32(word & -word));
          break;
        }
        w++;
        if (w << 5 > to) break;
        word = ~r.bits[w];
      }
      if (found < 0 || found > to) return -1;
      if (found !== gw) return found;
      from = found + 1;
    }
    return -1;
  }

  nextFree(last?: number): number {
    const n = this.ranges.length;
    const li = last === undefined ? -1 : this.find(last);
    if (li < 0) {
      for (const r of this.ranges) {
        const f = this.freeIn(r, 0, r.end - r.start);
        if (f >= 0) return r.start + f;
      }
      return -1;
    }
    const lr = this.ranges[li];
    if (last! !== lr.end) {
      const f = this.freeIn(lr, last! + 1 - lr.start, lr.end - lr.start);
      if (f >= 0) return lr.start + f;
    }
    for (let k = 1; k < n; k++) {
      const r = this.ranges[(li + k) % n];
      const f = this.freeIn(r, 0, r.end - r.start);
      if (f >= 0) return r.start + f;
    }
    const f = this.freeIn(lr, 0, last! - lr.start);
    return f >= 0 ? lr.start + f : -1;
  }

  /** Same as the core: a run of allocations is one pass over the cyclic order, a 32-bit word at a time. */
  allocateMany(max: number, last?: number): { count: number; last: number } {
    const n = this.ranges.length;
    const li = last === undefined ? -1 : this.find(last);
    const st = { count: 0, last: last ?? -1 };
    if (li < 0) {
      for (const r of this.ranges) if (st.count < max) this.fillIn(r, 0, r.end - r.start, max, st);
    } else {
      const lr = this.ranges[li];
      if (last! !== lr.end) this.fillIn(lr, last! + 1 - lr.start, lr.end - lr.start, max, st);
      for (let k = 1; k < n && st.count < max; k++) {
        const r = this.ranges[(li + k) % n];
        this.fillIn(r, 0, r.end - r.start, max, st);
      }
      if (st.count < max) this.fillIn(lr, 0, last! - lr.start, max, st);
    }
    this.count += st.count;
    return st;
  }

  private fillIn(r: PlainRange, from: number, to: number, max: number, st: { count: number; last: number }): void {
    const gw = r.gw - r.start;
    for (let w = from >>> 5; w <= to >>> 5 && st.count < max; w++) {
      let take = ~0;
      if (w === from >>> 5) take &= ~0 << (from & 31);
      if (w === to >>> 5 && (to & 31) !== 31) take &= (1 << ((to & 31) + 1)) - 1;
      if (gw >>> 5 === w) take &= ~(1 << (gw & 31));
      let free = ~r.bits[w] & take;
      if (free === 0) continue;
      let n = popcount(free);
      const room = max - st.count;
      if (n > room) {
        let keep = 0;
        for (let k = 0; k < room; k++) {
          const low = free & -free;
          keep |= low;
          free ^= low;
        }
        free = keep;
        n = room;
      }
      r.bits[w] |= free;
      st.count += n;
      st.last = r.start + (w << 5) + 31 - Math.clz32(free);
    }
  }

  releaseMany(ips: Uint32Array): number {
    let n = 0;
    let r: PlainRange | undefined;
    for (let i = 0; i < ips.length; i++) {
      const v = ips[i];
      if (!r || v < r.start || v > r.end) {
        const k = this.find(v);
        if (k < 0) {
          r = undefined;
          continue;
        }
        r = this.ranges[k];
      }
      const off = v - r.start,
        w = off >>> 5,
        b = 1 << (off & 31);
      if (r.bits[w] & b) {
        r.bits[w] ^= b;
        n++;
      }
    }
    this.count -= n;
    return n;
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function countInV4(addrs: Uint32Array, network: number, prefix: number): number {
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  const want = (network & mask) >>> 0;
  let n = 0;
  for (let i = 0; i < addrs.length; i++) if ((addrs[i] & mask) >>> 0 === want) n++;
  return n;
}

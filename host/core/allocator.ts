// host-local's allocator over one range set. The reservation bitmap lives in Wasm memory until dispose().
import { parseAddr, parseInto, unmap, slotText } from './ip.ts';
import type { RangeSet } from './range.ts';
import { core, slot, u32 } from './wasm.ts';

const registry = new FinalizationRegistry<number>((handle) => core().alloc_delete(handle));

export class Allocator {
  private handle: number;

  constructor(readonly set: RangeSet) {
    const at = set.writeRecords();
    this.handle = core().alloc_new(at, set.ranges.length);
    registry.register(this, this.handle, this);
  }

  private h(): number {
    if (this.handle === 0) throw new Error('Allocator used after dispose()');
    return this.handle;
  }

  /** Parse into slot i for this set's family (IPv4-mapped counts as IPv4); the family, or 0 when unusable. */
  private load(ip: string, i: number): number {
    const f = parseInto(ip, i);
    if (f < 0) return 0;
    if (f === 6 && this.set.family === 4) {
      const w = u32(),
        k = slot(i) >>> 2;
      if (w[k] === 0 && w[k + 1] === 0 && w[k + 2] === 0xffff) {
        w[k + 2] = 0;
        return 4;
      }
    }
    return f;
  }

  /** Slot pointer and family of the last reserved address, or (0, 0) for none/unparsable. */
  private lastArg(lastReserved?: string | null): number {
    this.lastFamily = lastReserved ? this.load(lastReserved, 1) : 0;
    return this.lastFamily ? slot(1) : 0;
  }
  private lastFamily = 0;

  /** The next free address in the reference's order (does not reserve it); null when none is left. */
  nextFree(lastReserved?: string | null): string | null {
    const last = this.lastArg(lastReserved);
    if (core().alloc_next(this.h(), last, this.lastFamily, slot(2)) !== 1) return null;
    return slotText(2, this.set.family);
  }

  /** nextFree() and reserve it. */
  allocate(lastReserved?: string | null): string | null {
    const ip = this.nextFree(lastReserved);
    if (ip !== null) core().alloc_reserve(this.h(), slot(2), this.set.family);
    return ip;
  }

  /** Up to max allocations in a row (each resumes after the previous): one call into Wasm. */
  allocateMany(max: number, lastReserved?: string | null): { count: number; last: string | null } {
    const last = this.lastArg(lastReserved);
    const count = core().alloc_many(this.h(), Math.min(max, 0x7fffffff), last, this.lastFamily, slot(2));
    return { count, last: count > 0 ? slotText(2, this.set.family) : null };
  }

  /** Mark reserved; false when it already was or the address is not in the set. */
  reserve(ip: string): boolean {
    const f = this.load(ip, 0);
    return f !== 0 && core().alloc_reserve(this.h(), slot(0), f) === 1;
  }

  release(ip: string): boolean {
    const f = this.load(ip, 0);
    return f !== 0 && core().alloc_release(this.h(), slot(0), f) === 1;
  }

  isReserved(ip: string): boolean {
    const f = this.load(ip, 0);
    return f !== 0 && core().alloc_is_reserved(this.h(), slot(0), f) === 1;
  }

  /** Reserve many (e.g. the files found on disk); text outside the set is ignored. Returns newly reserved. */
  loadReserved(ips: Iterable<string>): number {
    const words: number[] = [];
    for (const ip of ips) {
      const a = parseAddr(ip);
      if (typeof a === 'number') continue;
      const u = unmap(a);
      if (u.family !== this.set.family) continue;
      if (u.family === 4) words.push(u.words[3]);
      else words.push(...u.words);
    }
    return this.bulk(Uint32Array.from(words), true);
  }

  /** Packed addresses: IPv4 one u32 each, IPv6 four u32 words (most significant first). */
  loadReservedPacked(words: Uint32Array): number {
    return this.bulk(words, true);
  }
  releasePacked(words: Uint32Array): number {
    return this.bulk(words, false);
  }

  private bulk(words: Uint32Array, on: boolean): number {
    if (words.length === 0) return 0;
    const c = core();
    const h = this.h();
    const buf = c.mem_alloc(words.length * 4);
    try {
      u32().set(words, buf >>> 2);
      const n = this.set.family === 4 ? words.length : words.length >>> 2;
      return on ? c.alloc_load(h, buf, n) : c.alloc_release_packed(h, buf, n);
    } finally {
      c.mem_free(buf);
    }
  }

  /** Release everything. */
  clear(): void {
    core().alloc_clear(this.h());
  }

  get reservedCount(): number {
    return core().alloc_count(this.h());
  }

  /** Free the Wasm memory now (the allocator is unusable afterwards). */
  dispose(): void {
    if (this.handle === 0) return;
    registry.unregister(this);
    core().alloc_delete(this.handle);
    this.handle = 0;
  }
}

// The host-local allocator over a canonicalized range set, resident in Wasm memory.
// Each range has a dense bitmap for its first WINDOW addresses; reservations beyond that (large IPv6
// ranges) go to one sorted sparse array. The search order is the reference's RangeIter: resume after
// the last reserved address, walk to the end of its range, wrap through the other ranges, and try the
// last reserved address itself last. A range's own gateway is never returned.
import { rHi, rLo, loadSlot, storeSlot, cmp128, add128, sub128 } from './ip';
import { memAlloc, memFree } from './mem';
import { RANGE_BYTES, REC_START, REC_END, REC_GATEWAY, REC_SUBNET_FAMILY, REC_GATEWAY_FAMILY } from './range';

export const WINDOW: u64 = 1 << 20;

// allocator header
const H_FAMILY = 0;     // i32
const H_N = 4;          // i32 ranges
const H_COUNT = 8;      // f64 reserved addresses
const H_SPARSE = 16;    // u32 pointer to sorted (hi, lo) u64 pairs
const H_SPARSE_LEN = 20;
const H_SPARSE_CAP = 24;
const H_BYTES: usize = 32;
// per range
const A_START_HI = 0, A_START_LO = 8, A_END_HI = 16, A_END_LO = 24, A_GW_HI = 32, A_GW_LO = 40;
const A_WINDOW = 48;    // u32 bits in the dense window
const A_BITMAP = 52;    // u32 pointer
const A_GW_OFF = 56;    // u32 gateway offset inside the window, or NONE
const A_GW_SAME = 60;   // i32 1 when the gateway has the range's family (only then can it equal a candidate)
const A_BYTES: usize = 64;
const NONE: u32 = 0xFFFFFFFF;

// @ts-ignore: decorator
@inline function rangeAt(h: usize, i: i32): usize { return h + H_BYTES + <usize>i * A_BYTES; }

/** Build an allocator from n canonicalized range records (see range.ts). Returns a handle. */
export function alloc_new(recs: usize, n: i32): usize {
  const h = memAlloc(H_BYTES + <usize>n * A_BYTES);
  store<i32>(h, load<i32>(recs, REC_SUBNET_FAMILY), H_FAMILY);
  store<i32>(h, n, H_N);
  for (let i = 0; i < n; i++) {
    const rec = recs + <usize>(i * RANGE_BYTES);
    const a = rangeAt(h, i);
    loadSlot(rec + REC_START); const sHi = rHi, sLo = rLo;
    loadSlot(rec + REC_END); const eHi = rHi, eLo = rLo;
    loadSlot(rec + REC_GATEWAY); const gHi = rHi, gLo = rLo;
    store<u64>(a, sHi, A_START_HI); store<u64>(a, sLo, A_START_LO);
    store<u64>(a, eHi, A_END_HI); store<u64>(a, eLo, A_END_LO);
    store<u64>(a, gHi, A_GW_HI); store<u64>(a, gLo, A_GW_LO);
    // window = min(size, WINDOW) where size = end - start + 1
    sub128(eHi, eLo, sHi, sLo);
    const w: u64 = rHi != 0 || rLo >= WINDOW - 1 ? WINDOW : rLo + 1;
    store<u32>(a, <u32>w, A_WINDOW);
    store<u32>(a, <u32>memAlloc(<usize>(((w + 63) >> 6) << 3)), A_BITMAP);
    let gwOff = NONE;
    const gwSame = load<i32>(rec, REC_GATEWAY_FAMILY) == load<i32>(rec, REC_SUBNET_FAMILY);
    store<i32>(a, gwSame ? 1 : 0, A_GW_SAME);
    if (gwSame && cmp128(gHi, gLo, sHi, sLo) >= 0) {
      sub128(gHi, gLo, sHi, sLo);
      if (rHi == 0 && rLo < w) gwOff = <u32>rLo;
    }
    store<u32>(a, gwOff, A_GW_OFF);
  }
  return h;
}

export function alloc_delete(h: usize): void {
  const n = load<i32>(h, H_N);
  for (let i = 0; i < n; i++) memFree(<usize>load<u32>(rangeAt(h, i), A_BITMAP));
  memFree(<usize>load<u32>(h, H_SPARSE));
  memFree(h);
}

export function alloc_count(h: usize): f64 { return load<f64>(h, H_COUNT); }

export function alloc_clear(h: usize): void {
  const n = load<i32>(h, H_N);
  for (let i = 0; i < n; i++) {
    const a = rangeAt(h, i);
    const w = <usize>load<u32>(a, A_WINDOW);
    memory.fill(<usize>load<u32>(a, A_BITMAP), 0, ((w + 63) >> 6) << 3);
  }
  store<u32>(h, 0, H_SPARSE_LEN);
  store<f64>(h, 0, H_COUNT);
}

function findRange(h: usize, hi: u64, lo: u64): i32 {
  const n = load<i32>(h, H_N);
  for (let i = 0; i < n; i++) {
    const a = rangeAt(h, i);
    if (cmp128(hi, lo, load<u64>(a, A_START_HI), load<u64>(a, A_START_LO)) >= 0 &&
        cmp128(hi, lo, load<u64>(a, A_END_HI), load<u64>(a, A_END_LO)) <= 0) return i;
  }
  return -1;
}

// ---- sparse set: sorted unique (hi, lo) pairs ----
function lowerBound(h: usize, hi: u64, lo: u64): u32 {
  const base = <usize>load<u32>(h, H_SPARSE);
  let l: u32 = 0, r: u32 = load<u32>(h, H_SPARSE_LEN);
  while (l < r) {
    const m = (l + r) >>> 1;
    const e = base + (<usize>m << 4);
    if (cmp128(load<u64>(e), load<u64>(e, 8), hi, lo) < 0) l = m + 1; else r = m;
  }
  return l;
}
function sparseHas(h: usize, hi: u64, lo: u64): bool {
  const i = lowerBound(h, hi, lo);
  if (i >= load<u32>(h, H_SPARSE_LEN)) return false;
  const e = <usize>load<u32>(h, H_SPARSE) + (<usize>i << 4);
  return load<u64>(e) == hi && load<u64>(e, 8) == lo;
}
function sparseSet(h: usize, hi: u64, lo: u64, on: bool): bool {
  const i = lowerBound(h, hi, lo);
  const len = load<u32>(h, H_SPARSE_LEN);
  let base = <usize>load<u32>(h, H_SPARSE);
  const present = i < len && load<u64>(base + (<usize>i << 4)) == hi && load<u64>(base + (<usize>i << 4), 8) == lo;
  if (on == present) return false;
  if (on) {
    const cap = load<u32>(h, H_SPARSE_CAP);
    if (len == cap) {
      const ncap: u32 = cap == 0 ? 64 : cap * 2;
      const nb = memAlloc(<usize>ncap << 4);
      if (len) memory.copy(nb, base, <usize>len << 4);
      memFree(base);
      base = nb;
      store<u32>(h, <u32>nb, H_SPARSE);
      store<u32>(h, ncap, H_SPARSE_CAP);
    }
    const at = base + (<usize>i << 4);
    memory.copy(at + 16, at, <usize>(len - i) << 4);
    store<u64>(at, hi); store<u64>(at, lo, 8);
    store<u32>(h, len + 1, H_SPARSE_LEN);
  } else {
    const at = base + (<usize>i << 4);
    memory.copy(at, at + 16, <usize>(len - i - 1) << 4);
    store<u32>(h, len - 1, H_SPARSE_LEN);
  }
  return true;
}

/** Set (on) or clear a reservation; returns 1 if it changed, 0 if not, -1 outside the set. */
function setReserved(h: usize, hi: u64, lo: u64, on: bool): i32 {
  const i = findRange(h, hi, lo);
  if (i < 0) return -1;
  const a = rangeAt(h, i);
  sub128(hi, lo, load<u64>(a, A_START_HI), load<u64>(a, A_START_LO));
  let changed = false;
  if (rHi == 0 && rLo < <u64>load<u32>(a, A_WINDOW)) {
    const w = <usize>load<u32>(a, A_BITMAP) + (<usize>(rLo >> 6) << 3);
    const bit: u64 = (<u64>1) << (rLo & 63);
    const word = load<u64>(w);
    if (((word & bit) != 0) != on) {
      store<u64>(w, on ? word | bit : word & ~bit);
      changed = true;
    }
  } else {
    changed = sparseSet(h, hi, lo, on);
  }
  if (!changed) return 0;
  store<f64>(h, load<f64>(h, H_COUNT) + (on ? 1 : -1), H_COUNT);
  return 1;
}

function isReserved(h: usize, hi: u64, lo: u64): i32 {
  const i = findRange(h, hi, lo);
  if (i < 0) return -1;
  const a = rangeAt(h, i);
  sub128(hi, lo, load<u64>(a, A_START_HI), load<u64>(a, A_START_LO));
  if (rHi == 0 && rLo < <u64>load<u32>(a, A_WINDOW)) {
    const word = load<u64>(<usize>load<u32>(a, A_BITMAP) + (<usize>(rLo >> 6) << 3));
    return <i32>((word >> (rLo & 63)) & 1);
  }
  return sparseHas(h, hi, lo) ? 1 : 0;
}

/** First clear bit in [from, to] of a bitmap, or -1. */
function findClear(bm: usize, from: u32, to: u32): i64 {
  let w = from >>> 6;
  const last = to >>> 6;
  let word = ~load<u64>(bm + (<usize>w << 3)) & ((~(<u64>0)) << <u64>(from & 63));
  while (true) {
    if (w == last) {
      const top = to & 63;
      if (top != 63) word &= ((<u64>1) << <u64>(top + 1)) - 1;
      return word != 0 ? <i64>((<u64>w << 6) + ctz(word)) : -1;
    }
    if (word != 0) return <i64>((<u64>w << 6) + ctz(word));
    w++;
    word = ~load<u64>(bm + (<usize>w << 3));
  }
  return -1;
}

/** First free, non-gateway address of range i within [a, b] (inclusive, a <= b) into rHi/rLo. */
function freeIn(h: usize, i: i32, aHi: u64, aLo: u64, bHi: u64, bLo: u64): bool {
  const r = rangeAt(h, i);
  const sHi = load<u64>(r, A_START_HI), sLo = load<u64>(r, A_START_LO);
  const win = <u64>load<u32>(r, A_WINDOW);
  sub128(aHi, aLo, sHi, sLo);
  if (rHi == 0 && rLo < win) {
    let from = <u32>rLo;
    sub128(bHi, bLo, sHi, sLo);
    const to = rHi == 0 && rLo < win ? <u32>rLo : <u32>(win - 1);
    const bm = <usize>load<u32>(r, A_BITMAP);
    const gw = load<u32>(r, A_GW_OFF);
    while (from <= to) {
      const z = findClear(bm, from, to);
      if (z < 0) break;
      if (<u32>z == gw) { from = <u32>z + 1; continue; }
      add128(sHi, sLo, 0, <u64>z);
      return true;
    }
    // continue beyond the window
    add128(sHi, sLo, 0, win);
    if (cmp128(rHi, rLo, bHi, bLo) > 0) return false;
    aHi = rHi; aLo = rLo;
  }
  const gwSame = load<i32>(r, A_GW_SAME) != 0;
  const gHi = load<u64>(r, A_GW_HI), gLo = load<u64>(r, A_GW_LO);
  const base = <usize>load<u32>(h, H_SPARSE);
  const len = load<u32>(h, H_SPARSE_LEN);
  let idx = lowerBound(h, aHi, aLo);
  let cHi = aHi, cLo = aLo;
  while (true) {
    while (idx < len && cmp128(load<u64>(base + (<usize>idx << 4)), load<u64>(base + (<usize>idx << 4), 8), cHi, cLo) < 0) idx++;
    const taken = idx < len && load<u64>(base + (<usize>idx << 4)) == cHi && load<u64>(base + (<usize>idx << 4), 8) == cLo;
    if (!taken && !(gwSame && cHi == gHi && cLo == gLo)) { rHi = cHi; rLo = cLo; return true; }
    if (cHi == bHi && cLo == bLo) return false;
    add128(cHi, cLo, 0, 1);
    cHi = rHi; cLo = rLo;
  }
  return false;
}

/** Reference iteration order; found address into rHi/rLo. */
function nextFree(h: usize, hasLast: bool, lHi: u64, lLo: u64): bool {
  const n = load<i32>(h, H_N);
  const li = hasLast ? findRange(h, lHi, lLo) : -1;
  if (li < 0) {
    for (let i = 0; i < n; i++) {
      const r = rangeAt(h, i);
      if (freeIn(h, i, load<u64>(r, A_START_HI), load<u64>(r, A_START_LO), load<u64>(r, A_END_HI), load<u64>(r, A_END_LO))) return true;
    }
    return false;
  }
  const lr = rangeAt(h, li);
  const eHi = load<u64>(lr, A_END_HI), eLo = load<u64>(lr, A_END_LO);
  if (!(lHi == eHi && lLo == eLo)) {
    add128(lHi, lLo, 0, 1);
    if (freeIn(h, li, rHi, rLo, eHi, eLo)) return true;
  }
  for (let k = 1; k < n; k++) {
    const i = (li + k) % n;
    const r = rangeAt(h, i);
    if (freeIn(h, i, load<u64>(r, A_START_HI), load<u64>(r, A_START_LO), load<u64>(r, A_END_HI), load<u64>(r, A_END_LO))) return true;
  }
  return freeIn(h, li, load<u64>(lr, A_START_HI), load<u64>(lr, A_START_LO), lHi, lLo);
}

// ---- ABI ----
function familyOk(h: usize, family: i32): bool { return load<i32>(h, H_FAMILY) == family; }

/** Next free address after `last` (hasLast 0: from the first range's start) into out; 1 found, 0 exhausted. */
export function alloc_next(h: usize, last: usize, lastFamily: i32, out: usize): i32 {
  let hasLast = false, lHi: u64 = 0, lLo: u64 = 0;
  if (last != 0 && familyOk(h, lastFamily)) { loadSlot(last); hasLast = true; lHi = rHi; lLo = rLo; }
  if (!nextFree(h, hasLast, lHi, lLo)) return 0;
  storeSlot(out, rHi, rLo);
  return 1;
}

// Filling: allocating repeatedly, each time resuming after the previous allocation, takes the free
// addresses of the cyclic order (ranges in index order) one after another, starting after `last`.
// So a run of allocations is one pass over that order, which the dense part does a word at a time.
let fillCount: i32 = 0;
let fillHi: u64 = 0;
let fillLo: u64 = 0;
let sparseFilled: i32 = 0;  // allocations of this run already counted by setReserved

/** Reserve up to `max` free, non-gateway addresses of range i within [a, b] in order (a <= b). */
function fillIn(h: usize, i: i32, aHi: u64, aLo: u64, bHi: u64, bLo: u64, max: i32): void {
  const r = rangeAt(h, i);
  const sHi = load<u64>(r, A_START_HI), sLo = load<u64>(r, A_START_LO);
  const win = <u64>load<u32>(r, A_WINDOW);
  sub128(aHi, aLo, sHi, sLo);
  if (rHi == 0 && rLo < win) {
    const from = <u32>rLo;
    sub128(bHi, bLo, sHi, sLo);
    const to = rHi == 0 && rLo < win ? <u32>rLo : <u32>(win - 1);
    const bm = <usize>load<u32>(r, A_BITMAP);
    const gw = load<u32>(r, A_GW_OFF);
    let w = from >>> 6;
    const lastW = to >>> 6;
    let lastOff: i64 = -1;
    const gwWord = gw != NONE ? gw >>> 6 : NONE;
    const firstW = w;
    while (w <= lastW && fillCount < max) {
      const p = bm + (<usize>w << 3);
      const word = load<u64>(p);
      let free = ~word;
      if (free != 0 && (w == firstW || w == lastW || w == gwWord)) {
        // edge words: keep only offsets within [from, to] and never the gateway
        if (w == firstW) free &= (~(<u64>0)) << <u64>(from & 63);
        if (w == lastW && (to & 63) != 63) free &= ((<u64>1) << <u64>((to & 63) + 1)) - 1;
        if (w == gwWord) free &= ~((<u64>1) << <u64>(gw & 63));
      }
      if (free != 0) {
        const room = max - fillCount;
        let n = <i32>popcnt(free);
        if (n > room) {
          // keep only the lowest `room` free bits
          let keep: u64 = 0;
          for (let k = 0; k < room; k++) { const low = free & (0 - free); keep |= low; free ^= low; }
          free = keep;
          n = room;
        }
        store<u64>(p, word | free);
        fillCount += n;
        lastOff = <i64>((<u64>w << 6) + 63 - clz(free));
      }
      w++;
    }
    if (lastOff >= 0) { add128(sHi, sLo, 0, <u64>lastOff); fillHi = rHi; fillLo = rLo; }
    if (fillCount >= max) return;
    add128(sHi, sLo, 0, win);
    if (cmp128(rHi, rLo, bHi, bLo) > 0) return;
    aHi = rHi; aLo = rLo;
  }
  // beyond the window: one address at a time through the sparse set
  while (fillCount < max && freeIn(h, i, aHi, aLo, bHi, bLo)) {
    const fHi = rHi, fLo = rLo;
    setReserved(h, fHi, fLo, true);
    fillCount++;
    sparseFilled++;
    fillHi = fHi; fillLo = fLo;
    if (fHi == bHi && fLo == bLo) return;
    add128(fHi, fLo, 0, 1);
    aHi = rHi; aLo = rLo;
  }
}

/**
 * Up to max allocations in a row, each resuming after the previous one (the reference order with
 * last_reserved_ip advancing); the last one allocated into out. Returns how many were allocated.
 */
export function alloc_many(h: usize, max: i32, last: usize, lastFamily: i32, out: usize): i32 {
  const n = load<i32>(h, H_N);
  fillCount = 0;
  sparseFilled = 0;
  let li = -1, lHi: u64 = 0, lLo: u64 = 0;
  if (last != 0 && familyOk(h, lastFamily)) { loadSlot(last); lHi = rHi; lLo = rLo; li = findRange(h, lHi, lLo); }
  if (li < 0) {
    for (let i = 0; i < n && fillCount < max; i++) {
      const r = rangeAt(h, i);
      fillIn(h, i, load<u64>(r, A_START_HI), load<u64>(r, A_START_LO), load<u64>(r, A_END_HI), load<u64>(r, A_END_LO), max);
    }
  } else {
    const lr = rangeAt(h, li);
    const eHi = load<u64>(lr, A_END_HI), eLo = load<u64>(lr, A_END_LO);
    if (!(lHi == eHi && lLo == eLo)) { add128(lHi, lLo, 0, 1); fillIn(h, li, rHi, rLo, eHi, eLo, max); }
    for (let k = 1; k < n && fillCount < max; k++) {
      const i = (li + k) % n;
      const r = rangeAt(h, i);
      fillIn(h, i, load<u64>(r, A_START_HI), load<u64>(r, A_START_LO), load<u64>(r, A_END_HI), load<u64>(r, A_END_LO), max);
    }
    if (fillCount < max) fillIn(h, li, load<u64>(lr, A_START_HI), load<u64>(lr, A_START_LO), lHi, lLo, max);
  }
  // the dense part set bits directly: account for them (the sparse part counted through setReserved)
  store<f64>(h, load<f64>(h, H_COUNT) + <f64>(fillCount - sparseFilled), H_COUNT);
  if (fillCount > 0) storeSlot(out, fillHi, fillLo);
  return fillCount;
}

export function alloc_reserve(h: usize, slot: usize, family: i32): i32 {
  if (!familyOk(h, family)) return -1;
  loadSlot(slot);
  return setReserved(h, rHi, rLo, true);
}
export function alloc_release(h: usize, slot: usize, family: i32): i32 {
  if (!familyOk(h, family)) return -1;
  loadSlot(slot);
  return setReserved(h, rHi, rLo, false);
}
export function alloc_is_reserved(h: usize, slot: usize, family: i32): i32 {
  if (!familyOk(h, family)) return -1;
  loadSlot(slot);
  return isReserved(h, rHi, rLo);
}
/** Index of the range holding the address (start/end aware), or -1. */
export function alloc_range_of(h: usize, slot: usize, family: i32): i32 {
  if (!familyOk(h, family)) return -1;
  loadSlot(slot);
  return findRange(h, rHi, rLo);
}

/** Bulk set/clear from packed addresses (IPv4: one u32 each; IPv6: four u32 words, most significant first). */
function bulk(h: usize, p: usize, n: i32, on: bool): i32 {
  let changed = 0;
  if (load<i32>(h, H_FAMILY) == 4) {
    // IPv4 fast path: remember the range of the previous address, work on the bitmap directly
    let s: u32 = 0, span: u32 = 0, win: u32 = 0, bm: usize = 0, cached = false, dense = 0;
    for (let i = 0; i < n; i++) {
      const v = load<u32>(p + (<usize>i << 2));
      if (!cached || v - s > span) {
        const k = findRange(h, 0, <u64>v);
        if (k < 0) { cached = false; continue; }
        const r = rangeAt(h, k);
        s = <u32>load<u64>(r, A_START_LO);
        span = <u32>load<u64>(r, A_END_LO) - s;
        win = load<u32>(r, A_WINDOW);
        bm = <usize>load<u32>(r, A_BITMAP);
        cached = true;
      }
      const off = v - s;
      if (off < win) {
        const at = bm + (<usize>(off >>> 6) << 3);
        const bit = (<u64>1) << <u64>(off & 63);
        const word = load<u64>(at);
        if (((word & bit) != 0) != on) { store<u64>(at, word ^ bit); dense++; }
      } else if (setReserved(h, 0, <u64>v, on) == 1) {
        changed++;
      }
    }
    store<f64>(h, load<f64>(h, H_COUNT) + <f64>(on ? dense : -dense), H_COUNT);
    return changed + dense;
  }
  for (let i = 0; i < n; i++) {
    loadSlot(p + (<usize>i << 4));
    if (setReserved(h, rHi, rLo, on) == 1) changed++;
  }
  return changed;
}
export function alloc_load(h: usize, p: usize, n: i32): i32 { return bulk(h, p, n, true); }
export function alloc_release_packed(h: usize, p: usize, n: i32): i32 { return bulk(h, p, n, false); }

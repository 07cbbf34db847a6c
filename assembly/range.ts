// host-local range semantics (containernetworking/plugins v1.9.1 host-local range.go, Canonicalize): defaults,
// validation and overlap, over range records.
//
// A range record (RANGE_BYTES) as the host writes it:
//   +0 subnet slot (address as written)  +16 rangeStart slot  +32 rangeEnd slot  +48 gateway slot
//   +64 subnet family  +68 prefix  +72 flags (1 start given, 2 end given, 4 gateway given)
//   +76 start family  +80 end family  +84 gateway family
// range_canon fills in the defaults and unmaps IPv4-mapped addresses, like Go's canonicalizeIP.
import { rHi, rLo, loadSlot, storeSlot, hostMask, familyBits, cmp128, add128, sub128 } from './ip';
import { inPrefix } from './cidr';

export const RANGE_BYTES: i32 = 96;
export const R_OK: i32 = 0;
export const R_TOO_SMALL: i32 = 1;
export const R_HOST_BITS: i32 = 2;
export const R_START_NOT_IN: i32 = 3;
export const R_END_NOT_IN: i32 = 4;
export const R_VERSION_MISMATCH: i32 = 5;

const F_START: i32 = 1;
const F_END: i32 = 2;
const F_GW: i32 = 4;

function unmapAt(rec: usize, slotOff: usize, famOff: usize): void {
  if (load<i32>(rec + famOff) != 6) return;
  loadSlot(rec + slotOff);
  if (rHi == 0 && (rLo >>> 32) == 0xFFFF) {
    storeSlot(rec + slotOff, 0, rLo & 0xFFFFFFFF);
    store<i32>(rec + famOff, 4);
  }
}

/** Go Range.Contains: same family, inside the subnet, and inside start/end when those are set. */
function containsRec(rec: usize, hi: u64, lo: u64, fam: i32, flags: i32): bool {
  const family = load<i32>(rec, 64);
  if (fam != family) return false;
  loadSlot(rec);
  if (!inPrefix(rHi, rLo, load<i32>(rec, 68), family, hi, lo)) return false;
  if (flags & F_START) { loadSlot(rec + 16); if (cmp128(hi, lo, rHi, rLo) < 0) return false; }
  if (flags & F_END) { loadSlot(rec + 32); if (cmp128(hi, lo, rHi, rLo) > 0) return false; }
  return true;
}

export function range_canon(rec: usize): i32 {
  let family = load<i32>(rec, 64);
  const prefix = load<i32>(rec, 68);
  let flags = load<i32>(rec, 72);
  const bits = familyBits(family);
  if (prefix > bits - 2) return R_TOO_SMALL;
  // an IPv4-mapped subnet keeps its 128-bit mask in Go but its address becomes 4 bytes
  loadSlot(rec);
  if (family == 6 && rHi == 0 && (rLo >>> 32) == 0xFFFF) return R_VERSION_MISMATCH;
  const nHi = rHi, nLo = rLo;
  hostMask(bits, prefix);
  if ((nHi & rHi) != 0 || (nLo & rLo) != 0) return R_HOST_BITS;
  add128(nHi, nLo, 0, 1);
  const firstHi = rHi, firstLo = rLo;
  if (!(flags & F_GW)) { storeSlot(rec + 48, firstHi, firstLo); store<i32>(rec, family, 84); flags |= F_GW; }
  else unmapAt(rec, 48, 84);
  if (flags & F_START) {
    unmapAt(rec, 16, 76);
    loadSlot(rec + 16);
    if (!containsRec(rec, rHi, rLo, load<i32>(rec, 76), flags)) return R_START_NOT_IN;
  } else {
    storeSlot(rec + 16, firstHi, firstLo);
    store<i32>(rec, family, 76);
    flags |= F_START;
  }
  if (flags & F_END) {
    unmapAt(rec, 32, 80);
    loadSlot(rec + 32);
    if (!containsRec(rec, rHi, rLo, load<i32>(rec, 80), flags)) return R_END_NOT_IN;
  } else {
    hostMask(bits, prefix);
    let eHi = nHi | rHi, eLo = nLo | rLo;
    if (family == 4) { sub128(eHi, eLo, 0, 1); eHi = rHi; eLo = rLo; }
    storeSlot(rec + 32, eHi, eLo);
    store<i32>(rec, family, 80);
    flags |= F_END;
  }
  store<i32>(rec, flags, 72);
  return R_OK;
}

export function range_contains(rec: usize, slot: usize, family: i32): i32 {
  loadSlot(slot);
  return containsRec(rec, rHi, rLo, family, F_START | F_END) ? 1 : 0;
}

/** Go Range.Overlaps: same family and either range's start or end inside the other. */
export function range_overlaps(a: usize, b: usize): i32 {
  const fam = load<i32>(a, 64);
  if (fam != load<i32>(b, 64)) return 0;
  loadSlot(b + 16); if (containsRec(a, rHi, rLo, fam, F_START | F_END)) return 1;
  loadSlot(b + 32); if (containsRec(a, rHi, rLo, fam, F_START | F_END)) return 1;
  loadSlot(a + 16); if (containsRec(b, rHi, rLo, fam, F_START | F_END)) return 1;
  loadSlot(a + 32); if (containsRec(b, rHi, rLo, fam, F_START | F_END)) return 1;
  return 0;
}

/**
 * Checks a canonicalized set: 0 = fine, 1<<16 | i = range i has another family than range 0,
 * 2<<16 | i<<8 | j = ranges i and j overlap (first pair in Go's order).
 */
export function rangeset_check(recs: usize, n: i32): i32 {
  const fam = load<i32>(recs, 64);
  for (let i = 1; i < n; i++) {
    if (load<i32>(recs + <usize>(i * RANGE_BYTES), 76) != load<i32>(recs, 76) || load<i32>(recs + <usize>(i * RANGE_BYTES), 64) != fam) {
      return (1 << 16) | i;
    }
  }
  for (let i = 0; i < n - 1; i++) {
    for (let j = i + 1; j < n; j++) {
      if (range_overlaps(recs + <usize>(i * RANGE_BYTES), recs + <usize>(j * RANGE_BYTES))) return (2 << 16) | (i << 8) | j;
    }
  }
  return 0;
}

export function rangesets_overlap(a: usize, na: i32, b: usize, nb: i32): i32 {
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      if (range_overlaps(a + <usize>(i * RANGE_BYTES), b + <usize>(j * RANGE_BYTES))) return 1;
    }
  }
  return 0;
}

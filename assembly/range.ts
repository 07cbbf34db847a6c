// host-local range semantics (containernetworking/plugins v1.9.1 host-local range.go, Canonicalize): defaults,
// validation and overlap, over range records.
// range_canon fills in the defaults and unmaps IPv4-mapped addresses, like Go's canonicalizeIP.
import { rHi, rLo, loadSlot, storeSlot, hostMask, familyBits, cmp128, add128, sub128 } from './ip';
import { inPrefix } from './cidr';

// The range record as the host writes it: the one definition of its layout. Hosts read it with range_layout().
/** Byte offset of the subnet address slot (the address as written). */
export const REC_SUBNET: i32 = 0;
/** Byte offsets of the rangeStart, rangeEnd and gateway address slots. */
export const REC_START: i32 = 16;
export const REC_END: i32 = 32;
export const REC_GATEWAY: i32 = 48;
/** Byte offsets of i32 fields: the subnet's family and prefix length, the flags (REC_F_*). */
export const REC_SUBNET_FAMILY: i32 = 64;
export const REC_PREFIX: i32 = 68;
export const REC_FLAGS: i32 = 72;
/** Byte offsets of the i32 families of rangeStart, rangeEnd and gateway (0 when not given). */
export const REC_START_FAMILY: i32 = 76;
export const REC_END_FAMILY: i32 = 80;
export const REC_GATEWAY_FAMILY: i32 = 84;
/** The record's size; records of a set lie back to back. */
export const RANGE_BYTES: i32 = 96;
/** Flags: which of rangeStart, rangeEnd and gateway the config gave (range_canon sets all three). */
export const REC_F_START: i32 = 1;
export const REC_F_END: i32 = 2;
export const REC_F_GATEWAY: i32 = 4;

/** The layout above, in this order, as i32s at `out`; returns how many (14). */
export function range_layout(out: usize): i32 {
  const fields: StaticArray<i32> = [
    RANGE_BYTES,
    REC_SUBNET,
    REC_START,
    REC_END,
    REC_GATEWAY,
    REC_SUBNET_FAMILY,
    REC_PREFIX,
    REC_FLAGS,
    REC_START_FAMILY,
    REC_END_FAMILY,
    REC_GATEWAY_FAMILY,
    REC_F_START,
    REC_F_END,
    REC_F_GATEWAY,
  ];
  for (let i = 0; i < fields.length; i++) store<i32>(out + (<usize>i << 2), fields[i]);
  return fields.length;
}

export const R_OK: i32 = 0;
export const R_TOO_SMALL: i32 = 1;
export const R_HOST_BITS: i32 = 2;
export const R_START_NOT_IN: i32 = 3;
export const R_END_NOT_IN: i32 = 4;
export const R_VERSION_MISMATCH: i32 = 5;

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
  const family = load<i32>(rec, REC_SUBNET_FAMILY);
  if (fam != family) return false;
  loadSlot(rec);
  if (!inPrefix(rHi, rLo, load<i32>(rec, REC_PREFIX), family, hi, lo)) return false;
  if (flags & REC_F_START) { loadSlot(rec + REC_START); if (cmp128(hi, lo, rHi, rLo) < 0) return false; }
  if (flags & REC_F_END) { loadSlot(rec + REC_END); if (cmp128(hi, lo, rHi, rLo) > 0) return false; }
  return true;
}

export function range_canon(rec: usize): i32 {
  let family = load<i32>(rec, REC_SUBNET_FAMILY);
  const prefix = load<i32>(rec, REC_PREFIX);
  let flags = load<i32>(rec, REC_FLAGS);
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
  if (!(flags & REC_F_GATEWAY)) { storeSlot(rec + REC_GATEWAY, firstHi, firstLo); store<i32>(rec, family, REC_GATEWAY_FAMILY); flags |= REC_F_GATEWAY; }
  else unmapAt(rec, REC_GATEWAY, REC_GATEWAY_FAMILY);
  if (flags & REC_F_START) {
    unmapAt(rec, REC_START, REC_START_FAMILY);
    loadSlot(rec + REC_START);
    if (!containsRec(rec, rHi, rLo, load<i32>(rec, REC_START_FAMILY), flags)) return R_START_NOT_IN;
  } else {
    storeSlot(rec + REC_START, firstHi, firstLo);
    store<i32>(rec, family, REC_START_FAMILY);
    flags |= REC_F_START;
  }
  if (flags & REC_F_END) {
    unmapAt(rec, REC_END, REC_END_FAMILY);
    loadSlot(rec + REC_END);
    if (!containsRec(rec, rHi, rLo, load<i32>(rec, REC_END_FAMILY), flags)) return R_END_NOT_IN;
  } else {
    hostMask(bits, prefix);
    let eHi = nHi | rHi, eLo = nLo | rLo;
    if (family == 4) { sub128(eHi, eLo, 0, 1); eHi = rHi; eLo = rLo; }
    storeSlot(rec + REC_END, eHi, eLo);
    store<i32>(rec, family, REC_END_FAMILY);
    flags |= REC_F_END;
  }
  store<i32>(rec, flags, REC_FLAGS);
  return R_OK;
}

export function range_contains(rec: usize, slot: usize, family: i32): i32 {
  loadSlot(slot);
  return containsRec(rec, rHi, rLo, family, REC_F_START | REC_F_END) ? 1 : 0;
}

/** Go Range.Overlaps: same family and either range's start or end inside the other. */
export function range_overlaps(a: usize, b: usize): i32 {
  const fam = load<i32>(a, REC_SUBNET_FAMILY);
  if (fam != load<i32>(b, REC_SUBNET_FAMILY)) return 0;
  loadSlot(b + REC_START); if (containsRec(a, rHi, rLo, fam, REC_F_START | REC_F_END)) return 1;
  loadSlot(b + REC_END); if (containsRec(a, rHi, rLo, fam, REC_F_START | REC_F_END)) return 1;
  loadSlot(a + REC_START); if (containsRec(b, rHi, rLo, fam, REC_F_START | REC_F_END)) return 1;
  loadSlot(a + REC_END); if (containsRec(b, rHi, rLo, fam, REC_F_START | REC_F_END)) return 1;
  return 0;
}

/**
 * Checks a canonicalized set: 0 = fine, 1<<16 | i = range i has another family than range 0,
 * 2<<16 | i<<8 | j = ranges i and j overlap (first pair in Go's order).
 */
export function rangeset_check(recs: usize, n: i32): i32 {
  const fam = load<i32>(recs, REC_SUBNET_FAMILY);
  for (let i = 1; i < n; i++) {
    const rec = recs + <usize>(i * RANGE_BYTES);
    if (load<i32>(rec, REC_START_FAMILY) != load<i32>(recs, REC_START_FAMILY) || load<i32>(rec, REC_SUBNET_FAMILY) != fam) {
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

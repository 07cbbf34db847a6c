// Prefix math over address slots: network, last address, mask, containment, overlap, nth address.
import { rHi, rLo, loadSlot, storeSlot, hostMask, familyBits, cmp128, add128, sub128, parseAddr, parseCidrText, formatAddr } from './ip';

export function ip_parse(p: usize, len: i32, out: usize): i32 {
  const r = parseAddr(p, len);
  if (r > 0) storeSlot(out, rHi, rLo);
  return r;
}

export function ip_format(slot: usize, family: i32, out: usize): i32 {
  loadSlot(slot);
  return formatAddr(family, rHi, rLo, out);
}

/** Next address (wrapping inside the family); returns 0 when it wrapped. */
export function ip_next(slot: usize, family: i32, out: usize): i32 {
  loadSlot(slot);
  if (family == 4) {
    const v = <u32>rLo + 1;
    storeSlot(out, 0, <u64>v);
    return v == 0 ? 0 : 1;
  }
  add128(rHi, rLo, 0, 1);
  storeSlot(out, rHi, rLo);
  return rHi == 0 && rLo == 0 ? 0 : 1;
}

export function ip_prev(slot: usize, family: i32, out: usize): i32 {
  loadSlot(slot);
  if (family == 4) {
    const v = <u32>rLo;
    storeSlot(out, 0, <u64>(v - 1));
    return v == 0 ? 0 : 1;
  }
  const wrapped = rHi == 0 && rLo == 0;
  sub128(rHi, rLo, 0, 1);
  storeSlot(out, rHi, rLo);
  return wrapped ? 0 : 1;
}

export function ip_cmp(a: usize, b: usize): i32 {
  loadSlot(a);
  const aHi = rHi, aLo = rLo;
  loadSlot(b);
  return cmp128(aHi, aLo, rHi, rLo);
}

/** Parse `addr/prefix`; returns family<<8 | prefix (address as written into out) or a reason code. */
export function cidr_parse(p: usize, len: i32, out: usize): i32 {
  const r = parseCidrText(p, len);
  if (r > 0) storeSlot(out, rHi, rLo);
  return r;
}

export function cidr_network(slot: usize, family: i32, prefix: i32, out: usize): void {
  loadSlot(slot);
  const hi = rHi, lo = rLo;
  hostMask(familyBits(family), prefix);
  storeSlot(out, hi & ~rHi, lo & ~rLo);
}

/** Last address of the prefix (the IPv4 broadcast). */
export function cidr_last(slot: usize, family: i32, prefix: i32, out: usize): void {
  loadSlot(slot);
  const hi = rHi, lo = rLo;
  hostMask(familyBits(family), prefix);
  storeSlot(out, hi | rHi, lo | rLo);
}

export function cidr_mask(family: i32, prefix: i32, out: usize): void {
  hostMask(familyBits(family), prefix);
  if (family == 4) storeSlot(out, 0, <u64>(~(<u32>rLo)));
  else storeSlot(out, ~rHi, ~rLo);
}

export function cidr_host_bits(slot: usize, family: i32, prefix: i32): i32 {
  loadSlot(slot);
  const hi = rHi, lo = rLo;
  hostMask(familyBits(family), prefix);
  return (hi & rHi) != 0 || (lo & rLo) != 0 ? 1 : 0;
}

export function inPrefix(nHi: u64, nLo: u64, prefix: i32, family: i32, hi: u64, lo: u64): bool {
  hostMask(familyBits(family), prefix);
  return ((nHi ^ hi) & ~rHi) == 0 && ((nLo ^ lo) & ~rLo) == 0;
}

export function cidr_contains(net: usize, family: i32, prefix: i32, ip: usize, ipFamily: i32): i32 {
  if (family != ipFamily) return 0;
  loadSlot(net);
  const nHi = rHi, nLo = rLo;
  loadSlot(ip);
  return inPrefix(nHi, nLo, prefix, family, rHi, rLo) ? 1 : 0;
}

/** Two prefixes overlap iff the shorter one contains the other's address. */
export function cidr_overlaps(a: usize, fa: i32, pa: i32, b: usize, fb: i32, pb: i32): i32 {
  if (fa != fb) return 0;
  const shorter = pa <= pb ? a : b;
  const other = pa <= pb ? b : a;
  return cidr_contains(shorter, fa, pa <= pb ? pa : pb, other, fa);
}

/** network + n (or last - n when fromEnd); returns 0 when the result leaves the prefix. */
export function cidr_nth(net: usize, family: i32, prefix: i32, n: usize, fromEnd: i32, out: usize): i32 {
  loadSlot(n);
  const nHi = rHi, nLo = rLo;
  hostMask(familyBits(family), prefix);
  const hHi = rHi, hLo = rLo;
  if (cmp128(nHi, nLo, hHi, hLo) > 0) return 0;
  loadSlot(net);
  const baseHi = rHi & ~hHi, baseLo = rLo & ~hLo;
  if (fromEnd) {
    sub128(baseHi | hHi, baseLo | hLo, nHi, nLo);
  } else {
    add128(baseHi, baseLo, nHi, nLo);
  }
  storeSlot(out, rHi, rLo);
  return 1;
}

/** Count the IPv4 addresses (packed u32 words at addrs) inside net/prefix: a resident batch. */
export function contains_batch_v4(net: usize, prefix: i32, addrs: usize, n: i32): i32 {
  loadSlot(net);
  const mask: u32 = prefix == 0 ? 0 : (~(<u32>0)) << <u32>(32 - prefix);
  const want = <u32>rLo & mask;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if ((load<u32>(addrs + (<usize>i << 2)) & mask) == want) count++;
  }
  return count;
}

// for tests of the text round trip without the host: parse then format into out
export function ip_canon(p: usize, len: i32, out: usize): i32 {
  const fam = parseAddr(p, len);
  if (fam < 0) return fam;
  return formatAddr(fam, rHi, rLo, out);
}


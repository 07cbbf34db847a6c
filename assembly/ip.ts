// 128-bit addresses as (hi, lo) u64 pairs; IPv4 lives in the low 32 bits of lo (family kept separately).
// Text parsing follows Go's net/netip rules (what the reference plugins accept); formatting is canonical
// (dotted quad, RFC 5952 for IPv6 with `::ffff:a.b.c.d` for IPv4-mapped addresses).

// Return registers for 128-bit results (AssemblyScript functions return one value).
export let rHi: u64 = 0;
export let rLo: u64 = 0;

// Reason codes for rejected text (negative so they never collide with a family or a prefix).
export const E_EMPTY: i32 = -1;
export const E_CHAR: i32 = -2;
export const E_V4_FIELD: i32 = -3;
export const E_V6_GROUP: i32 = -4;
export const E_V6_SHAPE: i32 = -5;
export const E_ZONE: i32 = -6;
export const E_NO_SLASH: i32 = -7;
export const E_PREFIX: i32 = -8;

// ---- address slots at the ABI: four u32 words, most significant first; IPv4 in word 3 ----
export function loadSlot(p: usize): void {
  rHi = (<u64>load<u32>(p) << 32) | <u64>load<u32>(p, 4);
  rLo = (<u64>load<u32>(p, 8) << 32) | <u64>load<u32>(p, 12);
}
export function storeSlot(p: usize, hi: u64, lo: u64): void {
  store<u32>(p, <u32>(hi >>> 32));
  store<u32>(p, <u32>hi, 4);
  store<u32>(p, <u32>(lo >>> 32), 8);
  store<u32>(p, <u32>lo, 12);
}

// ---- 128-bit helpers ----
export function cmp128(aHi: u64, aLo: u64, bHi: u64, bLo: u64): i32 {
  if (aHi != bHi) return aHi < bHi ? -1 : 1;
  if (aLo != bLo) return aLo < bLo ? -1 : 1;
  return 0;
}
export function add128(aHi: u64, aLo: u64, bHi: u64, bLo: u64): void {
  const lo = aLo + bLo;
  rHi = aHi + bHi + (lo < aLo ? 1 : 0);
  rLo = lo;
}
export function sub128(aHi: u64, aLo: u64, bHi: u64, bLo: u64): void {
  rHi = aHi - bHi - (aLo < bLo ? 1 : 0);
  rLo = aLo - bLo;
}
/** Host bits of a prefix of `prefix` bits in a `bits`-wide family, as a 128-bit value (into rHi/rLo). */
export function hostMask(bits: i32, prefix: i32): void {
  const h = bits - prefix; // number of host bits, 0..128
  if (h <= 0) { rHi = 0; rLo = 0; return; }
  if (h >= 128) { rHi = ~(<u64>0); rLo = ~(<u64>0); return; }
  if (h >= 64) { rLo = ~(<u64>0); rHi = h == 64 ? 0 : (~(<u64>0)) >>> <u64>(128 - h); return; }
  rHi = 0;
  rLo = (~(<u64>0)) >>> <u64>(64 - h);
}
export function familyBits(family: i32): i32 { return family == 4 ? 32 : 128; }

// ---- parsing ----
function isDigit(c: u32): bool { return c >= 48 && c <= 57; }
function hexVal(c: u32): i32 {
  if (c >= 48 && c <= 57) return <i32>(c - 48);
  if (c >= 97 && c <= 102) return <i32>(c - 87);
  if (c >= 65 && c <= 70) return <i32>(c - 55);
  return -1;
}

/** Dotted quad in [p, p+len) → u32 in rLo, or a reason code. */
function parseV4(p: usize, len: i32): i32 {
  let val: u32 = 0;
  let digits = 0;
  let fields = 0;
  let acc: u32 = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (isDigit(c)) {
      if (digits == 1 && val == 0) return E_V4_FIELD; // leading zero
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) return E_V4_FIELD;
    } else if (c == 46) {
      if (digits == 0 || i == len - 1) return E_V4_FIELD;
      if (fields == 3) return E_V4_FIELD;
      acc = (acc << 8) | val;
      fields++;
      val = 0;
      digits = 0;
    } else {
      return E_CHAR;
    }
  }
  if (fields < 3 || digits == 0) return E_V4_FIELD;
  rHi = 0;
  rLo = <u64>((acc << 8) | val);
  return 4;
}

// 8 groups of 16 bits, worked on in a small static area
const groups = memory.data(16);

function parseV6(p: usize, len: i32): i32 {
  for (let k = 0; k < 8; k++) store<u16>(groups + (<usize>k << 1), 0);
  for (let i = 0; i < len; i++) if (load<u8>(p + <usize>i) == 37) return E_ZONE; // '%'
  let s = 0;
  let n = 0;          // groups written
  let ellipsis = -1;  // group index of '::'
  if (len >= 2 && load<u8>(p) == 58 && load<u8>(p + 1) == 58) {
    ellipsis = 0;
    s = 2;
    if (len == 2) { rHi = 0; rLo = 0; return 6; }
  }
  while (n < 8) {
    let off = 0;
    let acc: i32 = 0;
    while (s + off < len) {
      const h = hexVal(<u32>load<u8>(p + <usize>(s + off)));
      if (h < 0) break;
      if (off > 3) return E_V6_GROUP;
      acc = (acc << 4) + h;
      off++;
    }
    if (off == 0) return s < len ? E_CHAR : E_V6_GROUP;
    if (s + off < len && load<u8>(p + <usize>(s + off)) == 46) {
      // trailing embedded IPv4
      if (ellipsis < 0 && n != 6) return E_V6_SHAPE;
      if (n + 2 > 8) return E_V6_SHAPE;
      const r = parseV4(p + <usize>s, len - s);
      if (r < 0) return r;
      const v = <u32>rLo;
      store<u16>(groups + (<usize>n << 1), <u16>(v >>> 16));
      store<u16>(groups + (<usize>(n + 1) << 1), <u16>v);
      n += 2;
      s = len;
      break;
    }
    store<u16>(groups + (<usize>n << 1), <u16>acc);
    n++;
    s += off;
    if (s == len) break;
    if (load<u8>(p + <usize>s) != 58) return E_CHAR;
    if (s + 1 == len) return E_V6_SHAPE;
    s++;
    if (load<u8>(p + <usize>s) == 58) {
      if (ellipsis >= 0) return E_V6_SHAPE;
      ellipsis = n;
      s++;
      if (s == len) break;
    }
  }
  if (s != len) return E_V6_SHAPE;
  if (n < 8) {
    if (ellipsis < 0) return E_V6_SHAPE;
    const shift = 8 - n;
    for (let j = n - 1; j >= ellipsis; j--) {
      store<u16>(groups + (<usize>(j + shift) << 1), load<u16>(groups + (<usize>j << 1)));
    }
    for (let j = ellipsis; j < ellipsis + shift; j++) store<u16>(groups + (<usize>j << 1), 0);
  } else if (ellipsis >= 0) {
    return E_V6_SHAPE; // '::' must stand for at least one group
  }
  let hi: u64 = 0;
  let lo: u64 = 0;
  for (let k = 0; k < 4; k++) hi = (hi << 16) | <u64>load<u16>(groups + (<usize>k << 1));
  for (let k = 4; k < 8; k++) lo = (lo << 16) | <u64>load<u16>(groups + (<usize>k << 1));
  rHi = hi;
  rLo = lo;
  return 6;
}

/** Parse address text; returns 4 or 6 (value in rHi/rLo) or a negative reason code. */
export function parseAddr(p: usize, len: i32): i32 {
  if (len <= 0) return E_EMPTY;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 58) return parseV6(p, len);
    if (c == 46) return parseV4(p, len);
  }
  return isDigit(<u32>load<u8>(p)) ? E_V4_FIELD : E_CHAR;
}

/** Parse `addr/prefix` (Go net.ParseCIDR); returns family<<8 | prefix, value in rHi/rLo (not masked). */
export function parseCidrText(p: usize, len: i32): i32 {
  if (len <= 0) return E_EMPTY;
  let slash = -1;
  for (let i = 0; i < len; i++) if (load<u8>(p + <usize>i) == 47) { slash = i; break; }
  if (slash < 0) return E_NO_SLASH;
  const fam = parseAddr(p, slash);
  if (fam < 0) return fam;
  const digitsLen = len - slash - 1;
  if (digitsLen <= 0) return E_PREFIX;
  let v: i32 = 0;
  for (let i = slash + 1; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (!isDigit(c)) return E_PREFIX;
    v = v * 10 + <i32>(c - 48);
    if (v > 0xFFFF) return E_PREFIX;
  }
  if (v > familyBits(fam)) return E_PREFIX;
  return (fam << 8) | v;
}

// ---- formatting ----
const mappedPrefix = memory.data<u8>([58, 58, 102, 102, 102, 102, 58]); // "::ffff:"

function putDec(o: usize, v: u32): usize {
  if (v >= 100) { store<u8>(o, <u8>(48 + v / 100)); o++; }
  if (v >= 10) { store<u8>(o, <u8>(48 + (v / 10) % 10)); o++; }
  store<u8>(o, <u8>(48 + v % 10));
  return o + 1;
}
function putV4(o: usize, v: u32): usize {
  o = putDec(o, v >>> 24); store<u8>(o, 46); o++;
  o = putDec(o, (v >>> 16) & 255); store<u8>(o, 46); o++;
  o = putDec(o, (v >>> 8) & 255); store<u8>(o, 46); o++;
  return putDec(o, v & 255);
}
function putHex(o: usize, v: u32): usize {
  let started = false;
  for (let sh: i32 = 12; sh >= 0; sh -= 4) {
    const d = (v >>> <u32>sh) & 15;
    if (d != 0 || started || sh == 0) {
      store<u8>(o, <u8>(d < 10 ? 48 + d : 87 + d));
      o++;
      started = true;
    }
  }
  return o;
}
function group(hi: u64, lo: u64, k: i32): u32 {
  return k < 4 ? <u32>((hi >>> <u64>((3 - k) * 16)) & 0xFFFF) : <u32>((lo >>> <u64>((7 - k) * 16)) & 0xFFFF);
}

/** Write canonical text at o; returns its length. */
export function formatAddr(family: i32, hi: u64, lo: u64, o: usize): i32 {
  const start = o;
  if (family == 4) return <i32>(putV4(o, <u32>lo) - start);
  if (hi == 0 && (lo >>> 32) == 0xFFFF) {
    memory.copy(o, mappedPrefix, 7);
    return <i32>(putV4(o + 7, <u32>lo) - start);
  }
  // longest run of zero groups (at least 2), the first one on ties
  let bestAt = -1, bestLen = 0, runAt = -1, runLen = 0;
  for (let k = 0; k < 8; k++) {
    if (group(hi, lo, k) == 0) {
      if (runAt < 0) { runAt = k; runLen = 0; }
      runLen++;
      if (runLen > bestLen) { bestLen = runLen; bestAt = runAt; }
    } else {
      runAt = -1;
    }
  }
  if (bestLen < 2) bestAt = -1;
  let k = 0;
  while (k < 8) {
    if (k == bestAt) {
      store<u8>(o, 58); o++;
      if (k == 0) { store<u8>(o, 58); o++; }
      k += bestLen;
      if (k == 8) break;
      continue;
    }
    o = putHex(o, group(hi, lo, k));
    if (k < 7) { store<u8>(o, 58); o++; }
    k++;
  }
  return <i32>(o - start);
}

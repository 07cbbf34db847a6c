// Kubernetes resource quantities (apimachinery's ParseQuantity grammar) and the tbf parameters of the
// bandwidth plugin (containernetworking/plugins v1.9.1 plugins/meta/bandwidth/ifb_creator.go).
import { memAlloc } from './mem';

export const Q_OK: i32 = 0;
export const Q_FORMAT: i32 = 1;  // "quantities must match the regular expression ..."
export const Q_SUFFIX: i32 = 2;  // "unable to parse quantity's suffix"

const MAX_DIGITS: i32 = 2048;
let digitBuf: usize = 0;

function isDigit(c: u32): bool { return c >= 48 && c <= 57; }
function isSuffixChar(c: u32): bool {
  // eEinumkKMGTP
  return c == 101 || c == 69 || c == 105 || c == 110 || c == 117 || c == 109 || c == 107 || c == 75 ||
    c == 77 || c == 71 || c == 84 || c == 80;
}

const CAP: f64 = 9223372036854775807.0; // Quantity's cap: max int64

/**
 * Parse a quantity in [p, p+len); the value rounded up to an integer (capped at 2^63-1, sign kept) goes
 * to out as f64. Returns Q_OK, Q_FORMAT or Q_SUFFIX.
 */
export function quantity_parse(p: usize, len: i32, out: usize): i32 {
  if (len <= 0) return Q_FORMAT;
  if (digitBuf == 0) digitBuf = memAlloc(<usize>(MAX_DIGITS + 128));
  let pos = 0;
  let negative = false;
  const c0 = <u32>load<u8>(p);
  if (c0 == 45) { negative = true; pos++; } else if (c0 == 43) { pos++; }
  // numerator and denominator digits
  const numStart = pos;
  while (pos < len && isDigit(<u32>load<u8>(p + <usize>pos))) pos++;
  const numEnd = pos;
  let denStart = pos, denEnd = pos;
  if (pos < len && load<u8>(p + <usize>pos) == 46) {
    pos++;
    denStart = pos;
    while (pos < len && isDigit(<u32>load<u8>(p + <usize>pos))) pos++;
    denEnd = pos;
  }
  // suffix: letters from the set, an optional sign, digits; anything else is a format error
  const sufStart = pos;
  while (pos < len && isSuffixChar(<u32>load<u8>(p + <usize>pos))) pos++;
  if (pos < len) {
    const c = load<u8>(p + <usize>pos);
    if (c == 45 || c == 43) pos++;
  }
  while (pos < len && isDigit(<u32>load<u8>(p + <usize>pos))) pos++;
  if (pos < len) return Q_FORMAT;
  // interpret the suffix: base 10 exponent or base 2 exponent
  const sufLen = len - sufStart;
  let exp10: i32 = 0, exp2: i32 = 0;
  const s0 = sufLen > 0 ? <u32>load<u8>(p + <usize>sufStart) : 0;
  if (sufLen == 0) {
  } else if (sufLen > 1 && (s0 == 101 || s0 == 69)) {
    // e<int>/E<int>: strconv.ParseInt (optional sign, int64 range), then truncated to int32 as Go does
    let i = sufStart + 1;
    let neg = false;
    const sc = <u32>load<u8>(p + <usize>i);
    if (sc == 45 || sc == 43) { neg = sc == 45; i++; }
    if (i >= len) return Q_SUFFIX;
    let v: u64 = 0;
    for (; i < len; i++) {
      const d = <u32>load<u8>(p + <usize>i);
      if (!isDigit(d)) return Q_SUFFIX;
      if (v > 922337203685477580) return Q_SUFFIX;
      v = v * 10 + <u64>(d - 48);
      if (v > (neg ? 9223372036854775808 : 9223372036854775807)) return Q_SUFFIX;
    }
    exp10 = <i32>(neg ? 0 - v : v);
  } else if (sufLen == 1) {
    switch (s0) {
      case 110: exp10 = -9; break;  // n
      case 117: exp10 = -6; break;  // u
      case 109: exp10 = -3; break;  // m
      case 107: exp10 = 3; break;   // k
      case 77: exp10 = 6; break;    // M
      case 71: exp10 = 9; break;    // G
      case 84: exp10 = 12; break;   // T
      case 80: exp10 = 15; break;   // P
      case 69: exp10 = 18; break;   // E
      default: return Q_SUFFIX;
    }
  } else if (sufLen == 2 && load<u8>(p + <usize>sufStart + 1) == 105) {
    switch (s0) {
      case 75: exp2 = 10; break;    // Ki
      case 77: exp2 = 20; break;    // Mi
      case 71: exp2 = 30; break;    // Gi
      case 84: exp2 = 40; break;    // Ti
      case 80: exp2 = 50; break;    // Pi
      case 69: exp2 = 60; break;    // Ei
      default: return Q_SUFFIX;
    }
  } else {
    return Q_SUFFIX;
  }
  // digits = numerator ++ denominator, most significant first, leading zeros dropped
  const buf = digitBuf;
  let n = 0;
  let fracDigits = denEnd - denStart;
  for (let i = numStart; i < numEnd; i++) {
    const d = load<u8>(p + <usize>i) - 48;
    if (n == 0 && d == 0) continue;
    if (n < MAX_DIGITS) { store<u8>(buf + <usize>n, d); n++; }
    else fracDigits--; // too many integer digits: the value is capped anyway, keep the magnitude
  }
  let sticky = false; // a non-zero digit that did not fit
  for (let i = denStart; i < denEnd; i++) {
    const d = load<u8>(p + <usize>i) - 48;
    if (n == 0 && d == 0) continue;
    if (n < MAX_DIGITS) { store<u8>(buf + <usize>n, d); n++; }
    else { fracDigits--; if (d != 0) sticky = true; }
  }
  // leading zeros of the denominator were skipped but still count as fraction digits via fracDigits
  if (n == 0) { store<f64>(out, 0); return Q_OK; }
  // multiply by 2^exp2 in decimal
  for (let k = 0; k < exp2; k++) {
    let carry: u32 = 0;
    for (let i = n - 1; i >= 0; i--) {
      const v = (<u32>load<u8>(buf + <usize>i)) * 2 + carry;
      store<u8>(buf + <usize>i, <u8>(v % 10));
      carry = v / 10;
    }
    if (carry) {
      memory.copy(buf + 1, buf, <usize>n);
      store<u8>(buf, <u8>carry);
      n++;
    }
  }
  // value = digits * 10^(exp10 - fracDigits); integer digits = n + e
  const e: i64 = <i64>exp10 - <i64>fracDigits;
  const intDigits: i64 = <i64>n + e;
  let result: f64;
  if (intDigits > 19) {
    result = CAP;
  } else {
    let v: u64 = 0;
    let roundUp = sticky;
    for (let i = 0; i < n; i++) {
      const d = <u64>load<u8>(buf + <usize>i);
      if (<i64>i < intDigits) v = v * 10 + d;
      else if (d != 0) roundUp = true;
    }
    for (let z: i64 = n; z < intDigits; z++) v = v * 10;  // e > 0: trailing zeros
    if (roundUp) v++;
    result = v > 9223372036854775807 ? CAP : <f64>v;
  }
  store<f64>(out, negative ? -result : result);
  return Q_OK;
}

// ---- tbf ----
export const TBF_OK: i32 = 0;
export const TBF_BAD_RATE: i32 = 1;
export const TBF_BAD_BURST: i32 = 2;

const TWO32: f64 = 4294967296.0;
const TWO63: f64 = 9223372036854775808.0;

/** Go's float64→uint32 on amd64: truncate to int64 (0x8000000000000000 when out of range), keep 32 bits. */
function goU32(x: f64): f64 {
  if (!isFinite(x) || x >= TWO63 || x <= -TWO63) return 0;
  const t = <i64>Math.trunc(x);
  return <f64>(<u32>t);
}
function satU32(x: f64): f64 {
  if (isNaN(x) || x <= 0) return 0;
  return x >= TWO32 - 1 ? TWO32 - 1 : Math.trunc(x);
}

/**
 * out (f64 x 7): rateBytes, burstBytes, bufferTicks, limitBytes, latencyUs, rate64 (0/1), wrapped (0/1).
 * mode 0 = reference (amd64 wrap), 1 = saturating.
 */
export function tbf_compute(rateBits: f64, burstBits: f64, tickInUsec: f64, latencyMs: f64, mode: i32, out: usize): i32 {
  const rateB = Math.floor(rateBits / 8);
  const burstB64 = Math.floor(burstBits / 8);
  if (rateB <= 0) return TBF_BAD_RATE;
  if (burstBits <= 0) return TBF_BAD_BURST;
  const latencyUs = 1000000 * (latencyMs / 1000);
  let burstB: f64, tUs: f64, buffer: f64, limit: f64;
  let wrapped = false;
  if (mode == 0) {
    burstB = goU32(burstB64);
    tUs = goU32(burstB * 1000000 / rateB);
    buffer = goU32(tUs * tickInUsec);
    limit = <f64>(<u32>goU32(rateB * latencyUs / 1000000) + <u32>burstB);
    wrapped = burstB != burstB64 || tUs != Math.trunc(burstB * 1000000 / rateB) ||
      buffer != Math.trunc(tUs * tickInUsec) || limit != Math.trunc(rateB * latencyUs / 1000000) + burstB;
  } else {
    burstB = satU32(burstB64);
    tUs = satU32(burstB * 1000000 / rateB);
    buffer = satU32(tUs * tickInUsec);
    limit = satU32(satU32(rateB * latencyUs / 1000000) + burstB);
  }
  store<f64>(out, rateB);
  store<f64>(out, burstB, 8);
  store<f64>(out, buffer, 16);
  store<f64>(out, limit, 24);
  store<f64>(out, latencyUs, 32);
  store<f64>(out, rateB >= TWO32 ? 1 : 0, 40);
  store<f64>(out, wrapped ? 1 : 0, 48);
  return TBF_OK;
}

/** /proc/net/psched (four hex words) → ticks per microsecond, 0 when unusable. */
export function psched_tick(p: usize, len: i32): f64 {
  const words = memory.data(32);
  let n = 0, i = 0;
  while (n < 4) {
    while (i < len && (load<u8>(p + <usize>i) == 32 || load<u8>(p + <usize>i) == 10 || load<u8>(p + <usize>i) == 9)) i++;
    if (i >= len) break;
    let v: u64 = 0, digits = 0;
    while (i < len) {
      const c = <u32>load<u8>(p + <usize>i);
      let d: i32 = -1;
      if (c >= 48 && c <= 57) d = <i32>(c - 48);
      else if (c >= 97 && c <= 102) d = <i32>(c - 87);
      else if (c >= 65 && c <= 70) d = <i32>(c - 55);
      if (d < 0) break;
      v = (v << 4) | <u64>d;
      digits++;
      i++;
    }
    if (digits == 0 || digits > 8) return 0;
    store<f64>(words + (<usize>n << 3), <f64>v);
    n++;
  }
  if (n < 4) return 0;
  let t2us = load<f64>(words);
  const us2t = load<f64>(words, 8);
  const clockRes = load<f64>(words, 16);
  if (clockRes == 1000000000) t2us = us2t;
  if (us2t == 0) return 0;
  return t2us / us2t * (clockRes / 1000000);
}

// Node pod-CIDR allocation (kube-controller-manager's cidrset): a cluster CIDR split into 2^(node - cluster)
// subnets, one bit each, allocated round robin from the slot after the last allocation.
import { rHi, rLo, loadSlot, storeSlot, hostMask, familyBits } from './ip';
import { memAlloc, memFree } from './mem';

export const NC_TOO_BIG: i32 = -1;        // more than MAX_DIFF bits of subnets
export const NC_MASK_SMALLER: i32 = -2;   // node mask shorter than the cluster mask
export const NC_MASK_INVALID: i32 = -3;   // node mask longer than the family allows
export const NC_OUT_OF_RANGE: i32 = -4;

const MAX_DIFF_V6: i32 = 16;  // Kubernetes' limit (clusterSubnetMaxDiff)
const MAX_DIFF_V4: i32 = 24;  // our own bound for IPv4 (a 2 MiB bitmap)

// header: +0 netHi +8 netLo (u64), +16 family, +20 clusterPrefix, +24 nodePrefix, +28 max, +32 next,
// +36 allocated, +40 bitmap ptr
const N_BYTES: usize = 48;

export function ncidr_new(net: usize, family: i32, clusterPrefix: i32, nodePrefix: i32): isize {
  const bits = familyBits(family);
  if (nodePrefix > bits) return NC_MASK_INVALID;
  if (nodePrefix < clusterPrefix) return NC_MASK_SMALLER;
  const diff = nodePrefix - clusterPrefix;
  if (diff > (family == 4 ? MAX_DIFF_V4 : MAX_DIFF_V6)) return NC_TOO_BIG;
  const h = memAlloc(N_BYTES);
  loadSlot(net);
  const nHi = rHi, nLo = rLo;
  hostMask(bits, clusterPrefix);
  store<u64>(h, nHi & ~rHi);
  store<u64>(h, nLo & ~rLo, 8);
  store<i32>(h, family, 16);
  store<i32>(h, clusterPrefix, 20);
  store<i32>(h, nodePrefix, 24);
  const max: u32 = (<u32>1) << <u32>diff;
  store<u32>(h, max, 28);
  store<u32>(h, <u32>memAlloc(<usize>(((max + 63) >> 6) << 3)), 40);
  return <isize>h;
}

export function ncidr_delete(h: usize): void {
  memFree(<usize>load<u32>(h, 40));
  memFree(h);
}
export function ncidr_capacity(h: usize): u32 { return load<u32>(h, 28); }
export function ncidr_allocated(h: usize): u32 { return load<u32>(h, 36); }

function bitOf(h: usize, i: u32): bool {
  return ((load<u64>(<usize>load<u32>(h, 40) + (<usize>(i >> 6) << 3)) >> <u64>(i & 63)) & 1) != 0;
}
function setBit(h: usize, i: u32, on: bool): void {
  const w = <usize>load<u32>(h, 40) + (<usize>(i >> 6) << 3);
  const bit = (<u64>1) << <u64>(i & 63);
  const word = load<u64>(w);
  if (((word & bit) != 0) == on) return;
  store<u64>(w, on ? word | bit : word & ~bit);
  store<u32>(h, load<u32>(h, 36) + (on ? 1 : -1), 36);
}

/** Subnet i's network address into rHi/rLo. */
function subnetAt(h: usize, i: u32): void {
  const shift = familyBits(load<i32>(h, 16)) - load<i32>(h, 24); // host bits of a node subnet
  let hi = load<u64>(h), lo = load<u64>(h, 8);
  const v = <u64>i;
  if (shift >= 64) hi |= v << <u64>(shift - 64);
  else if (shift == 0) lo |= v;
  else { lo |= v << <u64>shift; hi |= v >> <u64>(64 - shift); }
  rHi = hi; rLo = lo;
}
/** Index of the node subnet holding an address inside the cluster. */
function indexOf(h: usize, hi: u64, lo: u64): u32 {
  const shift = familyBits(load<i32>(h, 16)) - load<i32>(h, 24);
  const dHi = hi ^ load<u64>(h), dLo = lo ^ load<u64>(h, 8);
  let v: u64;
  if (shift >= 64) v = dHi >> <u64>(shift - 64);
  else if (shift == 0) v = dLo;
  else v = (dLo >> <u64>shift) | (dHi << <u64>(64 - shift));
  return <u32>(v & <u64>(load<u32>(h, 28) - 1));
}

/** Allocate the next free subnet; its network address into out. 1 ok, 0 exhausted. */
export function ncidr_alloc(h: usize, out: usize): i32 {
  const max = load<u32>(h, 28);
  let c = load<u32>(h, 32);
  for (let k: u32 = 0; k < max; k++) {
    if (!bitOf(h, c)) {
      setBit(h, c, true);
      store<u32>(h, (c + 1) % max, 32);
      subnetAt(h, c);
      storeSlot(out, rHi, rLo);
      return 1;
    }
    c = (c + 1) % max;
  }
  return 0;
}

/**
 * Occupy (mode 1), release (0) or query (2) every node subnet a CIDR covers (or the one it lies in).
 * Returns the number of subnets concerned (query: how many are allocated), or NC_OUT_OF_RANGE.
 */
export function ncidr_mark(h: usize, slot: usize, family: i32, prefix: i32, mode: i32): i32 {
  if (family != load<i32>(h, 16)) return NC_OUT_OF_RANGE;
  const bits = familyBits(family);
  const cp = load<i32>(h, 20);
  loadSlot(slot);
  const aHi = rHi, aLo = rLo;
  // overlap test: the shorter prefix contains the other's address
  const p = prefix < cp ? prefix : cp;
  hostMask(bits, p);
  if (((aHi ^ load<u64>(h)) & ~rHi) != 0 || ((aLo ^ load<u64>(h, 8)) & ~rLo) != 0) return NC_OUT_OF_RANGE;
  let begin: u32 = 0, end: u32 = load<u32>(h, 28) - 1;
  if (prefix > cp) {
    hostMask(bits, prefix);
    const firstHi = aHi & ~rHi, firstLo = aLo & ~rLo;
    const lastHi = aHi | rHi, lastLo = aLo | rLo;
    begin = indexOf(h, firstHi, firstLo);
    end = indexOf(h, lastHi, lastLo);
  }
  let n = 0;
  for (let i = begin; ; i++) {
    if (mode == 2) { if (bitOf(h, i)) n++; }
    else { setBit(h, i, mode == 1); n++; }
    if (i == end) break;
  }
  return n;
}


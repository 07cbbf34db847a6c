// MTU selection for the cbr0 bridge as kubenet does it (kubernetes v1.23 kubenet_linux.go, findMinMTU) and overlay
// overheads.

export const FALLBACK_MTU: i32 = 1460;
const MIN_MTU: i32 = 576;
const START: i32 = 999999;

export const IF_UP: u32 = 1;
export const IF_LOOPBACK: u32 = 2;
export const IF_POINTOPOINT: u32 = 4;

/**
 * Interfaces at p: n records of (mtu u32, flags u32) in kernel index order. Returns the index of the
 * interface whose MTU wins (smallest MTU among up, non-loopback, non-point-to-point; first on ties),
 * -1 when the explicit MTU wins (explicit > 0), -2 when the fallback applies (none, or below 576).
 */
export function mtu_pick(p: usize, n: i32, explicit: i32): i32 {
  if (explicit > 0) return -1;
  let best = START, at = -1;
  for (let i = 0; i < n; i++) {
    const mtu = load<i32>(p + (<usize>i << 3));
    const flags = load<u32>(p + (<usize>i << 3), 4);
    if ((flags & IF_UP) == 0 || (flags & (IF_LOOPBACK | IF_POINTOPOINT)) != 0) continue;
    if (mtu < best) { best = mtu; at = i; }
  }
  if (at < 0 || best >= START || best < MIN_MTU) return -2;
  return at;
}

function ipHeader(family: i32): i32 { return family == 6 ? 40 : 20; }

/** outer IP + UDP 8 + VXLAN 8 + inner Ethernet 14 */
export function ovh_vxlan(family: i32): i32 { return ipHeader(family) + 8 + 8 + 14; }
/** outer IP + UDP 8 + Geneve 8 + options + inner Ethernet 14 */
export function ovh_geneve(optionBytes: i32, family: i32): i32 { return ipHeader(family) + 8 + 8 + optionBytes + 14; }
/** outer IP + UDP 8 + WireGuard data header 16 + Poly1305 tag 16 */
export function ovh_wireguard(family: i32): i32 { return ipHeader(family) + 8 + 16 + 16; }
/**
 * ESP worst case: [outer IP if tunnel] + [UDP 8 if NAT-T] + SPI/sequence 8 + IV + padding up to block-1
 * + pad length/next header 2 + ICV.
 */
export function ovh_esp(ivBytes: i32, icvBytes: i32, blockBytes: i32, tunnel: i32, family: i32, natT: i32): i32 {
  const block = blockBytes < 4 ? 4 : blockBytes;
  return (tunnel ? ipHeader(family) : 0) + (natT ? 8 : 0) + 8 + ivBytes + (block - 1) + 2 + icvBytes;
}

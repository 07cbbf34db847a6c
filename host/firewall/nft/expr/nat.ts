// nat: snat/dnat to the address (and port) held in registers.
import { NFPROTO } from '../constants.ts';
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';

const TYPE = 1;
const FAMILY = 2;
const REG_ADDR_MIN = 3;
const REG_ADDR_MAX = 4;
const REG_PROTO_MIN = 5;
const REG_PROTO_MAX = 6;
const FLAGS = 7;

/** NF_NAT_RANGE_* flags */
export const NAT_RANGE_MAP_IPS = 0x1;
export const NAT_RANGE_PROTO_SPECIFIED = 0x2;

export interface NatExpr {
  type: 'nat';
  nat: 'snat' | 'dnat';
  family: 'ip' | 'ip6';
  addrMin?: number;
  addrMax?: number;
  protoMin?: number;
  protoMax?: number;
  flags?: number;
}

export function encodeNat(w: PayloadWriter, e: NatExpr): void {
  w.attr(TYPE, be32(e.nat === 'snat' ? 0 : 1)).attr(FAMILY, be32(NFPROTO[e.family]));
  if (e.addrMin !== undefined) w.attr(REG_ADDR_MIN, be32(e.addrMin));
  if (e.addrMax !== undefined) w.attr(REG_ADDR_MAX, be32(e.addrMax));
  if (e.protoMin !== undefined) w.attr(REG_PROTO_MIN, be32(e.protoMin));
  if (e.protoMax !== undefined) w.attr(REG_PROTO_MAX, be32(e.protoMax));
  if (e.flags) w.attr(FLAGS, be32(e.flags));
}

export function decodeNat(a: Attrs): NatExpr {
  const e: NatExpr = {
    type: 'nat',
    nat: readBe32(a, TYPE) === 0 ? 'snat' : 'dnat',
    family: readBe32(a, FAMILY) === NFPROTO.ip6 ? 'ip6' : 'ip',
  };
  const set = (k: 'addrMin' | 'addrMax' | 'protoMin' | 'protoMax' | 'flags', t: number) => {
    const v = readBe32(a, t);
    if (v !== undefined) e[k] = v;
  };
  set('addrMin', REG_ADDR_MIN);
  set('addrMax', REG_ADDR_MAX);
  set('protoMin', REG_PROTO_MIN);
  set('protoMax', REG_PROTO_MAX);
  set('flags', FLAGS);
  return e;
}

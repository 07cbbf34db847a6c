// payload: load `len` bytes at `offset` from a packet header into a register.
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';

const DREG = 1;
const BASE = 2;
const OFFSET = 3;
const LEN = 4;

export const PAYLOAD_BASE = { ll: 0, network: 1, transport: 2 } as const;
export type PayloadBase = keyof typeof PAYLOAD_BASE;

export interface PayloadExpr {
  type: 'payload';
  dreg: number;
  base: PayloadBase;
  offset: number;
  len: number;
}

export function encodePayload(w: PayloadWriter, e: PayloadExpr): void {
  w.attr(DREG, be32(e.dreg)).attr(BASE, be32(PAYLOAD_BASE[e.base])).attr(OFFSET, be32(e.offset)).attr(LEN, be32(e.len));
}

export function decodePayload(a: Attrs): PayloadExpr {
  const base = readBe32(a, BASE) ?? 0;
  return {
    type: 'payload',
    dreg: readBe32(a, DREG) ?? 0,
    base: (Object.keys(PAYLOAD_BASE) as PayloadBase[]).find((k) => PAYLOAD_BASE[k] === base) ?? 'll',
    offset: readBe32(a, OFFSET) ?? 0,
    len: readBe32(a, LEN) ?? 0,
  };
}

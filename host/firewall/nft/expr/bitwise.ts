// bitwise: dreg = (sreg & mask) ^ xor over `len` bytes (how nft matches a prefix that is not byte-aligned).
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';
import { decodeData, encodeValue } from './data.ts';

const SREG = 1;
const DREG = 2;
const LEN = 3;
const MASK = 4;
const XOR = 5;

export interface BitwiseExpr {
  type: 'bitwise';
  sreg: number;
  dreg: number;
  len: number;
  mask: Buffer;
  xor: Buffer;
}

export function encodeBitwise(w: PayloadWriter, e: BitwiseExpr): void {
  w.attr(SREG, be32(e.sreg)).attr(DREG, be32(e.dreg)).attr(LEN, be32(e.len));
  encodeValue(w, MASK, e.mask);
  encodeValue(w, XOR, e.xor);
}

export function decodeBitwise(a: Attrs): BitwiseExpr {
  return {
    type: 'bitwise',
    sreg: readBe32(a, SREG) ?? 0,
    dreg: readBe32(a, DREG) ?? 0,
    len: readBe32(a, LEN) ?? 0,
    mask: decodeData(a.get(MASK)).value ?? Buffer.alloc(0),
    xor: decodeData(a.get(XOR)).value ?? Buffer.alloc(0),
  };
}

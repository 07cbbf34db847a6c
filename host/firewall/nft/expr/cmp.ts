// cmp: compare a register with a constant; a false comparison ends the rule.
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';
import { decodeData, encodeValue } from './data.ts';

const SREG = 1;
const OP = 2;
const DATA = 3;

export const CMP_OP = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export type CmpOp = keyof typeof CMP_OP;

export interface CmpExpr {
  type: 'cmp';
  sreg: number;
  op: CmpOp;
  data: Buffer;
}

export function encodeCmp(w: PayloadWriter, e: CmpExpr): void {
  w.attr(SREG, be32(e.sreg)).attr(OP, be32(CMP_OP[e.op]));
  encodeValue(w, DATA, e.data);
}

export function decodeCmp(a: Attrs): CmpExpr {
  const op = readBe32(a, OP) ?? 0;
  return {
    type: 'cmp',
    sreg: readBe32(a, SREG) ?? 0,
    op: (Object.keys(CMP_OP) as CmpOp[]).find((k) => CMP_OP[k] === op) ?? 'eq',
    data: decodeData(a.get(DATA)).value ?? Buffer.alloc(0),
  };
}

// fib: a routing lookup on the packet (`fib daddr type` = the address type of the destination, e.g. local).
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';

const DREG = 1;
const RESULT = 2;
const FLAGS = 3;

export const FIB_RESULT = { oif: 1, oifname: 2, addrtype: 3 } as const;
export const FIB_F_SADDR = 1 << 0;
export const FIB_F_DADDR = 1 << 1;
/** RTN_LOCAL, the value `fib ... type local` compares with (host byte order). */
export const RTN_LOCAL = 2;

export interface FibExpr {
  type: 'fib';
  dreg: number;
  result: keyof typeof FIB_RESULT;
  flags: number;
}

export function encodeFib(w: PayloadWriter, e: FibExpr): void {
  w.attr(DREG, be32(e.dreg)).attr(RESULT, be32(FIB_RESULT[e.result])).attr(FLAGS, be32(e.flags));
}

export function decodeFib(a: Attrs): FibExpr {
  const r = readBe32(a, RESULT);
  return {
    type: 'fib',
    dreg: readBe32(a, DREG) ?? 0,
    result: (Object.keys(FIB_RESULT) as Array<keyof typeof FIB_RESULT>).find((k) => FIB_RESULT[k] === r) ?? 'addrtype',
    flags: readBe32(a, FLAGS) ?? 0,
  };
}

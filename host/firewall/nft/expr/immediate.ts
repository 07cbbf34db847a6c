// immediate: load a constant into a register, or set the verdict (accept, drop, return, jump/goto <chain>).
import { NFT_REG_VERDICT } from '../constants.ts';
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';
import { decodeData, encodeValue, encodeVerdict, type Verdict } from './data.ts';

const DREG = 1;
const DATA = 2;

export type ImmediateExpr =
  | { type: 'immediate'; dreg: number; data: Buffer }
  | { type: 'immediate'; dreg: typeof NFT_REG_VERDICT; verdict: Verdict };

export function encodeImmediate(w: PayloadWriter, e: ImmediateExpr): void {
  w.attr(DREG, be32(e.dreg));
  if ('verdict' in e) encodeVerdict(w, DATA, e.verdict);
  else encodeValue(w, DATA, e.data);
}

export function decodeImmediate(a: Attrs): ImmediateExpr {
  const d = decodeData(a.get(DATA));
  if (d.verdict) return { type: 'immediate', dreg: NFT_REG_VERDICT, verdict: d.verdict };
  return { type: 'immediate', dreg: readBe32(a, DREG) ?? 0, data: d.value ?? Buffer.alloc(0) };
}

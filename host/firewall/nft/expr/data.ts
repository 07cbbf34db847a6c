// nft_data: a value (bytes) or a verdict (code and, for jump/goto, a chain), as nested in cmp, bitwise and immediate.
import {
  VERDICT,
  NFTA_DATA_VALUE,
  NFTA_DATA_VERDICT,
  NFTA_VERDICT_CHAIN,
  NFTA_VERDICT_CODE,
  type VerdictKind,
} from '../constants.ts';
import { cstr, nest, parseAttrs, readSbe32, readStr, sbe32, type PayloadWriter } from '../encode.ts';

export interface Verdict {
  kind: VerdictKind;
  /** jump and goto only */
  chain?: string;
}

export function encodeValue(w: PayloadWriter, type: number, value: Uint8Array): void {
  nest(w, type, (d) => d.attr(NFTA_DATA_VALUE, value));
}

export function encodeVerdict(w: PayloadWriter, type: number, v: Verdict): void {
  nest(w, type, (d) =>
    nest(d, NFTA_DATA_VERDICT, (x) => {
      x.attr(NFTA_VERDICT_CODE, sbe32(VERDICT[v.kind]));
      if (v.chain !== undefined) x.attr(NFTA_VERDICT_CHAIN, cstr(v.chain));
    }),
  );
}

/** The value or verdict inside a data nest. */
export function decodeData(buf: Buffer | undefined): { value?: Buffer; verdict?: Verdict } {
  if (!buf) return {};
  const a = parseAttrs(buf);
  const value = a.get(NFTA_DATA_VALUE);
  if (value) return { value: Buffer.from(value) };
  const vb = a.get(NFTA_DATA_VERDICT);
  if (!vb) return {};
  const v = parseAttrs(vb);
  const code = readSbe32(v, NFTA_VERDICT_CODE) ?? 0;
  const kind = (Object.keys(VERDICT) as VerdictKind[]).find((k) => VERDICT[k] === code) ?? 'continue';
  const chain = readStr(v, NFTA_VERDICT_CHAIN);
  return { verdict: chain === undefined ? { kind } : { kind, chain } };
}

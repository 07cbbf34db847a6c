// meta: load packet metadata (interface names, protocols) into a register.
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';

const DREG = 1;
const KEY = 2;

/** NFT_META_* keys we use. */
export const META_KEY = { iifname: 6, oifname: 7, nfproto: 15, l4proto: 16 } as const;
export type MetaKey = keyof typeof META_KEY;

export interface MetaExpr {
  type: 'meta';
  key: MetaKey | number;
  dreg: number;
}

export function encodeMeta(w: PayloadWriter, e: MetaExpr): void {
  w.attr(KEY, be32(typeof e.key === 'number' ? e.key : META_KEY[e.key])).attr(DREG, be32(e.dreg));
}

export function decodeMeta(a: Attrs): MetaExpr {
  const key = readBe32(a, KEY) ?? 0;
  return {
    type: 'meta',
    key: (Object.keys(META_KEY) as MetaKey[]).find((k) => META_KEY[k] === key) ?? key,
    dreg: readBe32(a, DREG) ?? 0,
  };
}

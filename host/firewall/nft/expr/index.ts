// The expressions our rule layouts use, as one union, and their NFTA_LIST_ELEM { NAME, DATA } encoding.
// An expression the decoder does not know is kept as its raw attributes.
import { NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM } from '../constants.ts';
import { cstr, listElems, nest, parseAttrs, readStr, type Attrs, type PayloadWriter } from '../encode.ts';
import { decodeBitwise, encodeBitwise, type BitwiseExpr } from './bitwise.ts';
import { decodeCmp, encodeCmp, type CmpExpr } from './cmp.ts';
import { decodeCounter, encodeCounter, type CounterExpr } from './counter.ts';
import { decodeFib, encodeFib, type FibExpr } from './fib.ts';
import { decodeImmediate, encodeImmediate, type ImmediateExpr } from './immediate.ts';
import { decodeMasq, encodeMasq, type MasqExpr } from './masq.ts';
import { decodeMeta, encodeMeta, type MetaExpr } from './meta.ts';
import { decodeNat, encodeNat, type NatExpr } from './nat.ts';
import { decodePayload, encodePayload, type PayloadExpr } from './payload.ts';
import { decodeXt, encodeXt, type XtExpr } from './xt.ts';

export interface UnknownExpr {
  type: 'unknown';
  name: string;
  data: Buffer;
}

export type Expr =
  | PayloadExpr
  | MetaExpr
  | CmpExpr
  | BitwiseExpr
  | ImmediateExpr
  | NatExpr
  | MasqExpr
  | FibExpr
  | CounterExpr
  | XtExpr
  | UnknownExpr;

type Codec<E> = { encode: (w: PayloadWriter, e: E) => void; decode: (a: Attrs) => E };
const CODECS: { [K in Exclude<Expr['type'], 'unknown'>]: Codec<Extract<Expr, { type: K }>> } = {
  payload: { encode: encodePayload, decode: decodePayload },
  meta: { encode: encodeMeta, decode: decodeMeta },
  cmp: { encode: encodeCmp, decode: decodeCmp },
  bitwise: { encode: encodeBitwise, decode: decodeBitwise },
  immediate: { encode: encodeImmediate, decode: decodeImmediate },
  nat: { encode: encodeNat, decode: decodeNat },
  masq: { encode: encodeMasq, decode: decodeMasq },
  fib: { encode: encodeFib, decode: decodeFib },
  counter: { encode: encodeCounter, decode: decodeCounter },
  match: { encode: encodeXt, decode: decodeXt('match') },
  target: { encode: encodeXt, decode: decodeXt('target') },
};

/** Writes the expressions as the elements of a list nest (NFTA_RULE_EXPRESSIONS). */
export function encodeExprs(w: PayloadWriter, type: number, exprs: readonly Expr[]): void {
  nest(w, type, (list) => {
    for (const e of exprs) {
      nest(list, NFTA_LIST_ELEM, (el) => {
        if (e.type === 'unknown') {
          el.attr(NFTA_EXPR_NAME, cstr(e.name));
          el.attr(NFTA_EXPR_DATA | 0x8000, e.data);
          return;
        }
        el.attr(NFTA_EXPR_NAME, cstr(e.type));
        const codec = CODECS[e.type] as Codec<Expr>;
        nest(el, NFTA_EXPR_DATA, (d) => codec.encode(d, e));
      });
    }
  });
}

export function decodeExprs(buf: Buffer | undefined): Expr[] {
  if (!buf) return [];
  return listElems(buf).map((elem) => {
    const a = parseAttrs(elem);
    const name = readStr(a, NFTA_EXPR_NAME) ?? '';
    const data = a.get(NFTA_EXPR_DATA) ?? Buffer.alloc(0);
    const codec = Object.hasOwn(CODECS, name) ? (CODECS as Record<string, Codec<Expr>>)[name] : undefined;
    return codec ? codec.decode(parseAttrs(data)) : { type: 'unknown', name, data: Buffer.from(data) };
  });
}

export type {
  BitwiseExpr,
  CmpExpr,
  CounterExpr,
  FibExpr,
  ImmediateExpr,
  MasqExpr,
  MetaExpr,
  NatExpr,
  PayloadExpr,
  XtExpr,
};

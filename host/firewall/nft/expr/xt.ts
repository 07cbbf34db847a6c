// match / target: an xtables extension run by nf_tables (how iptables-nft stores what has no native form, e.g.
// `-m comment`, `-m multiport`, `-j MASQUERADE`). Read back so iptables-nft's rules can be inspected over netlink.
import { be32, cstr, readBe32, readStr, type Attrs, type PayloadWriter } from '../encode.ts';

const NAME = 1;
const REV = 2;
const INFO = 3;

export interface XtOf<T extends 'match' | 'target'> {
  type: T;
  name: string;
  rev: number;
  info: Buffer;
}
export type XtExpr = XtOf<'match'> | XtOf<'target'>;

export function encodeXt(w: PayloadWriter, e: XtExpr): void {
  w.attr(NAME, cstr(e.name)).attr(REV, be32(e.rev)).attr(INFO, e.info);
}

export const decodeXt =
  <T extends 'match' | 'target'>(type: T) =>
  (a: Attrs): XtOf<T> => ({
    type,
    name: readStr(a, NAME) ?? '',
    rev: readBe32(a, REV) ?? 0,
    info: Buffer.from(a.get(INFO) ?? Buffer.alloc(0)),
  });

/** The text of `-m comment --comment <c>` (struct xt_comment_info: a NUL-terminated char[256]). */
export function xtComment(e: XtExpr): string | undefined {
  if (e.type !== 'match' || e.name !== 'comment') return undefined;
  const nul = e.info.indexOf(0);
  return e.info.toString('utf8', 0, nul < 0 ? e.info.length : nul);
}

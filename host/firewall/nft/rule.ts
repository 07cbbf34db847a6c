// Rules: expressions plus an optional comment (user data, as nft writes it); NEWRULE/DELRULE payloads and the
// decoding of a GETRULE reply.
import {
  NFPROTO,
  NFTA_RULE_CHAIN,
  NFTA_RULE_EXPRESSIONS,
  NFTA_RULE_HANDLE,
  NFTA_RULE_TABLE,
  NFTA_RULE_USERDATA,
  type NftFamily,
} from './constants.ts';
import {
  be64,
  commentOfUserData,
  commentUserData,
  cstr,
  nfgenmsg,
  PayloadWriter,
  readBe64,
  readStr,
  objectPayload,
  readObject,
} from './encode.ts';
import { decodeExprs, encodeExprs, type Expr } from './expr/index.ts';

export interface Rule {
  family: NftFamily;
  table: string;
  chain: string;
  exprs: Expr[];
  comment?: string;
  /** nft-like text of the match and statement (for error messages; not sent) */
  text?: string;
}

export interface ListedRule extends Rule {
  handle: bigint;
  /** NFTA_RULE_EXPRESSIONS as the kernel dumped it */
  raw: Buffer;
  /** NFTA_RULE_USERDATA as the kernel dumped it */
  userdata?: Buffer;
}

/** Where a rule goes (or which one is deleted): table and chain, plus a handle for DELRULE of one rule. */
export interface RuleRef {
  family: NftFamily;
  table: string;
  chain: string;
  handle?: bigint;
}

export function encodeRule(r: Rule): Buffer {
  const w = new PayloadWriter(512).raw(nfgenmsg(NFPROTO[r.family]));
  w.attr(NFTA_RULE_TABLE, cstr(r.table)).attr(NFTA_RULE_CHAIN, cstr(r.chain));
  encodeExprs(w, NFTA_RULE_EXPRESSIONS, r.exprs);
  if (r.comment !== undefined) w.attr(NFTA_RULE_USERDATA, commentUserData(r.comment));
  return w.bytes();
}

/** DELRULE: one rule by handle, or (no handle) every rule of the chain, which is `flush chain`. */
export function encodeRuleRef(r: RuleRef): Buffer {
  const w = objectPayload(r.family);
  w.attr(NFTA_RULE_TABLE, cstr(r.table)).attr(NFTA_RULE_CHAIN, cstr(r.chain));
  if (r.handle !== undefined) w.attr(NFTA_RULE_HANDLE, be64(r.handle));
  return w.bytes();
}

export function decodeRule(data: Buffer): ListedRule | null {
  const { family, a } = readObject(data);
  const table = readStr(a, NFTA_RULE_TABLE);
  const chain = readStr(a, NFTA_RULE_CHAIN);
  if (!family || table === undefined || chain === undefined) return null;
  const raw = Buffer.from(a.get(NFTA_RULE_EXPRESSIONS) ?? Buffer.alloc(0));
  const r: ListedRule = {
    family,
    table,
    chain,
    handle: readBe64(a, NFTA_RULE_HANDLE) ?? 0n,
    exprs: decodeExprs(raw),
    raw,
  };
  const ud = a.get(NFTA_RULE_USERDATA);
  if (ud) {
    r.userdata = Buffer.from(ud);
    const comment = commentOfUserData(ud);
    if (comment !== undefined) r.comment = comment;
  }
  return r;
}

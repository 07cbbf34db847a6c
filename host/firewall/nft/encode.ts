// nf_tables wire helpers: big-endian integer attributes (NLA_BE32/BE64), NUL-terminated strings, NLA_F_NESTED
// nests (as libnftnl and the kernel write them), the nfgenmsg header, and libnftnl's user-data TLVs (comments).
import { PayloadWriter, attrList, parseAttrs, type Attrs } from '../../net/nl/attrs.ts';
import {
  familyName,
  NFNETLINK_V0,
  NFPROTO,
  NFTNL_UDATA_COMMENT,
  NFT_USERDATA_MAXLEN,
  type NftFamily,
} from './constants.ts';

export { PayloadWriter, attrList, parseAttrs, type Attrs } from '../../net/nl/attrs.ts';

export function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
export function sbe32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
export function be64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}
export const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);

/** Writes a nest flagged NLA_F_NESTED. */
export function nest(w: PayloadWriter, type: number, fn: (w: PayloadWriter) => void): PayloadWriter {
  return w.nest(type, fn, true);
}

/** struct nfgenmsg: family, version, res_id (big-endian). */
export function nfgenmsg(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4);
  b[0] = family;
  b[1] = NFNETLINK_V0;
  b.writeUInt16BE(resId, 2);
  return b;
}

export const NFGENMSG_LEN = 4;

/** The payload of a message about an object of `family`: nfgenmsg first, attributes to follow. */
export function objectPayload(family: NftFamily): PayloadWriter {
  return new PayloadWriter().raw(nfgenmsg(NFPROTO[family]));
}

/** An object message read back: its family (undefined when not one of ours) and its attributes. */
export function readObject(data: Buffer): { family: NftFamily | undefined; a: Attrs } {
  return { family: familyName(data[0] ?? 0), a: parseAttrs(data, NFGENMSG_LEN) };
}

export function readBe32(a: Attrs, t: number): number | undefined {
  const b = a.get(t);
  return b && b.length >= 4 ? b.readUInt32BE(0) : undefined;
}
export function readSbe32(a: Attrs, t: number): number | undefined {
  const b = a.get(t);
  return b && b.length >= 4 ? b.readInt32BE(0) : undefined;
}
export function readBe64(a: Attrs, t: number): bigint | undefined {
  const b = a.get(t);
  return b && b.length >= 8 ? b.readBigUInt64BE(0) : undefined;
}
export function readStr(a: Attrs, t: number): string | undefined {
  const b = a.get(t);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

/**
 * A comment as libnftnl user data: one TLV (type NFTNL_UDATA_*_COMMENT, u8 length, NUL-terminated text), which is
 * what `nft` writes and shows. Throws when it does not fit (nft's limit, NFT_USERDATA_MAXLEN).
 */
export function commentUserData(comment: string): Buffer {
  const text = cstr(comment);
  if (text.length > 255 || text.length + 2 > NFT_USERDATA_MAXLEN) throw new Error(`comment too long: ${comment}`);
  return Buffer.concat([Uint8Array.of(NFTNL_UDATA_COMMENT, text.length), text]);
}

/** The comment TLV of user data, if any. */
export function commentOfUserData(udata: Buffer | undefined): string | undefined {
  if (!udata) return undefined;
  for (let at = 0; at + 2 <= udata.length; ) {
    const type = udata[at]!;
    const len = udata[at + 1]!;
    if (at + 2 + len > udata.length) break;
    if (type === NFTNL_UDATA_COMMENT) {
      const v = udata.subarray(at + 2, at + 2 + len);
      const nul = v.indexOf(0);
      return v.toString('utf8', 0, nul < 0 ? v.length : nul);
    }
    at += 2 + len;
  }
  return undefined;
}

/** The elements of an NFTA_*_LIST nest. */
export function listElems(buf: Buffer): Buffer[] {
  return attrList(buf).map(([, v]) => v);
}

// Building and reading netlink payloads: a fixed header struct followed by 4-byte aligned rtattrs,
// which may nest. Host byte order (little-endian on every machine we target) except where noted.
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.ts';

const align4 = (n: number): number => (n + 3) & ~3;

/** Appends structs and attributes into one growing buffer. */
export class PayloadWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initial = 256) {
    this.buf = Buffer.alloc(initial);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const need = this.len + align4(n);
    if (need > this.buf.length) {
      const next = Buffer.alloc(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    const at = this.len;
    this.len = need;
    return at;
  }

  /** A fixed struct (ifinfomsg, rtmsg, ...), padded to 4 bytes. */
  raw(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }

  attr(type: number, payload: Uint8Array): this {
    const at = this.reserve(4 + payload.length);
    this.buf.writeUInt16LE(4 + payload.length, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.buf.set(payload, at + 4);
    return this;
  }

  flag(type: number): this {
    return this.attr(type, new Uint8Array(0));
  }
  u8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v & 0xff));
  }
  u16(type: number, v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return this.attr(type, b);
  }
  u32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.attr(type, b);
  }
  s32(type: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.attr(type, b);
  }
  u64(type: number, v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.attr(type, b);
  }
  /** NUL-terminated string (IFLA_IFNAME, TCA_KIND, ...). */
  str(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`));
  }

  /** A nested attribute; fill it inside fn. NLA_F_NESTED is set only when asked (some kernels' policies predate it). */
  nest(type: number, fn: (w: PayloadWriter) => void, markNested = false): this {
    const at = this.reserve(4);
    fn(this);
    this.buf.writeUInt16LE(this.len - at, at);
    this.buf.writeUInt16LE(markNested ? type | NLA_F_NESTED : type, at + 2);
    return this;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Attributes of one level, by type (the last one wins when repeated; see attrList for lists). */
export type Attrs = Map<number, Buffer>;

/** All attributes of one level in order, as [type, payload]. */
export function attrList(buf: Buffer, start = 0, end = buf.length): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let at = start;
  while (at + 4 <= end) {
    const len = buf.readUInt16LE(at);
    if (len < 4 || at + len > end) break;
    out.push([buf.readUInt16LE(at + 2) & NLA_TYPE_MASK, buf.subarray(at + 4, at + len)]);
    at += align4(len);
  }
  return out;
}

export function parseAttrs(buf: Buffer, start = 0, end = buf.length): Attrs {
  return new Map(attrList(buf, start, end));
}

export const attrU8 = (a: Attrs, t: number): number | undefined => {
  const b = a.get(t);
  return b && b.length >= 1 ? b[0] : undefined;
};
export const attrU16 = (a: Attrs, t: number): number | undefined => {
  const b = a.get(t);
  return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
};
export const attrU32 = (a: Attrs, t: number): number | undefined => {
  const b = a.get(t);
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
};
export const attrS32 = (a: Attrs, t: number): number | undefined => {
  const b = a.get(t);
  return b && b.length >= 4 ? b.readInt32LE(0) : undefined;
};
export const attrU64 = (a: Attrs, t: number): bigint | undefined => {
  const b = a.get(t);
  return b && b.length >= 8 ? b.readBigUInt64LE(0) : undefined;
};
export function attrStr(a: Attrs, t: number): string | undefined {
  const b = a.get(t);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}
export function attrNested(a: Attrs, t: number): Attrs | undefined {
  const b = a.get(t);
  return b ? parseAttrs(b) : undefined;
}

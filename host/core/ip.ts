// Addresses and CIDRs. Values cross into Wasm as 16-byte slots (four u32 words, most significant first).
import { CoreError, parseReason } from './errors.ts';
import { core, writeText, readText, textArea, outTextArea, slot, readWords, writeWords } from './wasm.ts';

export type Family = 4 | 6;
export interface IPAddress {
  readonly family: Family;
  readonly text: string;
}
export type Words = readonly [number, number, number, number];
/** An address as the core sees it. */
export interface Addr {
  readonly family: Family;
  readonly words: Words;
}

/** Parse text into scratch slot i; returns the family or a negative reason code. */
export function parseInto(text: string, i: number): number {
  const n = writeText(text);
  if (n < 0) return -100;
  return core().ip_parse(textArea(), n, slot(i));
}

export function parseAddr(text: string): Addr | number {
  const r = parseInto(text, 0);
  if (r < 0) return r;
  return { family: r as Family, words: readWords(slot(0)) };
}

/** Canonical text of the address in slot i. */
export function slotText(i: number, family: number): string {
  const out = outTextArea();
  const n = core().ip_format(slot(i), family, out);
  return readText(out, n);
}

export function addrText(a: Addr): string {
  writeWords(slot(0), a.words);
  return slotText(0, a.family);
}

/** Go's canonicalizeIP: an IPv4-mapped IPv6 address becomes the IPv4 address. */
export function unmap(a: Addr): Addr {
  const [w0, w1, w2, w3] = a.words;
  if (a.family === 6 && w0 === 0 && w1 === 0 && w2 === 0xffff) return { family: 4, words: [0, 0, 0, w3] };
  return a;
}

/**
 * Parse and print back in one pass over slot 0; a family or a negative reason code. A dotted quad the core
 * accepts is already canonical (digits and dots only, no leading zeros), so IPv4 skips the formatting round
 * trip: single-address parsing sits on host-local's directory scan.
 */
function parseText(text: string): IPAddress | number {
  const r = parseInto(text, 0);
  if (r < 0) return r;
  return r === 4 ? { family: 4, text } : { family: 6, text: slotText(0, 6) };
}

/**
 * The family of an address or CIDR text: 6 when written in IPv6 notation (IPv4-mapped included, as the core
 * parses it), else 4. Valid text has a ':' exactly when it is IPv6, so this does not parse: validate text that
 * may be invalid first (parseIP, Cidr.parse). The one family test of the tree.
 */
export function familyOf(text: string): Family {
  return text.includes(':') ? 6 : 4;
}

/** Go's net.IP.IsLoopback: 127.0.0.0/8 (IPv4-mapped too) or ::1. False for text that is not an address. */
export function isLoopback(text: string): boolean {
  const a = parseAddr(text);
  if (typeof a === 'number') return false;
  const u = unmap(a);
  const [w0, w1, w2, w3] = u.words;
  return u.family === 4 ? w3 >>> 24 === 127 : w0 === 0 && w1 === 0 && w2 === 0 && w3 === 1;
}

/**
 * Go's net.IP.IsGlobalUnicast: an address that is not unspecified, loopback, link-local unicast, multicast or
 * the IPv4 broadcast (IPv4-mapped addresses judged as IPv4, like Go). False for text that is not an address.
 */
export function isGlobalUnicast(text: string): boolean {
  const a = parseAddr(text);
  if (typeof a === 'number') return false;
  const u = unmap(a);
  const [w0, w1, w2, w3] = u.words;
  if (u.family === 4) {
    const o0 = w3 >>> 24;
    const o1 = (w3 >>> 16) & 255;
    return !(w3 === 0 || w3 === 0xffffffff || o0 === 127 || (o0 & 0xf0) === 0xe0 || (o0 === 169 && o1 === 254));
  }
  if (w0 === 0 && w1 === 0 && w2 === 0 && (w3 === 0 || w3 === 1)) return false; // :: and ::1
  const top = w0 >>> 16;
  return !((top & 0xffc0) === 0xfe80 || top >>> 8 === 0xff); // fe80::/10, ff00::/8
}

export function parseIP(text: string): IPAddress {
  const a = parseText(text);
  if (typeof a === 'number') throw new CoreError(`invalid IP address: ${text}`, parseReason(a));
  return a;
}

export function tryParseIP(text: string): IPAddress | null {
  const a = parseText(text);
  return typeof a === 'number' ? null : a;
}

export function isIP(text: string): boolean {
  return parseInto(text, 0) > 0;
}

/** Text as Go's net.IP.String() prints it: IPv4-mapped addresses as plain IPv4 (host-local file names). */
export function canonicalIP(text: string): string {
  const a = parseAddr(text);
  if (typeof a === 'number') throw new CoreError(`invalid IP address: ${text}`, parseReason(a));
  return addrText(unmap(a));
}

export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) {
    return addrText({
      family: 4,
      words: [0, 0, 0, ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0],
    });
  }
  if (bytes.length !== 16) throw new CoreError(`invalid IP length ${bytes.length}`, 'bad length');
  const w = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    w[k] = ((bytes[4 * k] << 24) | (bytes[4 * k + 1] << 16) | (bytes[4 * k + 2] << 8) | bytes[4 * k + 3]) >>> 0;
  }
  return addrText({ family: 6, words: w as unknown as Words });
}

export function ipToBytes(text: string): Uint8Array {
  const a = parseAddr(text);
  if (typeof a === 'number') throw new CoreError(`invalid IP address: ${text}`, parseReason(a));
  const words = a.family === 4 ? [a.words[3]] : a.words;
  const out = new Uint8Array(words.length * 4);
  words.forEach((w, k) => {
    out[4 * k] = w >>> 24;
    out[4 * k + 1] = (w >>> 16) & 255;
    out[4 * k + 2] = (w >>> 8) & 255;
    out[4 * k + 3] = w & 255;
  });
  return out;
}

function mustAddr(text: string): Addr {
  const a = parseAddr(text);
  if (typeof a === 'number') throw new CoreError(`invalid IP address: ${text}`, parseReason(a));
  return a;
}

/** IPv4 sorts before IPv6, then by value. */
export function compareIP(a: string, b: string): number {
  const x = mustAddr(a),
    y = mustAddr(b);
  if (x.family !== y.family) return x.family < y.family ? -1 : 1;
  writeWords(slot(0), x.words);
  writeWords(slot(1), y.words);
  return core().ip_cmp(slot(0), slot(1));
}

export function nextIP(ip: string): string {
  const a = mustAddr(ip);
  writeWords(slot(0), a.words);
  core().ip_next(slot(0), a.family, slot(1));
  return slotText(1, a.family);
}

export function prevIP(ip: string): string {
  const a = mustAddr(ip);
  writeWords(slot(0), a.words);
  core().ip_prev(slot(0), a.family, slot(1));
  return slotText(1, a.family);
}

function toWords(n: bigint): Words {
  const m = (1n << 32n) - 1n;
  return [Number((n >> 96n) & m), Number((n >> 64n) & m), Number((n >> 32n) & m), Number(n & m)];
}

export class Cidr {
  /** The address as written, as four u32 words. */
  readonly words: Words;
  private cache: { network?: string; broadcast?: string; networkWords?: Words } = {};

  private constructor(
    readonly family: Family,
    readonly prefix: number,
    words: Words,
  ) {
    this.words = words;
  }

  /** Go net.ParseCIDR semantics; throws `invalid CIDR address: <text>`. */
  static parse(text: string): Cidr {
    const c = Cidr.parseOrCode(text);
    if (typeof c === 'number') throw new CoreError(`invalid CIDR address: ${text}`, parseReason(c));
    return c;
  }

  static tryParse(text: string): Cidr | null {
    const c = Cidr.parseOrCode(text);
    return typeof c === 'number' ? null : c;
  }

  static parseOrCode(text: string): Cidr | number {
    const n = writeText(text);
    if (n < 0) return -100;
    const r = core().cidr_parse(textArea(), n, slot(0));
    if (r < 0) return r;
    return new Cidr((r >> 8) as Family, r & 255, readWords(slot(0)));
  }

  /** Internal: a Cidr from parts already validated. */
  static fromWords(family: Family, prefix: number, words: Words): Cidr {
    return new Cidr(family, prefix, words);
  }

  get ip(): string {
    return addrText({ family: this.family, words: this.words });
  }

  get networkWords(): Words {
    if (!this.cache.networkWords) {
      writeWords(slot(0), this.words);
      core().cidr_network(slot(0), this.family, this.prefix, slot(1));
      this.cache.networkWords = readWords(slot(1));
    }
    return this.cache.networkWords;
  }

  get network(): string {
    this.cache.network ??= addrText({ family: this.family, words: this.networkWords });
    return this.cache.network;
  }

  /** The last address (all host bits set); the IPv4 broadcast address. */
  get broadcast(): string {
    if (this.cache.broadcast === undefined) {
      writeWords(slot(0), this.words);
      core().cidr_last(slot(0), this.family, this.prefix, slot(1));
      this.cache.broadcast = slotText(1, this.family);
    }
    return this.cache.broadcast;
  }

  get mask(): string {
    core().cidr_mask(this.family, this.prefix, slot(1));
    return slotText(1, this.family);
  }

  get hasHostBits(): boolean {
    writeWords(slot(0), this.words);
    return core().cidr_host_bits(slot(0), this.family, this.prefix) === 1;
  }

  get size(): bigint {
    return 1n << BigInt((this.family === 4 ? 32 : 128) - this.prefix);
  }

  /** `${ip}/${prefix}`, the address as written (Go's types.IPNet String()). */
  get written(): string {
    return `${this.ip}/${this.prefix}`;
  }

  toString(): string {
    return `${this.network}/${this.prefix}`;
  }

  /** Like Go's IPNet.Contains: an IPv4-mapped address counts as IPv4. Unparsable text is not contained. */
  contains(ip: string): boolean {
    let a = parseAddr(ip);
    if (typeof a === 'number') return false;
    if (this.family === 4) a = unmap(a);
    return this.containsAddr(a);
  }

  containsAddr(a: Addr): boolean {
    writeWords(slot(0), this.words);
    writeWords(slot(1), a.words);
    return core().cidr_contains(slot(0), this.family, this.prefix, slot(1), a.family) === 1;
  }

  containsCidr(other: Cidr | string): boolean {
    const o = typeof other === 'string' ? Cidr.parse(other) : other;
    return (
      o.family === this.family && o.prefix >= this.prefix && this.containsAddr({ family: o.family, words: o.words })
    );
  }

  overlaps(other: Cidr | string): boolean {
    const o = typeof other === 'string' ? Cidr.parse(other) : other;
    writeWords(slot(0), this.words);
    writeWords(slot(1), o.words);
    return core().cidr_overlaps(slot(0), this.family, this.prefix, slot(1), o.family, o.prefix) === 1;
  }

  /** network + n; a negative n counts from the end (-1 = last address). Throws outside the prefix. */
  nth(n: number | bigint): string {
    let v = BigInt(n);
    const fromEnd = v < 0n;
    if (fromEnd) v = -v - 1n;
    if (v >= this.size) throw new CoreError(`address ${n} is outside ${this}`, 'out of range');
    writeWords(slot(0), this.words);
    writeWords(slot(2), toWords(v));
    core().cidr_nth(slot(0), this.family, this.prefix, slot(2), fromEnd ? 1 : 0, slot(1));
    return slotText(1, this.family);
  }
}

/** A batch of IPv4 addresses kept resident in Wasm memory, for counting containment in one call. */
export class Ipv4Batch {
  private ptr: number;
  readonly length: number;

  constructor(addresses: Uint32Array) {
    const c = core();
    this.length = addresses.length;
    this.ptr = c.mem_alloc(Math.max(4, addresses.length * 4));
    new Uint32Array(c.memory.buffer).set(addresses, this.ptr >>> 2);
  }

  /** How many addresses of the batch lie inside an IPv4 CIDR. */
  countIn(cidr: Cidr): number {
    if (this.ptr === 0) throw new Error('Ipv4Batch used after dispose()');
    if (cidr.family !== 4) return 0;
    writeWords(slot(0), cidr.words);
    return core().contains_batch_v4(slot(0), cidr.prefix, this.ptr, this.length);
  }

  dispose(): void {
    if (this.ptr !== 0) core().mem_free(this.ptr);
    this.ptr = 0;
  }
}

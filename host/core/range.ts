// host-local range sets (containernetworking/plugins v1.9.1 plugins/ipam/host-local/backend/allocator/range.go,
// range_set.go and config.go): defaults, validation messages, containment and overlap.
import { CoreError, parseReason } from './errors.ts';
import { Cidr, parseAddr, addrText, unmap, type Addr, type Family } from './ip.ts';
import {
  core,
  u32,
  recordArea,
  slot,
  writeWords,
  readWords,
  RANGE_BYTES,
  RANGE_RECORD as R,
  MAX_RECORDS,
} from './wasm.ts';

export interface RangeConfig {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface Range {
  readonly family: Family;
  readonly subnet: Cidr;
  readonly rangeStart: string;
  readonly rangeEnd: string;
  readonly gateway: string;
  /** `start-end`, as the reference prints a range. */
  readonly text: string;
}

const WORDS_PER_RECORD = RANGE_BYTES / 4;

interface DecodedRange {
  subnet: Cidr;
  start?: Addr;
  end?: Addr;
  gateway?: Addr;
}

function decodeIP(text: string): Addr {
  const a = parseAddr(text);
  if (typeof a === 'number') throw new CoreError(`invalid IP address: ${text}`, parseReason(a));
  return a;
}

function decodeRange(c: RangeConfig): DecodedRange {
  return {
    subnet: Cidr.parse(c.subnet),
    start: c.rangeStart === undefined ? undefined : decodeIP(c.rangeStart),
    end: c.rangeEnd === undefined ? undefined : decodeIP(c.rangeEnd),
    gateway: c.gateway === undefined ? undefined : decodeIP(c.gateway),
  };
}

function writeRecord(at: number, d: DecodedRange): void {
  const w = u32();
  const word = (off: number) => (at + off) >>> 2;
  w.fill(0, word(0), word(RANGE_BYTES));
  writeWords(at + R.subnet, d.subnet.words);
  if (d.start) writeWords(at + R.start, d.start.words);
  if (d.end) writeWords(at + R.end, d.end.words);
  if (d.gateway) writeWords(at + R.gateway, d.gateway.words);
  w[word(R.subnetFamily)] = d.subnet.family;
  w[word(R.prefix)] = d.subnet.prefix;
  w[word(R.flags)] = (d.start ? R.fStart : 0) | (d.end ? R.fEnd : 0) | (d.gateway ? R.fGateway : 0);
  w[word(R.startFamily)] = d.start?.family ?? 0;
  w[word(R.endFamily)] = d.end?.family ?? 0;
  w[word(R.gatewayFamily)] = d.gateway?.family ?? 0;
}

/** The address at slot offset `off` of the record at `at`, with its family from byte offset `famOff`. */
function recordAddr(at: number, off: number, famOff: number): Addr {
  return { family: u32()[(at + famOff) >>> 2] as Family, words: readWords(at + off) };
}

function canonMessage(code: number, d: DecodedRange): string {
  const net = d.subnet.written;
  switch (code) {
    case 1:
      return `Network ${net} too small to allocate from`;
    case 2:
      return `Network has host bits set. For a subnet mask of length ${d.subnet.prefix} the network address is ${d.subnet.network}`;
    case 3:
      return `RangeStart ${addrText(unmap(d.start!))} not in network ${net}`;
    case 4:
      return `RangeEnd ${addrText(unmap(d.end!))} not in network ${net}`;
    case 5:
      return 'IPNet IP and Mask version mismatch';
    default:
      return `invalid range (code ${code})`;
  }
}

export class RangeSet {
  /** The canonicalized range records, as the Wasm core reads them. */
  readonly records: Uint32Array;

  private constructor(
    readonly family: Family,
    readonly ranges: readonly Range[],
    records: Uint32Array,
  ) {
    this.records = records;
  }

  /** Go RangeSet.Canonicalize on configured ranges; throws CoreError with the reference's message. */
  static parse(configs: RangeConfig[]): RangeSet {
    return RangeSet.canonicalize(configs.map(decodeRange));
  }

  private static canonicalize(decoded: DecodedRange[]): RangeSet {
    if (decoded.length === 0) throw new CoreError('empty range set', 'empty');
    if (decoded.length > MAX_RECORDS / 2)
      throw new CoreError(`too many ranges in a set (${decoded.length})`, 'too many');
    const c = core();
    const base = recordArea();
    const ranges: Range[] = [];
    let family: Family = 4;
    decoded.forEach((d, i) => {
      const at = base + i * RANGE_BYTES;
      writeRecord(at, d);
      const code = c.range_canon(at);
      if (code !== 0) throw new CoreError(canonMessage(code, d), 'invalid range');
      const start = recordAddr(at, R.start, R.startFamily);
      if (i === 0) family = start.family;
      else if (start.family !== family) throw new CoreError('mixed address families', 'mixed families');
      const rangeStart = addrText(start);
      const rangeEnd = addrText(recordAddr(at, R.end, R.endFamily));
      ranges.push({
        family: d.subnet.family,
        subnet: d.subnet,
        rangeStart,
        rangeEnd,
        gateway: addrText(recordAddr(at, R.gateway, R.gatewayFamily)),
        text: `${rangeStart}-${rangeEnd}`,
      });
    });
    const check = c.rangeset_check(base, decoded.length);
    if (check !== 0) {
      const i = (check >> 8) & 255,
        j = check & 255;
      throw new CoreError(`subnets ${ranges[i].text} and ${ranges[j].text} overlap`, 'overlap');
    }
    const records = u32().slice(base >>> 2, (base >>> 2) + decoded.length * WORDS_PER_RECORD);
    return new RangeSet(family, ranges, records);
  }

  /** Internal: parse each set's text first (as Go decodes JSON before validating), then canonicalize. */
  static parseAll(sets: RangeConfig[][]): RangeSet[] {
    const decoded = sets.map((s) => s.map(decodeRange));
    return decoded.map((d, i) => {
      try {
        return RangeSet.canonicalize(d);
      } catch (e) {
        if (e instanceof CoreError) throw new CoreError(`invalid range set ${i}: ${e.message}`, e.reason);
        throw e;
      }
    });
  }

  /** Write the records into the record area at index `first`; returns their address. */
  writeRecords(first = 0): number {
    const at = recordArea() + first * RANGE_BYTES;
    u32().set(this.records, at >>> 2);
    return at;
  }

  /** Index of the range holding ip (start/end aware, IPv4-mapped counts as IPv4), or -1. */
  indexOf(ip: string): number {
    const a = parseAddr(ip);
    if (typeof a === 'number') return -1;
    return this.indexOfAddr(unmap(a));
  }

  indexOfAddr(a: Addr): number {
    const at = this.writeRecords();
    writeWords(slot(3), a.words);
    for (let i = 0; i < this.ranges.length; i++) {
      if (core().range_contains(at + i * RANGE_BYTES, slot(3), a.family) === 1) return i;
    }
    return -1;
  }

  contains(ip: string): boolean {
    return this.indexOf(ip) >= 0;
  }

  rangeOf(ip: string): Range | undefined {
    return this.ranges[this.indexOf(ip)];
  }

  /** Go RangeSet.Overlaps: any range of one overlaps any range of the other. */
  overlaps(other: RangeSet): boolean {
    const a = this.writeRecords(0);
    const b = other.writeRecords(this.ranges.length);
    return core().rangesets_overlap(a, this.ranges.length, b, other.ranges.length) === 1;
  }

  toString(): string {
    return this.ranges.map((r) => r.text).join(',');
  }
}

function versionAtLeast030(v: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > 0 || min >= 3;
}

/**
 * host-local's LoadIPAMConfig checks over all range sets, in its order: `no IP ranges specified`,
 * `invalid range set <i>: <msg>`, `CNI version <v> does not support more than 1 address per family`
 * (only when cniVersion is given and below 0.3.0), `range set <i> overlaps with <j>`.
 */
export function parseRangeSets(sets: RangeConfig[][], opts: { cniVersion?: string } = {}): RangeSet[] {
  if (sets.length === 0) throw new CoreError('no IP ranges specified', 'no ranges');
  const parsed = RangeSet.parseAll(sets);
  const v4 = parsed.filter((s) => s.family === 4).length;
  const v6 = parsed.length - v4;
  if ((v4 > 1 || v6 > 1) && opts.cniVersion !== undefined && !versionAtLeast030(opts.cniVersion)) {
    throw new CoreError(
      `CNI version ${opts.cniVersion} does not support more than 1 address per family`,
      'too many ranges',
    );
  }
  for (let i = 0; i < parsed.length - 1; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      if (parsed[i].overlaps(parsed[j])) throw new CoreError(`range set ${i} overlaps with ${j}`, 'overlap');
    }
  }
  return parsed;
}

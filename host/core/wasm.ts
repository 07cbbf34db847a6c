// Loads build/core.wasm once per process (synchronously, on first use) and gives the other files of
// host/core typed access to its exports and to fixed areas of its scratch buffer.
import { readFileSync } from 'node:fs';
import { coreWasmPath } from '../paths.ts';

export interface CoreExports {
  memory: WebAssembly.Memory;
  scratch(): number;
  mem_alloc(size: number): number;
  mem_free(ptr: number): void;
  ip_parse(p: number, len: number, out: number): number;
  ip_format(slot: number, family: number, out: number): number;
  ip_next(slot: number, family: number, out: number): number;
  ip_prev(slot: number, family: number, out: number): number;
  ip_cmp(a: number, b: number): number;
  ip_canon(p: number, len: number, out: number): number;
  cidr_parse(p: number, len: number, out: number): number;
  cidr_network(slot: number, family: number, prefix: number, out: number): void;
  cidr_last(slot: number, family: number, prefix: number, out: number): void;
  cidr_mask(family: number, prefix: number, out: number): void;
  cidr_host_bits(slot: number, family: number, prefix: number): number;
  cidr_contains(net: number, family: number, prefix: number, ip: number, ipFamily: number): number;
  cidr_overlaps(a: number, fa: number, pa: number, b: number, fb: number, pb: number): number;
  cidr_nth(net: number, family: number, prefix: number, n: number, fromEnd: number, out: number): number;
  contains_batch_v4(net: number, prefix: number, addrs: number, n: number): number;
  range_canon(rec: number): number;
  range_contains(rec: number, slot: number, family: number): number;
  range_overlaps(a: number, b: number): number;
  rangeset_check(recs: number, n: number): number;
  rangesets_overlap(a: number, na: number, b: number, nb: number): number;
  range_layout(out: number): number;
  alloc_new(recs: number, n: number): number;
  alloc_delete(h: number): void;
  alloc_count(h: number): number;
  alloc_clear(h: number): void;
  alloc_next(h: number, last: number, lastFamily: number, out: number): number;
  alloc_many(h: number, max: number, last: number, lastFamily: number, out: number): number;
  alloc_reserve(h: number, slot: number, family: number): number;
  alloc_release(h: number, slot: number, family: number): number;
  alloc_is_reserved(h: number, slot: number, family: number): number;
  alloc_range_of(h: number, slot: number, family: number): number;
  alloc_load(h: number, p: number, n: number): number;
  alloc_release_packed(h: number, p: number, n: number): number;
  ncidr_new(net: number, family: number, clusterPrefix: number, nodePrefix: number): number;
  ncidr_delete(h: number): void;
  ncidr_capacity(h: number): number;
  ncidr_allocated(h: number): number;
  ncidr_alloc(h: number, out: number): number;
  ncidr_mark(h: number, slot: number, family: number, prefix: number, mode: number): number;
  quantity_parse(p: number, len: number, out: number): number;
  tbf_compute(
    rateBits: number,
    burstBits: number,
    tickInUsec: number,
    latencyMs: number,
    mode: number,
    out: number,
  ): number;
  psched_tick(p: number, len: number): number;
  mtu_pick(p: number, n: number, explicit: number): number;
  ovh_vxlan(family: number): number;
  ovh_geneve(optionBytes: number, family: number): number;
  ovh_wireguard(family: number): number;
  ovh_esp(iv: number, icv: number, block: number, tunnel: number, family: number, natT: number): number;
}

let exportsCache: CoreExports | undefined;
let base = 0;

export function core(): CoreExports {
  if (!exportsCache) {
    const module = new WebAssembly.Module(readFileSync(coreWasmPath));
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort(_msg: number, _file: number, line: number, column: number): never {
          throw new Error(`core.wasm aborted at ${line}:${column}`);
        },
      },
    });
    const x = instance.exports as unknown as CoreExports;
    checkRangeLayout(x, x.scratch() + 8448);
    exportsCache = x;
    base = x.scratch();
  }
  return exportsCache;
}

// Fixed areas of the 64 KiB scratch buffer.
export const TEXT_MAX = 4096;
export function textArea(): number {
  core();
  return base;
}
export function outTextArea(): number {
  core();
  return base + 4096;
}
/** Four 16-byte address slots (0..3). */
export function slot(i: number): number {
  core();
  return base + 8192 + i * 16;
}
/** Eight f64 result cells. */
export function f64Area(): number {
  core();
  return base + 8448;
}
/**
 * The range record's layout: byte offsets of its fields, its size and its flag bits. assembly/range.ts defines
 * it (REC_*); this mirror, in range_layout()'s order, is checked against the module when it loads.
 */
export const RANGE_RECORD = {
  bytes: 96,
  subnet: 0,
  start: 16,
  end: 32,
  gateway: 48,
  subnetFamily: 64,
  prefix: 68,
  flags: 72,
  startFamily: 76,
  endFamily: 80,
  gatewayFamily: 84,
  fStart: 1,
  fEnd: 2,
  fGateway: 4,
} as const;
export const RANGE_BYTES = RANGE_RECORD.bytes;

/** What the module says the layout is (range_layout's i32s, written at `at`). */
export function moduleRangeLayout(x: CoreExports, at: number): number[] {
  const n = x.range_layout(at);
  return [...new Int32Array(x.memory.buffer, at, n)];
}

function checkRangeLayout(x: CoreExports, at: number): void {
  const theirs = moduleRangeLayout(x, at);
  const ours = Object.values(RANGE_RECORD);
  if (theirs.join() !== ours.join()) {
    throw new Error(
      `core.wasm's range record layout [${theirs}] is not host/core's [${ours}]: rebuild (build.sh) or update RANGE_RECORD`,
    );
  }
}
export const MAX_RECORDS = 512;
/** Room for MAX_RECORDS range records (two sets side by side use halves). */
export function recordArea(): number {
  core();
  return base + 12288;
}

let views: { buf: ArrayBuffer; u8: Uint8Array; u32: Uint32Array; i32: Int32Array; f64: Float64Array } | undefined;
function refresh() {
  const buf = core().memory.buffer;
  if (!views || views.buf !== buf) {
    views = {
      buf,
      u8: new Uint8Array(buf),
      u32: new Uint32Array(buf),
      i32: new Int32Array(buf),
      f64: new Float64Array(buf),
    };
  }
  return views;
}
export function u8(): Uint8Array {
  return refresh().u8;
}
export function u32(): Uint32Array {
  return refresh().u32;
}
export function i32(): Int32Array {
  return refresh().i32;
}
export function f64(): Float64Array {
  return refresh().f64;
}

/** Write text as bytes into the text area; returns its length, or -1 if it cannot be ASCII address text. */
export function writeText(text: string, at = textArea()): number {
  const n = text.length;
  if (n > TEXT_MAX) return -1;
  const mem = u8();
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    mem[at + i] = c < 128 ? c : 0xff;
  }
  return n;
}

const ascii = new TextDecoder('latin1');
/** The core only writes ASCII. */
export function readText(at: number, len: number): string {
  return ascii.decode(u8().subarray(at, at + len));
}

export function readWords(at: number): [number, number, number, number] {
  const w = u32();
  const i = at >>> 2;
  return [w[i], w[i + 1], w[i + 2], w[i + 3]];
}
export function writeWords(at: number, words: ArrayLike<number>): void {
  const w = u32();
  const i = at >>> 2;
  w[i] = words[0];
  w[i + 1] = words[1];
  w[i + 2] = words[2];
  w[i + 3] = words[3];
}

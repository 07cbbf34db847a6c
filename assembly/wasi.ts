// A WASI command around the same core (build/core.wasi.wasm), for runtimes without a JS host
// (wasmtime, wasmer, jco run). Usage: core.wasi.wasm <op> <arg>...; prints one line per argument.
//   ip <text>...             canonical text, or "error <code>"
//   cidr <text>...           "<network>/<prefix> <last address>", or "error <code>"
//   quantity <text>...       the value rounded up, or "error <code>"
//   alloc <subnet> <count>   host-local allocation order in a fresh range: one address per line
import { ip_parse, ip_format, cidr_parse, cidr_network, cidr_last } from './cidr';
import { range_canon, RANGE_BYTES, REC_SUBNET, REC_SUBNET_FAMILY, REC_PREFIX } from './range';
import { alloc_new, alloc_next, alloc_reserve, alloc_delete } from './allocator';
import { quantity_parse } from './bandwidth';
import { scratch } from './mem';

function put(s: string): i32 {
  const buf = String.UTF8.encode(s);
  const n = buf.byteLength;
  memory.copy(scratch(), changetype<usize>(buf), <usize>n);
  return n;
}
function text(at: usize, len: i32): string { return String.UTF8.decodeUnsafe(at, <usize>len); }
function slotAt(i: i32): usize { return scratch() + 8192 + <usize>(i * 16); }
function fmt(slot: usize, family: i32): string {
  const out = scratch() + 4096;
  return text(out, ip_format(slot, family, out));
}

function ip(arg: string): string {
  const f = ip_parse(scratch(), put(arg), slotAt(0));
  return f < 0 ? `error ${f}` : fmt(slotAt(0), f);
}

function cidr(arg: string): string {
  const r = cidr_parse(scratch(), put(arg), slotAt(0));
  if (r < 0) return `error ${r}`;
  const family = r >> 8, prefix = r & 255;
  cidr_network(slotAt(0), family, prefix, slotAt(1));
  cidr_last(slotAt(0), family, prefix, slotAt(2));
  return `${fmt(slotAt(1), family)}/${prefix} ${fmt(slotAt(2), family)}`;
}

function quantity(arg: string): string {
  const out = scratch() + 8448;
  const r = quantity_parse(scratch(), put(arg), out);
  if (r != 0) return `error ${r}`;
  const v = load<f64>(out);
  return v >= 9223372036854775807.0 ? "9223372036854775807" : v <= -9223372036854775807.0 ? "-9223372036854775807" : (<i64>v).toString();
}

function alloc(subnet: string, count: i32): void {
  const rec = scratch() + 12288;
  memory.fill(rec, 0, RANGE_BYTES);
  const r = cidr_parse(scratch(), put(subnet), rec + REC_SUBNET);
  if (r < 0) { console.log(`error ${r}`); return; }
  store<i32>(rec, r >> 8, REC_SUBNET_FAMILY);
  store<i32>(rec, r & 255, REC_PREFIX);
  const code = range_canon(rec);
  if (code != 0) { console.log(`error range ${code}`); return; }
  const h = alloc_new(rec, 1);
  let last: usize = 0;
  for (let i = 0; i < count; i++) {
    if (alloc_next(h, last, r >> 8, slotAt(1)) != 1) { console.log('exhausted'); break; }
    alloc_reserve(h, slotAt(1), r >> 8);
    console.log(fmt(slotAt(1), r >> 8));
    memory.copy(slotAt(2), slotAt(1), 16);
    last = slotAt(2);
  }
  alloc_delete(h);
}

const argv = process.argv;
if (argv.length < 2) {
  console.log('usage: core.wasi.wasm ip|cidr|quantity|alloc <arg>...');
} else {
  const op = argv[1];
  if (op == 'alloc' && argv.length >= 4) {
    alloc(argv[2], I32.parseInt(argv[3]));
  } else {
    for (let i = 2; i < argv.length; i++) {
      if (op == 'ip') console.log(ip(argv[i]));
      else if (op == 'cidr') console.log(cidr(argv[i]));
      else if (op == 'quantity') console.log(quantity(argv[i]));
      else console.log(`unknown op ${op}`);
    }
  }
}

/** For the component-model adapter (jco new --wasi-command): allocate through our heap, not by growing memory. */
export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  const p = heap.alloc(newSize + align);
  const aligned = (p + align - 1) & ~(align - 1);
  if (oldPtr != 0) memory.copy(aligned, oldPtr, oldSize < newSize ? oldSize : newSize);
  return aligned;
}

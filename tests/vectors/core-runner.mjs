// Runs tests/vectors/core.json against build/core.wasm with nothing but the WebAssembly API, so the same
// file runs under Node, Bun and Deno. Prints one JSON array: the result of every vector, in order.
// Usage: <runtime> core-runner.mjs [path/to/core.wasm] [path/to/core.json]
import { readFileSync } from 'node:fs';

const here = new URL('.', import.meta.url);
const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const wasmPath = args[0] ?? new URL('../../build/core.wasm', here);
const vectorPath = args[1] ?? new URL('./core.json', here);

const module = new WebAssembly.Module(readFileSync(wasmPath));
const instance = new WebAssembly.Instance(module, {
  env: {
    abort() {
      throw new Error('core.wasm abort');
    },
  },
});
const x = instance.exports;
const base = x.scratch();
const TEXT = base,
  OUT = base + 4096,
  SLOT = (i) => base + 8192 + 16 * i,
  F64 = base + 8448,
  RECS = base + 12288;
const mem = () => new Uint8Array(x.memory.buffer);
const words = () => new Uint32Array(x.memory.buffer);

// The range record's layout, as the module states it (range_layout: size, slot offsets, i32 field offsets, flags).
const REC = (() => {
  const n = x.range_layout(F64);
  const [bytes, subnet, start, end, gateway, family, prefix, flags, startFam, endFam, gwFam, fStart, fEnd, fGw] =
    new Int32Array(x.memory.buffer, F64, n);
  return { bytes, subnet, start, end, gateway, family, prefix, flags, startFam, endFam, gwFam, fStart, fEnd, fGw };
})();

function put(text, at = TEXT) {
  const m = mem();
  for (let i = 0; i < text.length; i++) m[at + i] = text.charCodeAt(i) & 0xff;
  return text.length;
}
function get(at, len) {
  return String.fromCharCode(...mem().subarray(at, at + len));
}
function parseIp(text, slot) {
  return x.ip_parse(TEXT, put(text), SLOT(slot));
}
function fmt(slot, family) {
  return get(OUT, x.ip_format(SLOT(slot), family, OUT));
}
function copySlot(from, to) {
  words().copyWithin(to >>> 2, from >>> 2, (from >>> 2) + 4);
}

function cidr(text) {
  const r = x.cidr_parse(TEXT, put(text), SLOT(0));
  if (r < 0) return { error: r };
  const family = r >> 8,
    prefix = r & 255;
  x.cidr_network(SLOT(0), family, prefix, SLOT(1));
  x.cidr_last(SLOT(0), family, prefix, SLOT(2));
  return {
    family,
    prefix,
    network: fmt(1, family),
    last: fmt(2, family),
    hostBits: x.cidr_host_bits(SLOT(0), family, prefix) === 1,
  };
}

function contains(c, ip) {
  const r = x.cidr_parse(TEXT, put(c), SLOT(0));
  const f = parseIp(ip, 1);
  return x.cidr_contains(SLOT(0), r >> 8, r & 255, SLOT(1), f) === 1;
}

// Range records (assembly/range.ts): subnet, start, end, gateway slots; family, prefix, flags, families.
function buildRanges(ranges) {
  const w = words();
  for (let i = 0; i < ranges.length; i++) {
    const at = RECS + REC.bytes * i,
      k = at >>> 2,
      r = ranges[i];
    w.fill(0, k, k + REC.bytes / 4);
    const c = x.cidr_parse(TEXT, put(r.subnet), SLOT(0));
    if (c < 0) return { error: `cidr ${c}` };
    copySlot(SLOT(0), at + REC.subnet);
    let flags = 0;
    const fields = [
      ['rangeStart', REC.start, REC.fStart, REC.startFam],
      ['rangeEnd', REC.end, REC.fEnd, REC.endFam],
      ['gateway', REC.gateway, REC.fGw, REC.gwFam],
    ];
    for (const [name, off, flag, famOff] of fields) {
      if (r[name] === undefined) continue;
      const f = parseIp(r[name], 0);
      if (f < 0) return { error: `ip ${f}` };
      copySlot(SLOT(0), at + off);
      words()[(at + famOff) >>> 2] = f;
      flags |= flag;
    }
    const ww = words();
    ww[(at + REC.family) >>> 2] = c >> 8;
    ww[(at + REC.prefix) >>> 2] = c & 255;
    ww[(at + REC.flags) >>> 2] = flags;
    const code = x.range_canon(at);
    if (code !== 0) return { error: `range ${i}: ${code}` };
  }
  const check = x.rangeset_check(RECS, ranges.length);
  if (check !== 0) return { error: `set ${check}` };
  return { ok: true };
}
function rangeText(i) {
  const at = RECS + REC.bytes * i,
    fam = words()[(at + REC.family) >>> 2];
  const t = (off) => get(OUT, x.ip_format(at + off, fam, OUT));
  return { start: t(REC.start), end: t(REC.end), gateway: t(REC.gateway) };
}

function alloc(v) {
  const built = buildRanges(v.ranges);
  if (built.error) return built;
  const family = words()[(RECS + REC.family) >>> 2];
  const h = x.alloc_new(RECS, v.ranges.length);
  try {
    for (const ip of v.reserved ?? []) {
      const f = parseIp(ip, 0);
      x.alloc_reserve(h, SLOT(0), f);
    }
    let last = 0,
      lastFam = 0;
    if (v.last !== undefined) {
      lastFam = parseIp(v.last, 1);
      if (lastFam > 0) last = SLOT(1);
    }
    const out = [];
    for (let i = 0; i < (v.count ?? 1); i++) {
      if (x.alloc_next(h, last, lastFam, SLOT(2)) !== 1) {
        out.push(null);
        break;
      }
      x.alloc_reserve(h, SLOT(2), family);
      out.push(fmt(2, family));
      copySlot(SLOT(2), SLOT(1));
      last = SLOT(1);
      lastFam = family;
    }
    return out;
  } finally {
    x.alloc_delete(h);
  }
}

function nodecidr(v) {
  const r = x.cidr_parse(TEXT, put(v.cluster), SLOT(0));
  const h = x.ncidr_new(SLOT(0), r >> 8, r & 255, v.mask);
  if (h < 0) return { error: h };
  const out = [];
  for (let i = 0; i < v.count; i++) out.push(x.ncidr_alloc(h, SLOT(1)) === 1 ? `${fmt(1, r >> 8)}/${v.mask}` : null);
  x.ncidr_delete(h);
  return out;
}

function run(v) {
  switch (v.op) {
    case 'ip': {
      const f = parseIp(v.in, 0);
      return f < 0 ? { error: f } : fmt(0, f);
    }
    case 'cidr':
      return cidr(v.in);
    case 'contains':
      return contains(v.cidr, v.ip);
    case 'range': {
      const b = buildRanges(v.ranges);
      return b.error ? b : v.ranges.map((_, i) => rangeText(i));
    }
    case 'alloc':
      return alloc(v);
    case 'quantity': {
      const r = x.quantity_parse(TEXT, put(v.in), F64);
      return r !== 0 ? { error: r } : new Float64Array(x.memory.buffer)[F64 >>> 3];
    }
    case 'tbf': {
      const r = x.tbf_compute(v.rate, v.burst, v.tick ?? 15.625, 25, v.mode ?? 0, F64);
      return r !== 0 ? { error: r } : Array.from(new Float64Array(x.memory.buffer, F64, 4));
    }
    case 'mtu': {
      const w = words();
      v.interfaces.forEach(([mtu, flags], i) => {
        w[(RECS >>> 2) + 2 * i] = mtu;
        w[(RECS >>> 2) + 2 * i + 1] = flags;
      });
      return x.mtu_pick(RECS, v.interfaces.length, v.explicit ?? 0);
    }
    case 'nodecidr':
      return nodecidr(v);
    default:
      return { error: `unknown op ${v.op}` };
  }
}

const { vectors } = JSON.parse(readFileSync(vectorPath, 'utf8'));
console.log(JSON.stringify(vectors.map(run)));

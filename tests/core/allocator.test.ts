import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Allocator, RangeSet, Cidr, nextIP, type RangeConfig } from '../../host/core/index.ts';
import { core } from '../../host/core/wasm.ts';

function alloc(ranges: RangeConfig[], reserved: string[] = []): Allocator {
  const a = new Allocator(RangeSet.parse(ranges));
  for (const ip of reserved) assert.ok(a.reserve(ip), `reserve ${ip}`);
  return a;
}

const order = suite('core: allocation order (allocator_test.go vectors)');
const vectors: Array<[string, RangeConfig[], string[], string | undefined, string | null]> = [
  ['fresh /29 → .2 (gateway .1 skipped)', [{ subnet: '10.0.0.0/29' }], [], undefined, '10.0.0.2'],
  ['fresh /30 → .2', [{ subnet: '10.0.0.0/30' }], [], undefined, '10.0.0.2'],
  ['last .5 → .6', [{ subnet: '10.0.0.0/29' }], [], '10.0.0.5', '10.0.0.6'],
  ['last .3 with .4 and .5 taken → .6', [{ subnet: '10.0.0.0/29' }], ['10.0.0.4', '10.0.0.5'], '10.0.0.3', '10.0.0.6'],
  ['last .5 with .6 taken → wraps to .2', [{ subnet: '10.0.0.0/29' }], ['10.0.0.6'], '10.0.0.5', '10.0.0.2'],
  ['last outside the set → from the beginning', [{ subnet: '10.0.0.0/29' }], [], '10.0.0.128', '10.0.0.2'],
  [
    'only the last reserved one is free → it is tried last',
    [{ subnet: '10.0.0.0/29' }],
    ['10.0.0.2', '10.0.0.4', '10.0.0.5', '10.0.0.6'],
    '10.0.0.3',
    '10.0.0.3',
  ],
  [
    'two ranges, fresh → first range',
    [{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }],
    [],
    undefined,
    '10.0.0.2',
  ],
  [
    'two ranges, last at the end of the first → next range',
    [{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }],
    [],
    '10.0.0.2',
    '10.0.1.2',
  ],
  [
    'three ranges, last at the end of the third → wraps to the first',
    [{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }, { subnet: '10.0.2.0/30' }],
    [],
    '10.0.2.2',
    '10.0.0.2',
  ],
  [
    'full /29 → null',
    [{ subnet: '10.0.0.0/29' }],
    ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'],
    undefined,
    null,
  ],
  [
    'custom gateway .254 on a /24 → .1 first (observed)',
    [{ subnet: '10.1.2.0/24', gateway: '10.1.2.254' }],
    [],
    undefined,
    '10.1.2.1',
  ],
  [
    'explicit rangeStart = network makes the network allocatable',
    [{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.0', gateway: '10.1.2.254' }],
    [],
    undefined,
    '10.1.2.0',
  ],
  ['IPv6 fresh → ::2', [{ subnet: '2001:db8:1::/64' }], [], undefined, '2001:db8:1::2'],
  [
    'IPv6 last at the very end → wraps to ::2',
    [{ subnet: '2001:db8:1::/64' }],
    [],
    '2001:db8:1:0:ffff:ffff:ffff:ffff',
    '2001:db8:1::2',
  ],
  [
    'IPv6 last far beyond the bitmap window → the next one',
    [{ subnet: '2001:db8:1::/64' }],
    [],
    '2001:db8:1::1:0:0',
    '2001:db8:1::1:0:1',
  ],
  ['IPv4-mapped last reserved counts as IPv4', [{ subnet: '10.0.0.0/29' }], [], '::ffff:10.0.0.5', '10.0.0.6'],
  ['unparsable last reserved → from the beginning', [{ subnet: '10.0.0.0/29' }], [], 'garbage', '10.0.0.2'],
];
for (const [name, ranges, reserved, last, want] of vectors) {
  order(name, () => {
    const a = alloc(ranges, reserved);
    assert.is(a.nextFree(last), want);
    a.dispose();
  });
}
order('the broadcast address is never handed out: /29 yields .2-.6 then nothing', () => {
  const a = alloc([{ subnet: '10.0.0.0/29' }]);
  const got: string[] = [];
  let last: string | null = null;
  for (let ip = a.allocate(last); ip; ip = a.allocate(last)) {
    got.push(ip);
    last = ip;
  }
  assert.equal(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  a.dispose();
});
order('round robin: allocate, release, allocate again gives the next address', () => {
  const a = alloc([{ subnet: '10.0.0.0/29' }]);
  const first = a.allocate()!;
  assert.is(first, '10.0.0.2');
  assert.ok(a.release(first));
  assert.is(a.allocate(first), '10.0.0.3');
  a.dispose();
});
order("a range's own gateway is skipped anywhere inside the range", () => {
  const a = alloc([{ subnet: '10.0.0.0/28', gateway: '10.0.0.7' }]);
  assert.is(a.nextFree('10.0.0.6'), '10.0.0.8');
  a.dispose();
});
order('a gateway beyond the IPv6 window is skipped too (sparse part)', () => {
  const a = alloc([{ subnet: '2001:db8::/64', gateway: '2001:db8::1:0:5' }], ['2001:db8::1:0:4']);
  assert.is(a.nextFree('2001:db8::1:0:3'), '2001:db8::1:0:6');
  a.dispose();
});
order('sparse reservations right after the window boundary are walked over', () => {
  const a = alloc([{ subnet: '2001:db8::/64' }]);
  const start = Cidr.parse('2001:db8::/64').nth(1); // rangeStart
  const windowEnd = Cidr.parse('2001:db8::/64').nth(1 << 20); // start + 2^20 - 1
  let ip = nextIP(windowEnd);
  for (let i = 0; i < 6; i++) {
    assert.ok(a.reserve(ip));
    ip = nextIP(ip);
  }
  assert.is(a.nextFree(windowEnd), ip);
  assert.ok(a.isReserved(nextIP(windowEnd)));
  assert.not.ok(a.isReserved(ip));
  assert.is(start, '2001:db8::1');
  a.dispose();
});

const ops = suite('core: allocator reserve/release/bulk');
ops('reserve/release/isReserved report changes and reject addresses outside the set', () => {
  const a = alloc([{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.10', rangeEnd: '10.1.2.20' }]);
  assert.ok(a.reserve('10.1.2.10'));
  assert.not.ok(a.reserve('10.1.2.10'));
  assert.ok(a.isReserved('10.1.2.10'));
  assert.not.ok(a.reserve('10.1.2.9'));
  assert.not.ok(a.reserve('10.1.2.21'));
  assert.not.ok(a.reserve('2001:db8::1'));
  assert.not.ok(a.reserve('nonsense'));
  assert.is(a.reservedCount, 1);
  assert.ok(a.release('10.1.2.10'));
  assert.not.ok(a.release('10.1.2.10'));
  assert.is(a.reservedCount, 0);
  a.dispose();
});
ops('loadReserved ignores other families, other sets and garbage (files of other range sets)', () => {
  const a = alloc([{ subnet: '10.1.2.0/24' }]);
  const n = a.loadReserved([
    '10.1.2.2',
    '10.1.2.3',
    '10.1.2.3',
    'last_reserved_ip.0',
    'lock',
    '2001:db8::2',
    '10.9.9.9',
    '::ffff:10.1.2.4',
  ]);
  assert.is(n, 3);
  assert.is(a.reservedCount, 3);
  assert.is(a.nextFree(), '10.1.2.5');
  a.dispose();
});
ops('IPv6 bulk load and packed release', () => {
  const a = alloc([{ subnet: '2001:db8:1::/64' }]);
  assert.is(a.loadReserved(['2001:db8:1::2', '2001:db8:1::3', '2001:db8:1::ffff:0:1']), 3);
  assert.is(a.nextFree(), '2001:db8:1::4');
  assert.is(a.releasePacked(Uint32Array.from([0x20010db8, 0x00010000, 0xffff, 0x1])), 1);
  assert.is(a.reservedCount, 2);
  a.dispose();
});
ops('allocateMany fills a /16 in order, releasePacked empties it', () => {
  const a = alloc([{ subnet: '10.200.0.0/16' }]);
  const r = a.allocateMany(1 << 20);
  assert.is(r.count, 65533);
  assert.is(r.last, '10.200.255.254');
  assert.is(a.nextFree(), null);
  const words = new Uint32Array(65536);
  for (let i = 0; i < 65536; i++) words[i] = (0x0ac80000 + i) >>> 0;
  assert.is(a.releasePacked(words), 65533);
  assert.is(a.reservedCount, 0);
  assert.is(a.nextFree(r.last), '10.200.0.2');
  a.dispose();
});
ops('a /12 (1M addresses) fills completely and clears', () => {
  const a = alloc([{ subnet: '10.16.0.0/12' }]);
  const r = a.allocateMany(2_000_000);
  assert.is(r.count, (1 << 20) - 3);
  assert.is(a.allocate(r.last), null);
  a.clear();
  assert.is(a.reservedCount, 0);
  assert.is(a.nextFree(), '10.16.0.2');
  a.dispose();
});
ops('allocateMany resumes after the last reserved address and wraps', () => {
  const a = alloc([{ subnet: '10.0.0.0/29' }]);
  const r = a.allocateMany(3, '10.0.0.4');
  assert.equal(r, { count: 3, last: '10.0.0.2' });
  assert.ok(a.isReserved('10.0.0.5') && a.isReserved('10.0.0.6') && a.isReserved('10.0.0.2'));
  a.dispose();
});
ops('dispose frees the state; using it afterwards is an error', () => {
  const a = alloc([{ subnet: '10.0.0.0/24' }]);
  a.dispose();
  a.dispose();
  assert.throws(() => a.nextFree(), /dispose/);
});
ops('many allocators created and disposed reuse memory', () => {
  const warm = alloc([{ subnet: '10.16.0.0/12' }]);
  warm.dispose();
  const before = core().memory.buffer.byteLength;
  for (let i = 0; i < 300; i++) {
    const a = alloc([{ subnet: '10.16.0.0/12' }]);
    a.allocateMany(10);
    a.dispose();
  }
  const a = alloc([{ subnet: '10.16.0.0/12' }]);
  assert.is(a.nextFree(), '10.16.0.2');
  a.dispose();
  assert.is(core().memory.buffer.byteLength, before);
});

// A literal port of the reference RangeIter (plugins/ipam/host-local/backend/allocator/allocator.go v1.9.1) over IPv4
// numbers, used as the oracle.
interface R {
  start: number;
  end: number;
  gw: number;
}
function referenceNext(ranges: R[], reserved: Set<number>, last?: number): number | null {
  const n = ranges.length;
  const holding = (ip: number) => ranges.findIndex((r) => ip >= r.start && ip <= r.end);
  let idx = 0;
  let cur: number | null = null;
  let startIP: number | null = null;
  if (last !== undefined && holding(last) >= 0) {
    idx = holding(last);
    cur = last;
  }
  const next = (): number | null => {
    let r = ranges[idx];
    if (cur === null) {
      cur = r.start;
      startIP = cur;
      return cur === r.gw ? next() : cur;
    }
    if (cur === r.end) {
      idx = (idx + 1) % n;
      r = ranges[idx];
      cur = r.start;
    } else cur++;
    if (startIP === null) startIP = cur;
    else if (cur === startIP) return null;
    return cur === r.gw ? next() : cur;
  };
  for (;;) {
    const c = next();
    if (c === null || !reserved.has(c)) return c;
  }
}
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
const quad = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
function randomSet(r: () => number): { configs: RangeConfig[]; model: R[] } {
  const count = 1 + (r() % 3);
  const thirds = [...new Set(Array.from({ length: count }, () => r() % 8))];
  const configs: RangeConfig[] = [];
  const model: R[] = [];
  for (const t of thirds) {
    const prefix = 26 + (r() % 5); // /26../30
    const net = (0x0a000000 | (t << 8)) >>> 0;
    const size = 2 ** (32 - prefix);
    let start = net + 1,
      end = net + size - 2,
      gw = net + 1;
    const cfg: RangeConfig = { subnet: `${quad(net)}/${prefix}` };
    if (r() % 3 === 0) {
      start = net + (r() % (size - 1));
      cfg.rangeStart = quad(start);
    }
    if (r() % 3 === 0) {
      end = start + (r() % (net + size - start));
      cfg.rangeEnd = quad(end);
    }
    if (r() % 2 === 0) {
      gw = net + (r() % size);
      cfg.gateway = quad(gw);
    }
    configs.push(cfg);
    model.push({ start, end, gw });
  }
  return { configs, model };
}

const props = suite('core: allocator properties');
props('nextFree equals a literal port of the reference iterator (1500 random sets)', () => {
  const r = rng(42);
  for (let i = 0; i < 1500; i++) {
    const { configs, model } = randomSet(r);
    const a = new Allocator(RangeSet.parse(configs));
    const reserved = new Set<number>();
    for (const m of model)
      for (let ip = m.start; ip <= m.end; ip++) if (r() % 3 === 0 && a.reserve(quad(ip))) reserved.add(ip);
    const pick = r() % 4;
    const any = model[r() % model.length];
    const last =
      pick === 0
        ? undefined
        : pick === 1
          ? any.end
          : pick === 2
            ? any.start + (r() % (any.end - any.start + 1))
            : 0x0b000000;
    const want = referenceNext(model, reserved, last);
    assert.is(
      a.nextFree(last === undefined ? undefined : quad(last)),
      want === null ? null : quad(want),
      JSON.stringify({ configs, last: last && quad(last) }),
    );
    a.dispose();
  }
});
props('allocating until exhaustion never hands out a reserved, gateway, network or broadcast address', () => {
  const r = rng(99);
  for (let i = 0; i < 200; i++) {
    const prefix = 24 + (r() % 7);
    const net = (0x0a000000 | ((r() % 256) << 8)) >>> 0;
    const c = Cidr.parse(`${quad(net)}/${prefix}`);
    const a = new Allocator(RangeSet.parse([{ subnet: c.toString() }]));
    const pre = new Set<string>();
    for (let k = 0; k < 5; k++) {
      const ip = c.nth(2 + (r() % (Number(c.size) - 3)));
      if (a.reserve(ip)) pre.add(ip);
    }
    const seen = new Set<string>();
    let last: string | null = null;
    for (let ip = a.allocate(last); ip; ip = a.allocate(last)) {
      assert.not.ok(pre.has(ip) || seen.has(ip), ip);
      assert.ok(ip !== c.network && ip !== c.broadcast && ip !== c.nth(1), ip);
      seen.add(ip);
      last = ip;
    }
    assert.is(seen.size + pre.size, Number(c.size) - 3);
    for (const ip of seen) assert.ok(a.release(ip));
    assert.is(a.reservedCount, pre.size);
    for (const ip of pre) a.release(ip);
    assert.is(a.reservedCount, 0);
    a.dispose();
  }
});
props('fill then release everything leaves it empty (multi-range sets, random last)', () => {
  const r = rng(5);
  for (let i = 0; i < 100; i++) {
    const { configs } = randomSet(r);
    const a = new Allocator(RangeSet.parse(configs));
    const res = a.allocateMany(1 << 16, r() % 2 ? undefined : '10.0.0.1');
    assert.is(a.reservedCount, res.count);
    assert.is(a.nextFree(), null);
    const ips: string[] = [];
    for (const rg of a.set.ranges)
      for (let ip = rg.rangeStart; ; ip = nextIP(ip)) {
        ips.push(ip);
        if (ip === rg.rangeEnd) break;
      }
    let released = 0;
    for (const ip of ips) if (a.release(ip)) released++;
    assert.is(released, res.count);
    assert.is(a.reservedCount, 0);
    a.dispose();
  }
});

order.run();
ops.run();
props.run();

const many = suite('core: allocateMany equals repeated allocate()');
many('random IPv4 sets, random reservations and starting points (300 cases)', () => {
  const r = rng(77);
  for (let i = 0; i < 300; i++) {
    const { configs, model } = randomSet(r);
    const one = new Allocator(RangeSet.parse(configs));
    const bulk = new Allocator(RangeSet.parse(configs));
    for (const m of model)
      for (let ip = m.start; ip <= m.end; ip++)
        if (r() % 4 === 0) {
          one.reserve(quad(ip));
          bulk.reserve(quad(ip));
        }
    const k = r() % 40;
    const start = r() % 2 ? undefined : quad(model[0].start + (r() % (model[0].end - model[0].start + 1)));
    let last: string | null | undefined = start;
    let count = 0;
    for (; count < k; count++) {
      const ip = one.allocate(last);
      if (!ip) break;
      last = ip;
    }
    const res = bulk.allocateMany(k, start);
    assert.is(res.count, count);
    if (count > 0) assert.is(res.last, last);
    assert.is(bulk.reservedCount, one.reservedCount);
    assert.is(bulk.nextFree(res.last ?? start), one.nextFree(last));
    one.dispose();
    bulk.dispose();
  }
});
many('IPv6 across the end of the bitmap window into the sparse part', () => {
  const a = alloc([{ subnet: '2001:db8::/64' }], ['2001:db8::10:2']);
  const r = a.allocateMany((1 << 20) + 4);
  assert.is(r.count, (1 << 20) + 4);
  assert.is(r.last, '2001:db8::10:6');
  assert.is(a.reservedCount, (1 << 20) + 5);
  assert.is(a.nextFree(r.last), '2001:db8::10:7');
  const b = alloc([{ subnet: '2001:db8::/64' }], ['2001:db8::10:2']);
  let last: string | null = '2001:db8::f:ffff';
  const seq: string[] = [];
  for (let i = 0; i < 5; i++) {
    last = b.allocate(last);
    seq.push(last!);
  }
  assert.equal(seq, ['2001:db8::10:0', '2001:db8::10:1', '2001:db8::10:3', '2001:db8::10:4', '2001:db8::10:5']);
  assert.equal(b.allocateMany(3, '2001:db8::f:ffff').last, '2001:db8::10:8');
  a.dispose();
  b.dispose();
});
many('a gateway of the other family never hides a candidate (Go net.IP.Equal)', () => {
  const a = alloc([{ subnet: '10.0.0.0/29', gateway: '::a00:2' }]);
  assert.is(a.set.ranges[0].gateway, '::a00:2');
  assert.is(a.nextFree(), '10.0.0.1');
  assert.is(a.nextFree('10.0.0.1'), '10.0.0.2');
  a.dispose();
});

many.run();

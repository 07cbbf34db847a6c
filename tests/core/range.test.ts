import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RangeSet, parseRangeSets, CoreError, type RangeConfig } from '../../host/core/index.ts';

function fails(fn: () => unknown, message: string) {
  try {
    fn();
    assert.unreachable(`expected: ${message}`);
  } catch (e) {
    assert.instance(e, CoreError);
    assert.is((e as Error).message, message);
  }
}
const one = (r: RangeConfig) => RangeSet.parse([r]).ranges[0];

const defaults = suite('core: host-local range defaults (range_test.go)');
defaults('clean /24: start .1, end .254, gateway .1', () => {
  const r = one({ subnet: '192.0.2.0/24' });
  assert.equal(
    [r.rangeStart, r.rangeEnd, r.gateway, r.text],
    ['192.0.2.1', '192.0.2.254', '192.0.2.1', '192.0.2.1-192.0.2.254'],
  );
});
defaults('smaller subnet /25', () => {
  const r = one({ subnet: '192.0.2.0/25' });
  assert.equal([r.rangeStart, r.rangeEnd, r.gateway], ['192.0.2.1', '192.0.2.126', '192.0.2.1']);
});
defaults('/30 is the smallest IPv4 subnet', () => {
  const r = one({ subnet: '10.0.0.0/30' });
  assert.equal([r.rangeStart, r.rangeEnd, r.gateway], ['10.0.0.1', '10.0.0.2', '10.0.0.1']);
});
defaults('IPv6 /64: end is the last address (no broadcast)', () => {
  const r = one({ subnet: '2001:db8:1::/64' });
  assert.equal(
    [r.rangeStart, r.rangeEnd, r.gateway],
    ['2001:db8:1::1', '2001:db8:1:0:ffff:ffff:ffff:ffff', '2001:db8:1::1'],
  );
});
defaults('IPv6 /126 is the smallest IPv6 subnet', () => {
  const r = one({ subnet: '2001:db8::/126' });
  assert.equal([r.rangeStart, r.rangeEnd], ['2001:db8::1', '2001:db8::3']);
});
defaults('all fields given are kept', () => {
  const r = one({ subnet: '10.1.2.0/24', rangeStart: '10.1.2.40', rangeEnd: '10.1.2.50', gateway: '10.1.2.254' });
  assert.equal(
    [r.rangeStart, r.rangeEnd, r.gateway, r.subnet.toString()],
    ['10.1.2.40', '10.1.2.50', '10.1.2.254', '10.1.2.0/24'],
  );
});
defaults('rangeStart = network and rangeEnd = broadcast are accepted', () => {
  const r = one({ subnet: '10.1.2.0/24', rangeStart: '10.1.2.0', rangeEnd: '10.1.2.255' });
  assert.equal([r.rangeStart, r.rangeEnd], ['10.1.2.0', '10.1.2.255']);
});
defaults('IPv4-mapped start/end/gateway are canonicalized to IPv4', () => {
  const r = one({
    subnet: '10.1.2.0/24',
    rangeStart: '::ffff:10.1.2.40',
    rangeEnd: '::ffff:a01:232',
    gateway: '::ffff:10.1.2.1',
  });
  assert.equal([r.rangeStart, r.rangeEnd, r.gateway], ['10.1.2.40', '10.1.2.50', '10.1.2.1']);
});
defaults('a gateway outside the subnet is accepted', () => {
  assert.is(one({ subnet: '10.1.2.0/24', gateway: '10.9.9.9' }).gateway, '10.9.9.9');
});

const invalid = suite('core: host-local range validation messages');
invalid('too small: /31 /32 /127 /128', () => {
  fails(() => one({ subnet: '10.0.0.0/31' }), 'Network 10.0.0.0/31 too small to allocate from');
  fails(() => one({ subnet: '10.0.0.0/32' }), 'Network 10.0.0.0/32 too small to allocate from');
  fails(() => one({ subnet: '2001:db8::/127' }), 'Network 2001:db8::/127 too small to allocate from');
  fails(() => one({ subnet: '2001:db8::/128' }), 'Network 2001:db8::/128 too small to allocate from');
});
invalid('host bits set (v4 and v6)', () => {
  fails(
    () => one({ subnet: '10.0.0.1/24' }),
    'Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0',
  );
  fails(
    () => one({ subnet: '2001:db8:1::1/64' }),
    'Network has host bits set. For a subnet mask of length 64 the network address is 2001:db8:1::',
  );
});
invalid('too small is reported before host bits, with the address as written', () => {
  fails(() => one({ subnet: '10.0.0.1/31' }), 'Network 10.0.0.1/31 too small to allocate from');
});
invalid('rangeStart / rangeEnd outside the subnet', () => {
  fails(() => one({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }), 'RangeStart 10.0.1.5 not in network 10.0.0.0/24');
  fails(() => one({ subnet: '10.0.0.0/24', rangeEnd: '10.0.1.5' }), 'RangeEnd 10.0.1.5 not in network 10.0.0.0/24');
  fails(
    () => one({ subnet: '10.0.0.0/24', rangeStart: '2001:db8::5' }),
    'RangeStart 2001:db8::5 not in network 10.0.0.0/24',
  );
});
invalid('rangeStart after rangeEnd reads as "RangeStart not in network" (Go Range.Contains)', () => {
  fails(
    () => one({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.40' }),
    'RangeStart 10.0.0.50 not in network 10.0.0.0/24',
  );
});
invalid("bad texts use Go's decoding errors", () => {
  fails(() => one({ subnet: '10.0.0.0/33' }), 'invalid CIDR address: 10.0.0.0/33');
  fails(() => one({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.500' }), 'invalid IP address: 10.0.0.500');
  fails(() => one({ subnet: '10.0.0.0/24', gateway: 'x' }), 'invalid IP address: x');
});
invalid('IPv4-mapped subnet: IP and mask versions differ', () => {
  fails(() => one({ subnet: '::ffff:10.0.0.0/120' }), 'IPNet IP and Mask version mismatch');
});
invalid('empty set, mixed families, overlap inside a set', () => {
  fails(() => RangeSet.parse([]), 'empty range set');
  fails(() => RangeSet.parse([{ subnet: '10.1.0.0/22' }, { subnet: '2001:db8:5::/64' }]), 'mixed address families');
  fails(
    () => RangeSet.parse([{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.0/24' }]),
    'subnets 10.1.2.1-10.1.2.254 and 10.1.2.1-10.1.2.254 overlap',
  );
  fails(
    () => RangeSet.parse([{ subnet: '10.1.0.0/22' }, { subnet: '10.1.3.0/24' }]),
    'subnets 10.1.0.1-10.1.3.254 and 10.1.3.1-10.1.3.254 overlap',
  );
});

const overlap = suite('core: Range.Overlaps table');
const table: Array<[string, RangeConfig, RangeConfig, boolean]> = [
  ['non-overlapping', { subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/24' }, false],
  ['different families', { subnet: '10.0.0.0/24' }, { subnet: '2001:db8::/64' }, false],
  ['identical', { subnet: '10.0.0.0/24' }, { subnet: '10.0.0.0/24' }, true],
  ['containing', { subnet: '10.0.0.0/20' }, { subnet: '10.0.1.0/24' }, true],
  [
    'same subnet, disjoint start/end',
    { subnet: '10.0.0.0/24', rangeEnd: '10.0.0.100' },
    { subnet: '10.0.0.0/24', rangeStart: '10.0.0.101' },
    false,
  ],
  [
    'same subnet, overlapping start/end',
    { subnet: '10.0.0.0/24', rangeEnd: '10.0.0.101' },
    { subnet: '10.0.0.0/24', rangeStart: '10.0.0.101' },
    true,
  ],
];
for (const [name, a, b, want] of table) {
  overlap(name, () => {
    const x = RangeSet.parse([a]),
      y = RangeSet.parse([b]);
    assert.is(x.overlaps(y), want);
    assert.is(y.overlaps(x), want);
  });
}

const contains = suite('core: range set membership');
contains('contains respects rangeStart/rangeEnd and families', () => {
  const s = RangeSet.parse([
    { subnet: '192.168.0.0/24', rangeStart: '192.168.0.10', rangeEnd: '192.168.0.20' },
    { subnet: '192.168.1.0/24' },
  ]);
  assert.ok(s.contains('192.168.0.10'));
  assert.ok(s.contains('192.168.0.20'));
  assert.not.ok(s.contains('192.168.0.9'));
  assert.not.ok(s.contains('192.168.0.21'));
  assert.ok(s.contains('192.168.1.1'));
  assert.ok(s.contains('::ffff:192.168.1.1'));
  assert.not.ok(s.contains('192.168.1.255'));
  assert.not.ok(s.contains('2001:db8::1'));
  assert.is(s.rangeOf('192.168.1.7')?.subnet.toString(), '192.168.1.0/24');
  assert.is(s.rangeOf('192.168.2.7'), undefined);
  assert.is(s.toString(), '192.168.0.10-192.168.0.20,192.168.1.1-192.168.1.254');
});
contains('IPv6 membership', () => {
  const s = RangeSet.parse([{ subnet: '2001:db8:1::/64' }]);
  assert.ok(s.contains('2001:db8:1::1'));
  assert.ok(s.contains('2001:db8:1:0:ffff:ffff:ffff:ffff'));
  assert.not.ok(s.contains('2001:db8:1::'));
  assert.not.ok(s.contains('2001:db8:2::1'));
});

const sets = suite('core: parseRangeSets (config.go order)');
sets('no ranges', () => fails(() => parseRangeSets([]), 'no IP ranges specified'));
sets('errors carry the range set index', () => {
  fails(
    () => parseRangeSets([[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.1.0/31' }]]),
    'invalid range set 1: Network 10.0.1.0/31 too small to allocate from',
  );
  fails(
    () => parseRangeSets([[{ subnet: '10.1.0.0/22' }, { subnet: '2001:db8:5::/64' }]]),
    'invalid range set 0: mixed address families',
  );
  fails(() => parseRangeSets([[]]), 'invalid range set 0: empty range set');
});
sets('text errors of any set come before validation (JSON decoding happens first)', () => {
  fails(() => parseRangeSets([[{ subnet: '10.0.0.0/31' }], [{ subnet: 'bogus' }]]), 'invalid CIDR address: bogus');
});
sets('overlap between sets', () => {
  fails(
    () => parseRangeSets([[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.0/16' }]]),
    'range set 0 overlaps with 1',
  );
  fails(
    () => parseRangeSets([[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.9.0.0/16' }], [{ subnet: '10.9.3.0/24' }]]),
    'range set 1 overlaps with 2',
  );
});
sets('one address per family before 0.3.0', () => {
  fails(
    () => parseRangeSets([[{ subnet: '10.1.2.0/24' }], [{ subnet: '11.1.2.0/24' }]], { cniVersion: '0.2.0' }),
    'CNI version 0.2.0 does not support more than 1 address per family',
  );
  assert.is(
    parseRangeSets([[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]], { cniVersion: '0.2.0' }).length,
    2,
  );
  assert.is(
    parseRangeSets([[{ subnet: '10.1.2.0/24' }], [{ subnet: '11.1.2.0/24' }]], { cniVersion: '0.3.1' }).length,
    2,
  );
  assert.is(
    parseRangeSets([[{ subnet: '10.1.2.0/24' }], [{ subnet: '11.1.2.0/24' }]], { cniVersion: '1.0.0' }).length,
    2,
  );
});
sets('the version check comes before the overlap check', () => {
  fails(
    () => parseRangeSets([[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.2.0/24' }]], { cniVersion: '0.1.0' }),
    'CNI version 0.1.0 does not support more than 1 address per family',
  );
});
sets('a dual-stack configuration parses', () => {
  const [a, b] = parseRangeSets([
    [{ subnet: '10.1.2.0/24' }, { subnet: '10.1.3.0/24' }],
    [{ subnet: '2001:db8:1::/64' }],
  ]);
  assert.is(a.family, 4);
  assert.is(b.family, 6);
  assert.is(a.toString(), '10.1.2.1-10.1.2.254,10.1.3.1-10.1.3.254');
});

defaults.run();
invalid.run();
overlap.run();
contains.run();
sets.run();

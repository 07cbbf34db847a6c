// The one family test (familyOf) and Go's net.IP.IsGlobalUnicast (isGlobalUnicast) of host/core.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { familyOf, isGlobalUnicast, isLoopback } from '../../host/core/index.ts';

const test = suite('core: familyOf, isGlobalUnicast, isLoopback');

test('familyOf: addresses and CIDRs of both families (IPv4-mapped is written as IPv6)', () => {
  for (const t of ['10.200.150.1', '10.200.150.0/24', '0.0.0.0/0', '255.255.255.255']) assert.is(familyOf(t), 4, t);
  for (const t of ['fd00:200:150::1', 'fd00:200:150::/64', '::/0', '::', '::ffff:10.200.150.1', 'FE80::1%eth0'])
    assert.is(familyOf(t), 6, t);
});

// Go's table (net/ip_test.go TestIPAddrScope, IsGlobalUnicast column) plus the IPv4-mapped forms.
const GLOBAL_UNICAST: Array<[string, boolean]> = [
  ['10.200.150.5', true],
  ['8.8.8.8', true],
  ['0.0.0.0', false],
  ['255.255.255.255', false],
  ['255.255.255.254', true],
  ['127.0.0.1', false],
  ['127.255.0.1', false],
  ['169.254.1.1', false],
  ['169.253.1.1', true],
  ['224.0.0.1', false],
  ['239.255.255.255', false],
  ['240.0.0.1', true],
  ['::ffff:10.200.150.5', true],
  ['::ffff:127.0.0.1', false],
  ['::ffff:0.0.0.0', false],
  ['::', false],
  ['::1', false],
  ['::2', true],
  ['fe80::1', false],
  ['febf::1', false],
  ['fec0::1', true],
  ['ff02::1', false],
  ['fd00:200:150::5', true],
  ['2001:db8::1', true],
  ['not an address', false],
  ['10.200.150.0/24', false],
];

test('isGlobalUnicast: Go semantics, IPv4-mapped judged as IPv4, non-addresses false', () => {
  for (const [ip, want] of GLOBAL_UNICAST) assert.is(isGlobalUnicast(ip), want, ip);
});

test('isLoopback: Go semantics (127/8, IPv4-mapped too, ::1)', () => {
  const cases: Array<[string, boolean]> = [
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['::ffff:127.0.0.1', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['10.200.150.1', false],
    ['::', false],
    ['::2', false],
    ['fe80::1', false],
    ['not an address', false],
  ];
  for (const [ip, want] of cases) assert.is(isLoopback(ip), want, ip);
});

test.run();

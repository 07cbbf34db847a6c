// The adapters over host/core keep Go's net.ParseCIDR / net.IP.String() behaviour at the fringes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCIDR } from '../../host/cni/iptext.ts';
import { parseIpNet } from '../../host/firewall/addr.ts';

test('an IPv4-mapped prefix below 96 prints as Go does', () => {
  assert.is(parseCIDR('::ffff:1.2.3.4/64')?.text, '1.2.3.4/0');
  assert.is(parseCIDR('::ffff:1.2.3.4/120')?.text, '1.2.3.4/24');
});

test('a prefix length with leading zeros is accepted, as by Go', () => {
  assert.is(parseCIDR('10.0.0.1/0024')?.text, '10.0.0.1/24');
});

test('an address with a zone is rejected', () => {
  assert.throws(() => parseIpNet('fe80::1%eth0'));
});

test('bad CIDR text is rejected; the firewall adapter names it as Go does', () => {
  assert.is(parseCIDR('10.0.0.1/33'), undefined);
  assert.throws(() => parseIpNet('10.0.0.1/33'), /invalid CIDR address: 10\.0\.0\.1\/33/);
});

test.run();

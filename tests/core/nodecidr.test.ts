import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeCidrAllocator, defaultNodeMaskSize, CoreError } from '../../host/core/index.ts';

const EXHAUSTED = 'CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range';
const s = suite('core: node pod-CIDR allocation (cidrset)');

s('defaults: /24 for IPv4, /64 for IPv6', () => {
  assert.is(defaultNodeMaskSize(4), 24);
  assert.is(defaultNodeMaskSize(6), 64);
  const a = new NodeCidrAllocator('10.244.0.0/16');
  assert.is(a.nodeMaskSize, 24);
  assert.is(a.capacity, 256);
  a.dispose();
  const b = new NodeCidrAllocator('fd00:10:244::/48');
  assert.is(b.nodeMaskSize, 64);
  assert.is(b.capacity, 65536);
  assert.is(b.allocate(), 'fd00:10:244::/64');
  assert.is(b.allocate(), 'fd00:10:244:1::/64');
  b.dispose();
});
s('allocates in order and reports exhaustion', () => {
  const a = new NodeCidrAllocator('10.0.0.0/22', 24);
  assert.equal(
    [a.allocate(), a.allocate(), a.allocate(), a.allocate()],
    ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24'],
  );
  assert.is(a.allocatedCount, 4);
  assert.throws(
    () => a.allocate(),
    (e: Error) => e instanceof CoreError && e.message === EXHAUSTED,
  );
  a.dispose();
});
s('round robin: a released subnet is handed out again only after the others', () => {
  const a = new NodeCidrAllocator('10.0.0.0/22', 24);
  a.allocate();
  a.allocate();
  a.release('10.0.0.0/24');
  assert.is(a.allocate(), '10.0.2.0/24');
  assert.is(a.allocate(), '10.0.3.0/24');
  assert.is(a.allocate(), '10.0.0.0/24');
  a.dispose();
});
s('occupy marks existing node CIDRs, also larger ones covering several subnets', () => {
  const a = new NodeCidrAllocator('10.244.0.0/16');
  a.occupy('10.244.0.0/24');
  a.occupy('10.244.16.0/20');
  assert.is(a.allocatedCount, 17);
  assert.ok(a.isAllocated('10.244.17.0/24'));
  assert.not.ok(a.isAllocated('10.244.1.0/24'));
  assert.is(a.allocate(), '10.244.1.0/24');
  a.release('10.244.16.0/20');
  assert.is(a.allocatedCount, 2);
  a.dispose();
});
s('a CIDR inside one node subnet marks that subnet; a cluster-sized one marks all', () => {
  const a = new NodeCidrAllocator('10.0.0.0/22', 24);
  a.occupy('10.0.2.128/25');
  assert.ok(a.isAllocated('10.0.2.0/24'));
  a.occupy('10.0.0.0/8');
  assert.is(a.allocatedCount, 4);
  a.dispose();
});
s('CIDRs outside the cluster CIDR are rejected', () => {
  const a = new NodeCidrAllocator('10.244.0.0/16');
  assert.throws(
    () => a.occupy('10.245.0.0/24'),
    (e: Error) => e.message === 'cidr 10.245.0.0/24 is out the range of cluster cidr 10.244.0.0/16',
  );
  assert.throws(() => a.release('fd00::/64'), /out the range/);
  a.dispose();
});
s('mask size errors', () => {
  assert.throws(
    () => new NodeCidrAllocator('fd00::/32'),
    (e: Error) => e.message === 'New CIDR set failed; the node CIDR size is too big',
  );
  assert.throws(() => new NodeCidrAllocator('10.0.0.0/16', 8), /shorter than the cluster/);
  assert.throws(() => new NodeCidrAllocator('10.0.0.0/16', 33), /invalid node CIDR mask size/);
  assert.throws(() => new NodeCidrAllocator('10.0.0.0/99'), /invalid CIDR address/);
});
s('a cluster CIDR with host bits is masked; /32 node subnets work', () => {
  const a = new NodeCidrAllocator('10.1.2.3/30', 32);
  assert.is(a.capacity, 4);
  assert.equal([a.allocate(), a.allocate()], ['10.1.2.0/32', '10.1.2.1/32']);
  a.dispose();
});
s('IPv6 node subnets longer than 64 bits', () => {
  const a = new NodeCidrAllocator('2001:db8::/112', 120);
  assert.is(a.capacity, 256);
  a.allocate();
  assert.is(a.allocate(), '2001:db8::100/120');
  a.occupy('2001:db8::ff00/120');
  assert.ok(a.isAllocated('2001:db8::ff80/121'));
  a.dispose();
});
s('IPv6 node subnets spanning the 64-bit halves', () => {
  const a = new NodeCidrAllocator('2001:db8::/56', 72);
  a.occupy('2001:db8:0:ff:ff00::/72');
  assert.is(a.allocatedCount, 1);
  assert.ok(a.isAllocated('2001:db8:0:ff:ff00::/72'));
  assert.is(a.allocate(), '2001:db8::/72');
  assert.is(a.allocate(), '2001:db8:0:0:100::/72');
  a.dispose();
});
s('fill a /16 of /24s completely, release all, allocate again', () => {
  const a = new NodeCidrAllocator('10.200.0.0/16');
  const all = new Set<string>();
  for (let i = 0; i < 256; i++) all.add(a.allocate());
  assert.is(all.size, 256);
  assert.throws(() => a.allocate());
  for (const c of all) a.release(c);
  assert.is(a.allocatedCount, 0);
  assert.is(a.allocate(), '10.200.0.0/24');
  a.dispose();
});

s.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  pickMtu,
  FALLBACK_MTU,
  vxlanOverhead,
  geneveOverhead,
  wireguardOverhead,
  espOverhead,
  overlayMtu,
  type MtuInterface,
} from '../../host/core/index.ts';

const itf = (name: string, mtu: number, o: Partial<MtuInterface> = {}): MtuInterface => ({
  name,
  mtu,
  up: true,
  loopback: false,
  pointToPoint: false,
  ...o,
});
const lo = itf('lo', 65536, { loopback: true });

const pick = suite('core: cbr0 MTU (kubenet findMinMTU)');
pick('an explicit MTU wins', () => {
  assert.equal(pickMtu([lo, itf('eth0', 1500)], 9000), { mtu: 9000, source: 'explicit' });
});
pick('explicit 0 means detect', () => {
  assert.equal(pickMtu([lo, itf('eth0', 1500)], 0), { mtu: 1500, source: 'interface', interface: 'eth0' });
});
pick('the smallest MTU among up, non-loopback, non-point-to-point interfaces', () => {
  const list = [
    lo,
    itf('eth0', 1500),
    itf('docker0', 1450),
    itf('wg0', 1420, { pointToPoint: true }),
    itf('eth1', 1400, { up: false }),
    itf('veth1', 9000),
  ];
  assert.equal(pickMtu(list), { mtu: 1450, source: 'interface', interface: 'docker0' });
});
pick('ties go to the first interface in index order', () => {
  assert.equal(pickMtu([itf('eth0', 1500), itf('eth1', 1500)]).interface, 'eth0');
});
pick('no candidate → 1460', () => {
  assert.equal(pickMtu([lo, itf('tun0', 1400, { pointToPoint: true })]), { mtu: FALLBACK_MTU, source: 'fallback' });
  assert.equal(pickMtu([]), { mtu: 1460, source: 'fallback' });
});
pick('a minimum below 576 → 1460, even when other interfaces are fine', () => {
  assert.equal(pickMtu([itf('eth0', 1500), itf('weird0', 500)]), { mtu: 1460, source: 'fallback' });
  assert.equal(pickMtu([itf('eth0', 576)]), { mtu: 576, source: 'interface', interface: 'eth0' });
});
pick('an MTU of 999999 or more counts as none', () => {
  assert.equal(pickMtu([itf('big0', 999999)]).source, 'fallback');
  assert.equal(pickMtu([itf('big0', 999998)]).mtu, 999998);
});

const ovh = suite('core: overlay overheads');
ovh('VXLAN 50 over IPv4, 70 over IPv6', () => {
  assert.is(vxlanOverhead(), 50);
  assert.is(vxlanOverhead(6), 70);
});
ovh('Geneve 50 + options', () => {
  assert.is(geneveOverhead(), 50);
  assert.is(geneveOverhead(8), 58);
  assert.is(geneveOverhead(8, 6), 78);
});
ovh('WireGuard 60 / 80', () => {
  assert.is(wireguardOverhead(), 60);
  assert.is(wireguardOverhead(6), 80);
});
ovh('ESP as configured (worst-case padding)', () => {
  // AES-GCM-128: IV 8, ICV 16, 4-byte alignment
  assert.is(espOverhead({ ivBytes: 8, icvBytes: 16, blockBytes: 4, tunnel: true }), 20 + 8 + 8 + 3 + 2 + 16);
  assert.is(espOverhead({ ivBytes: 8, icvBytes: 16, blockBytes: 4, tunnel: true, natT: true }), 65);
  assert.is(espOverhead({ ivBytes: 8, icvBytes: 16, blockBytes: 4, tunnel: false }), 37);
  // AES-CBC + HMAC-SHA256-128 over IPv6 in tunnel mode
  assert.is(
    espOverhead({ ivBytes: 16, icvBytes: 16, blockBytes: 16, tunnel: true, underlay: 6 }),
    40 + 8 + 16 + 15 + 2 + 16,
  );
  assert.is(espOverhead({ ivBytes: 8, icvBytes: 16, blockBytes: 1, tunnel: false }), 37);
});
ovh('overlayMtu subtracts the overhead', () => {
  assert.is(overlayMtu(1500, vxlanOverhead()), 1450);
  assert.is(overlayMtu(1500, wireguardOverhead(6)), 1420);
});

pick.run();
ovh.run();

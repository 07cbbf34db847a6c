// host/net links, each operation checked against `ip -j -d link show`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NetHandle, NetlinkError } from '../../host/net/index.ts';
import { run, sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
let host: NetHandle;
let inNs: NetHandle;

interface IpLink {
  ifindex: number;
  ifname: string;
  mtu: number;
  address?: string;
  operstate: string;
  flags: string[];
  master?: string;
  txqlen?: number;
  promiscuity?: number;
  link_index?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

async function ipLink(name: string, netns?: string): Promise<IpLink> {
  const args = [...(netns ? ['-n', netns] : []), '-j', '-d', 'link', 'show', 'dev', name];
  return (JSON.parse(await sh('ip', args)) as IpLink[])[0];
}
async function linkExists(name: string, netns?: string): Promise<boolean> {
  return (await run('ip', [...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name])).code === 0;
}
async function rejects(p: Promise<unknown>): Promise<NetlinkError> {
  try {
    await p;
  } catch (e) {
    return e as NetlinkError;
  }
  throw new Error('expected a rejection');
}

const Links = suite('net: links');
Links.before(async () => {
  ns = await sb.netns('l');
  host = await NetHandle.open();
  inNs = await NetHandle.open(ns.path);
});
Links.after(async () => {
  host?.close();
  inNs?.close();
  await sb.cleanup();
});

Links('veth pair with the peer created directly in another namespace', async () => {
  const hostName = sb.name('v0');
  await host.link.addVeth({
    name: hostName,
    mtu: 1400,
    mac: '02:00:0a:c8:1e:01',
    up: true,
    peer: { name: sb.name('c0'), netns: ns.path, mtu: 1400, mac: '02:00:0a:c8:1e:02' },
  });
  const h = await ipLink(hostName);
  const c = await ipLink(sb.name('c0'), ns.name);
  assert.is(h.linkinfo?.info_kind, 'veth');
  assert.is(h.mtu, 1400);
  assert.is(h.address, '02:00:0a:c8:1e:01');
  assert.ok(h.flags.includes('UP'));
  assert.is(c.address, '02:00:0a:c8:1e:02');
  assert.not.ok(c.flags.includes('UP'));
  assert.not.ok(await linkExists(sb.name('c0')), 'peer is not left in the host namespace');

  const mine = await host.link.get(hostName);
  assert.is(mine.index, h.ifindex);
  assert.is(mine.kind, 'veth');
  assert.is(mine.mtu, 1400);
  assert.is(mine.mac, h.address);
  const peer = await inNs.link.get(sb.name('c0'));
  assert.is(peer.index, c.ifindex);
  assert.is(mine.parentIndex, peer.index, 'IFLA_LINK of the host end is the peer index');
  assert.is(peer.parentIndex, mine.index);
  assert.is((await host.link.get(mine.index)).name, hostName, 'get by index');
});

Links('list matches ip -j link show', async () => {
  const ours = (await inNs.link.list()).map((l) => [l.index, l.name, l.mtu, l.up]);
  const ip = (JSON.parse(await sh('ip', ['-n', ns.name, '-j', 'link', 'show'])) as IpLink[]).map((l) => [
    l.ifindex,
    l.ifname,
    l.mtu,
    l.flags.includes('UP'),
  ]);
  assert.equal(ours, ip);
});

Links('bridge with mtu; a port with master, hairpin and learning', async () => {
  const br = sb.name('br');
  const port = sb.name('v0');
  await host.link.addBridge({ name: br, mtu: 1400 });
  await host.link.setMaster(port, br);
  await host.link.setBridgePort(port, { hairpin: true, learning: false });
  await host.link.setUp(br);
  const b = await ipLink(br);
  assert.is(b.linkinfo?.info_kind, 'bridge');
  assert.is(b.mtu, 1400);
  assert.is(b.linkinfo?.info_data?.vlan_filtering, 0);
  const p = await ipLink(port);
  assert.is(p.master, br);
  assert.is(p.linkinfo?.info_slave_kind, 'bridge');
  assert.is(p.linkinfo?.info_slave_data?.hairpin, true);
  assert.is(p.linkinfo?.info_slave_data?.learning, false);
  const mine = await host.link.get(port);
  assert.is(mine.masterIndex, b.ifindex);
  assert.equal(mine.bridgePort, { hairpin: true, learning: false, isolated: false });
  assert.is((await host.link.get(br)).bridge?.vlanFiltering, false);

  await host.link.setBridgePort(port, { hairpin: false, learning: true });
  await host.link.setMaster(port, null);
  const q = await ipLink(port);
  assert.is(q.master, undefined);
});

Links(
  'vlan_filtering at creation: same outcome as ip link add ... vlan_filtering 1, nothing left on failure',
  async () => {
    const ours = sb.name('bv');
    const theirs = sb.name('bw');
    const ip = await run('ip', ['link', 'add', theirs, 'type', 'bridge', 'vlan_filtering', '1']);
    let err: unknown;
    try {
      await host.link.addBridge({ name: ours, vlanFiltering: true });
    } catch (e) {
      err = e;
    }
    if (ip.code === 0) {
      assert.is(err, undefined);
      assert.is((await ipLink(ours)).linkinfo?.info_data?.vlan_filtering, 1);
      assert.is((await host.link.get(ours)).bridge?.vlanFiltering, true);
    } else {
      // kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse it
      assert.match(ip.stderr, /Operation not supported/);
      assert.is((err as NetlinkError).message, 'operation not supported');
      assert.not.ok(await linkExists(ours));
    }
  },
);

Links('bridge VLANs on a port: same outcome as bridge vlan add, listed like bridge -j vlan show', async () => {
  const br = sb.name('bvl');
  const port = sb.name('pv0');
  const twin = sb.name('pw0');
  await host.link.addBridge({ name: br });
  await host.link.addVeth({ name: port, master: br, peer: { name: sb.name('pv1') } });
  await host.link.addVeth({ name: twin, master: br, peer: { name: sb.name('pw1') } });
  const tool = await run('bridge', ['vlan', 'add', 'vid', '10', 'dev', twin, 'pvid', 'untagged', 'master']);
  const ours = await host.vlan.add(port, 10, { pvid: true, untagged: true }).then(
    () => undefined,
    (e: NetlinkError) => e,
  );
  if (tool.code === 0) {
    assert.is(ours, undefined);
    const shown = JSON.parse(await sh('bridge', ['-j', 'vlan', 'show', 'dev', port]));
    assert.ok(JSON.stringify(shown).includes('"vlan":10'));
    const listed = (await host.vlan.list(port)).get(port)!;
    assert.ok(listed.some((v) => v.vid === 10 && v.pvid && v.untagged));
    await host.vlan.delete(port, 10);
    assert.not.ok(((await host.vlan.list(port)).get(port) ?? []).some((v) => v.vid === 10));
  } else {
    // kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse per-port VLANs
    assert.match(tool.stderr, /Operation not supported/);
    assert.is(ours?.code, 'ENOTSUP');
    assert.is(ours?.message, 'operation not supported');
  }
  await host.link.delete(port);
  await host.link.delete(twin);
  await host.link.delete(br);
});

Links('ifb with txqueuelen 0 and mtu', async () => {
  const ifb = sb.name('ifb');
  await host.link.addIfb({ name: ifb, mtu: 1400, txQueueLen: 0, up: true });
  const l = await ipLink(ifb);
  assert.is(l.linkinfo?.info_kind, 'ifb');
  assert.is(l.mtu, 1400);
  assert.is(l.txqlen, undefined, 'ip prints no qlen for txqueuelen 0');
  assert.is((await host.link.get(ifb)).txQueueLen, 0);
  assert.ok(l.flags.includes('UP'));
});

Links('set mtu, mac, promisc, txqueuelen, down/up, rename', async () => {
  const ifb = sb.name('s0');
  await host.link.addVeth({ name: ifb, peer: { name: sb.name('s1') }, up: true });
  await host.link.set(ifb, { mtu: 1300, mac: '02:00:0a:c8:1e:09', promisc: true, txQueueLen: 77 });
  let l = await ipLink(ifb);
  assert.is(l.mtu, 1300);
  assert.is(l.address, '02:00:0a:c8:1e:09');
  assert.ok(l.flags.includes('PROMISC'));
  assert.is(l.txqlen, 77);
  const mine = await host.link.get(ifb);
  assert.ok(mine.promisc);
  assert.is(mine.txQueueLen, 77);
  await host.link.setPromisc(ifb, false);
  await host.link.setDown(ifb);
  l = await ipLink(ifb);
  assert.not.ok(l.flags.includes('PROMISC'));
  assert.not.ok(l.flags.includes('UP'));
  assert.not.ok((await host.link.get(ifb)).up);
  const renamed = sb.name('ifr');
  await host.link.setName(ifb, renamed);
  assert.ok(await linkExists(renamed));
  assert.not.ok(await linkExists(ifb));
  await host.link.delete(renamed);
  assert.not.ok(await linkExists(sb.name('s1')));
});

Links('move a link into another namespace', async () => {
  const name = sb.name('ifb');
  await host.link.setNetns(name, inNs);
  assert.not.ok(await linkExists(name));
  assert.ok(await linkExists(name, ns.name));
  await inNs.link.delete(name);
  assert.not.ok(await linkExists(name, ns.name));
});

Links('errors: duplicate link, missing device, too long a name, bad namespace path — nothing left behind', async () => {
  const br = sb.name('br');
  const dup = await rejects(host.link.addBridge({ name: br }));
  assert.instance(dup, NetlinkError);
  assert.is(dup.code, 'EEXIST');
  assert.is(dup.message, 'file exists');

  const missing = await rejects(host.link.get(sb.name('nope')));
  assert.is(missing.code, 'ENODEV');
  assert.is(missing.message, 'no such device');
  assert.is(await host.link.find(sb.name('nope')), undefined);
  assert.is((await rejects(host.link.delete(sb.name('nope')))).code, 'ENODEV');
  assert.is(await host.link.deleteIfExists(sb.name('nope')), false);
  assert.is((await rejects(host.link.setUp(sb.name('nope')))).code, 'ENODEV');

  const long = sb.prefix + 'x'.repeat(16 - sb.prefix.length);
  const tooLong = await rejects(host.link.addIfb({ name: long }));
  assert.is(tooLong.code, 'EINVAL');
  assert.match(tooLong.message, /longer than 15 bytes/);
  const longPeer = await rejects(host.link.addVeth({ name: sb.name('lp'), peer: { name: long } }));
  assert.is(longPeer.code, 'EINVAL');
  assert.not.ok(await linkExists(sb.name('lp')));

  const badNs = await rejects(
    host.link.addVeth({
      name: sb.name('bn'),
      peer: { name: sb.name('bp'), netns: `/var/run/netns/${sb.prefix}-missing` },
    }),
  );
  assert.is((badNs as unknown as { code: string }).code, 'ENOENT');
  assert.match(badNs.message, /failed to open netns/);
  assert.not.ok(await linkExists(sb.name('bn')));
  assert.not.ok(await linkExists(sb.name('bp')));
  const badHandle = await NetHandle.open(`/var/run/netns/${sb.prefix}-missing`).then(
    () => undefined,
    (e) => e,
  );
  assert.is(badHandle?.code, 'ENOENT');

  // the peer name is taken in the target namespace: the whole pair is refused
  const clash = await rejects(
    host.link.addVeth({ name: sb.name('cl'), peer: { name: sb.name('c0'), netns: ns.path } }),
  );
  assert.is(clash.code, 'EEXIST');
  assert.not.ok(await linkExists(sb.name('cl')));
  assert.equal((await inNs.link.list()).map((l) => l.name).sort(), [sb.name('c0'), 'lo'].sort());
});

Links('deleting one end of a veth removes its peer in the other namespace', async () => {
  await host.link.delete(sb.name('v0'));
  assert.not.ok(await linkExists(sb.name('v0')));
  assert.not.ok(await linkExists(sb.name('c0'), ns.name));
  await host.link.delete(sb.name('br'));
  assert.not.ok(await linkExists(sb.name('br')));
});

Links.run();

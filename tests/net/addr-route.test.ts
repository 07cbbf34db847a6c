// host/net addresses, routes, neighbours and sysctl helpers, checked against `ip -j` and `sysctl`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET, AF_INET6, NetHandle, type NetlinkError, NeighState, RouteScope } from '../../host/net/index.ts';
import { sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
let h: NetHandle;

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  nodad?: boolean;
  tentative?: boolean;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  table?: string;
  flags: string[];
}

const ipJ = async (...args: string[]) => JSON.parse(await sh('ip', ['-n', ns.name, '-j', ...args]));
const addrsOf = async (dev: string): Promise<IpAddrInfo[]> => (await ipJ('addr', 'show', 'dev', dev))[0].addr_info;
const sysctlN = async (key: string) => (await sh('ip', ['netns', 'exec', ns.name, 'sysctl', '-n', key])).trim();
async function rejects(p: Promise<unknown>): Promise<NetlinkError> {
  try {
    await p;
  } catch (e) {
    return e as NetlinkError;
  }
  throw new Error('expected a rejection');
}

const T = suite('net: addresses, routes, neighbours, sysctl');
T.before(async () => {
  ns = await sb.netns('r');
  h = await NetHandle.open(ns.path);
  await h.link.addVeth({ name: 'eth0', up: true, peer: { name: 'peer0' } });
  await h.link.setUp('peer0');
});
T.after(async () => {
  h?.close();
  await sb.cleanup();
});

T('IPv4 address with the broadcast computed, IPv6 address without DAD', async () => {
  await h.addr.add('eth0', '10.200.31.2/24');
  await h.addr.add('eth0', 'fd00:200:30::2/64', { noDad: true });
  const ip = await addrsOf('eth0');
  const v4 = ip.find((a) => a.family === 'inet')!;
  assert.equal([v4.local, v4.prefixlen, v4.broadcast, v4.scope], ['10.200.31.2', 24, '10.200.31.255', 'global']);
  const v6 = ip.find((a) => a.family === 'inet6' && a.scope === 'global')!;
  assert.equal([v6.local, v6.prefixlen, v6.nodad, v6.tentative], ['fd00:200:30::2', 64, true, undefined]);

  const ours = await h.addr.list('eth0');
  assert.equal(
    ours.filter((a) => a.family === AF_INET).map((a) => [a.cidr, a.broadcast]),
    [['10.200.31.2/24', '10.200.31.255']],
  );
  const ours6 = ours.filter((a) => a.family === AF_INET6 && a.scope === 0);
  assert.equal(
    ours6.map((a) => a.cidr),
    ['fd00:200:30::2/64'],
  );
  assert.ok(ours6[0].flags & 0x02, 'IFA_F_NODAD');
  assert.equal(
    (await h.addr.list('eth0', AF_INET6)).map((a) => a.family),
    ip.filter((a) => a.family === 'inet6').map(() => AF_INET6),
  );
});

T('address errors: duplicate, missing, bad CIDR', async () => {
  const dup = await rejects(h.addr.add('eth0', '10.200.31.2/24'));
  assert.is(dup.code, 'EEXIST');
  assert.is(dup.message, 'file exists');
  await h.addr.replace('eth0', '10.200.31.2/24');
  const missing = await rejects(h.addr.delete('eth0', '10.200.31.77/24'));
  assert.is(missing.code, 'EADDRNOTAVAIL');
  assert.is(missing.message, 'cannot assign requested address');
  const bad = await h.addr.add('eth0', '10.200.31.300/24').then(
    () => undefined,
    (e: Error) => e,
  );
  assert.match(String(bad?.message), /invalid IP address/);
  assert.is((await rejects(h.addr.add('nosuchdev0', '10.200.31.3/24'))).code, 'ENODEV');
  await h.addr.add('eth0', '10.200.31.3/24');
  await h.addr.delete('eth0', '10.200.31.3/24');
  assert.equal(
    (await addrsOf('eth0')).filter((a) => a.family === 'inet').map((a) => a.local),
    ['10.200.31.2'],
  );
});

T('routes: default via gateway, via gateway, on-link, other table, IPv6; list matches ip -j route', async () => {
  await h.route.add({ dst: 'default', gw: '10.200.31.1', dev: 'eth0' });
  await h.route.add({ dst: '10.200.32.0/24', gw: '10.200.31.1', dev: 'eth0', priority: 50 });
  await h.route.add({ dst: '10.200.33.0/24', gw: '10.200.34.1', dev: 'eth0', onlink: true });
  await h.route.add({ dst: '10.200.35.0/24', dev: 'eth0', table: 100, scope: RouteScope.link });
  await h.route.add({ dst: '10.200.37.0/24', dev: 'eth0' });
  await h.route.add({ dst: '::/0', gw: 'fd00:200:30::1', dev: 'eth0' });

  const main: IpRoute[] = await ipJ('route', 'show');
  const def = main.find((r) => r.dst === 'default')!;
  assert.equal(
    [def.gateway, def.dev, def.protocol ?? 'boot', def.scope ?? 'global'],
    ['10.200.31.1', 'eth0', 'boot', 'global'],
  );
  const via = main.find((r) => r.dst === '10.200.32.0/24')!;
  assert.equal([via.gateway, via.metric], ['10.200.31.1', 50]);
  const onlink = main.find((r) => r.dst === '10.200.33.0/24')!;
  assert.ok(onlink.flags.includes('onlink'));
  const universe: IpRoute[] = await ipJ('-d', 'route', 'show', '10.200.37.0/24');
  assert.equal(
    universe.map((r) => [r.dev, r.scope]),
    [['eth0', 'global']],
    'no scope given: universe, like vishvananda/netlink',
  );
  const t100: IpRoute[] = await ipJ('route', 'show', 'table', '100');
  assert.equal(
    t100.map((r) => [r.dst, r.dev, r.scope]),
    [['10.200.35.0/24', 'eth0', 'link']],
  );
  const v6: IpRoute[] = await ipJ('-6', 'route', 'show', 'default');
  assert.is(v6[0].gateway, 'fd00:200:30::1');

  const ours = await h.route.list({ family: AF_INET });
  const show = (d: string) => (d === 'default' ? '0.0.0.0/0' : d.includes('/') ? d : `${d}/32`);
  assert.equal(ours.map((r) => r.dst).sort(), main.map((r) => show(r.dst)).sort());
  const ourDef = ours.find((r) => r.dst === '0.0.0.0/0')!;
  assert.is(ourDef.gw, '10.200.31.1');
  assert.is(ourDef.linkIndex, (await h.link.get('eth0')).index);
  assert.ok(ours.find((r) => r.dst === '10.200.33.0/24')!.onlink);
  assert.equal(
    (await h.route.list({ table: 100 })).map((r) => r.dst),
    ['10.200.35.0/24'],
  );
  assert.ok((await h.route.list({ family: AF_INET6 })).some((r) => r.dst === '::/0' && r.gw === 'fd00:200:30::1'));
});

T('routes: replace, delete, and their errors', async () => {
  const dup = await rejects(h.route.add({ dst: 'default', gw: '10.200.31.1', dev: 'eth0' }));
  assert.is(dup.code, 'EEXIST');
  await h.route.replace({ dst: 'default', gw: '10.200.31.254', dev: 'eth0' });
  let main: IpRoute[] = await ipJ('route', 'show', 'default');
  assert.equal(
    main.map((r) => r.gateway),
    ['10.200.31.254'],
  );
  const unreachable = await rejects(h.route.add({ dst: '10.200.36.0/24', gw: '10.200.99.1', dev: 'eth0' }));
  assert.is(unreachable.code, 'ENETUNREACH');
  assert.is(unreachable.message, 'network is unreachable');
  await h.route.delete({ dst: 'default', gw: '10.200.31.254' });
  main = await ipJ('route', 'show', 'default');
  assert.equal(main, []);
  const gone = await rejects(h.route.delete({ dst: 'default' }));
  assert.is(gone.code, 'ESRCH');
  await h.route.delete({ dst: '10.200.35.0/24', table: 100 });
  assert.equal(await ipJ('route', 'show', 'table', '100'), []);
});

T('neighbours: permanent entry, listed, replaced, deleted', async () => {
  await h.neigh.add({ dev: 'eth0', ip: '10.200.31.9', mac: '02:00:0a:c8:1f:09' });
  let ip = await ipJ('neigh', 'show', 'dev', 'eth0');
  assert.equal(
    ip.map((n: { dst: string; lladdr: string; state: string[] }) => [n.dst, n.lladdr, n.state]),
    [['10.200.31.9', '02:00:0a:c8:1f:09', ['PERMANENT']]],
  );
  const ours = await h.neigh.list('eth0', AF_INET);
  assert.equal(
    ours.map((n) => [n.ip, n.mac, n.state]),
    [['10.200.31.9', '02:00:0a:c8:1f:09', NeighState.permanent]],
  );
  await h.neigh.replace({ dev: 'eth0', ip: '10.200.31.9', mac: '02:00:0a:c8:1f:0a', state: NeighState.reachable });
  ip = await ipJ('neigh', 'show', 'dev', 'eth0');
  assert.is(ip[0].lladdr, '02:00:0a:c8:1f:0a');
  await h.neigh.delete('eth0', '10.200.31.9');
  assert.equal(
    (await ipJ('neigh', 'show', 'dev', 'eth0')).filter((n: { state: string[] }) => !n.state.includes('FAILED')),
    [],
  );
});

T('sysctl helpers write inside the namespace', async () => {
  h.sysctl.setIpForward(4, true);
  h.sysctl.setIpForward(6, true);
  h.sysctl.setInterfaceForwarding('eth0', 4, true);
  h.sysctl.setRouteLocalnet('eth0', true);
  h.sysctl.setAcceptDad('eth0', 0);
  h.sysctl.setAcceptRa('eth0', 0);
  h.sysctl.setArpNotify('eth0', true);
  h.sysctl.setBridgeNfCall('iptables', true);
  assert.is(await sysctlN('net.ipv4.ip_forward'), '1');
  assert.is(await sysctlN('net.ipv6.conf.all.forwarding'), '1');
  assert.is(await sysctlN('net.ipv4.conf.eth0.forwarding'), '1');
  assert.is(await sysctlN('net.ipv4.conf.eth0.route_localnet'), '1');
  assert.is(await sysctlN('net.ipv6.conf.eth0.accept_dad'), '0');
  assert.is(await sysctlN('net.ipv6.conf.eth0.accept_ra'), '0');
  assert.is(await sysctlN('net.ipv4.conf.eth0.arp_notify'), '1');
  assert.is(await sysctlN('net.bridge.bridge-nf-call-iptables'), '1');
  assert.is(h.sysctl.get('net.ipv4.ip_forward'), '1');
  assert.is(h.sysctl.ensure('net/ipv4/ip_forward', 0), '1');
  assert.is(await sysctlN('net.ipv4.ip_forward'), '0');
  const missing = (() => {
    try {
      h.sysctl.get('net/ipv4/conf/nosuch0/forwarding');
    } catch (e) {
      return e as { code: string };
    }
  })();
  assert.is(missing?.code, 'ENOENT');
});

T.run();

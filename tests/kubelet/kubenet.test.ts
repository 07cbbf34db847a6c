// Scenarios (ids: docs/reference-notes.md §5) A3 (kubenet) and B3 (MTU, pod-CIDR event, generated config, masquerade
// rule, Status, SetUpPod order), plus A5.9/B4 (bandwidth annotations). Fake plugin binaries in a private bin dir; the
// real masquerade rule is checked once and removed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KubenetNetworkPlugin,
  extractPodBandwidth,
  kubenetBridgeConfigText,
  listMasqRules,
  masqRule,
  rangesText,
  routesText,
  type KubenetOptions,
  type NetworkHost,
} from '../../host/kubelet/index.ts';
import { ruleExists } from '../../host/firewall/iptables.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { cleanEnv } from '../_lib/run.ts';
import { FakeSysctl, fakeHost, writeLoggingPlugin } from '../_lib/kubelet-fakes.ts';

const sb = new Sandbox();
const IPT = 'net/bridge/bridge-nf-call-iptables';
const BRIDGE_RESULT = '"ips":[{"version":"4","address":"10.200.101.2/24","gateway":"10.200.101.1"}]';
const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : []);

interface Fixture {
  bin: string;
  log: string;
  plugin: KubenetNetworkPlugin;
  sysctl: FakeSysctl;
}
function fixture(o: Partial<KubenetOptions> & { bridgeResult?: string } = {}): Fixture {
  const root = sb.dir('kn');
  const bin = join(root, 'bin');
  const log = join(root, 'log');
  mkdirSync(bin);
  writeLoggingPlugin(bin, 'bridge', log, { result: o.bridgeResult ?? BRIDGE_RESULT });
  for (const p of ['host-local', 'loopback', 'portmap', 'bandwidth'])
    writeLoggingPlugin(bin, p, log, { result: o.bridgeResult ?? BRIDGE_RESULT });
  const sysctl = new FakeSysctl(new Map([[IPT, 0]]));
  const plugin = new KubenetNetworkPlugin({
    binDirs: [bin],
    cacheDir: join(root, 'cache'),
    prependDefaultBinDir: false,
    sysctl,
    env: cleanEnv(),
    bridge: sb.name('br'),
    listInterfaces: async () => [{ name: 'eth0', mtu: 1500, up: true, loopback: false, pointToPoint: false }],
    ...o,
  });
  return { bin, log, plugin, sysctl };
}
const NO_MASQ = '0.0.0.0/0';

const A3 = suite('kubelet A3: kubenet');
A3.after(() => sb.cleanup());

A3('A3.1 GetPodNetworkStatus from the IP cache; unknown sandbox with no netns is an error', async () => {
  const { plugin } = fixture();
  await plugin.init(fakeHost(), 'none', NO_MASQ, 1460);
  const cache: Record<string, string[]> = {
    1: ['10.245.0.2'],
    2: ['10.245.0.3'],
    3: ['10.245.0.4', '2000::'],
    4: ['2000::2'],
  };
  for (const [id, ips] of Object.entries(cache)) plugin.recordPodIPs(id, ips);
  for (const [id, ips] of Object.entries(cache)) {
    const st = await plugin.getPodNetworkStatus('ns', 'n', id);
    assert.equal([...st.ips].sort(), [...ips].sort());
    assert.is(st.ip, st.ips[0]);
  }
  await plugin.getPodNetworkStatus('ns', 'n', 'does-not-exist-map').then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.is(
        e.message,
        'cannot find the network namespace, skipping pod network status for container "does-not-exist-map"',
      ),
  );
});

A3('A3.2 TearDown runs CNI DEL (bandwidth undoes the shaping) and forgets the IP', async () => {
  const { plugin, log } = fixture();
  await plugin.init(fakeHost(), 'none', NO_MASQ, 1460);
  plugin.event('pod-cidr-change', { 'pod-cidr': '10.200.101.1/24' });
  plugin.recordPodIPs('docker://123', ['10.200.101.1']);
  await plugin.tearDownPod('namespace', 'name', 'docker://123');
  const del = lines(log);
  assert.ok(del.includes('loopback DEL lo 123'), 'CNI gets the bare container ID');
  assert.ok(del.includes('bandwidth DEL eth0 123'), 'the shaping is reset');
  assert.ok(del.includes('portmap DEL eth0 123'));
  assert.ok(del.includes('bridge DEL eth0 123'));
  assert.ok(del.indexOf('bandwidth DEL eth0 123') < del.indexOf('bridge DEL eth0 123'), 'reverse order');
  await plugin.getPodNetworkStatus('namespace', 'name', 'docker://123').then(
    () => assert.unreachable(),
    () => {},
  );
});

A3('A3.3 Init with an explicit MTU; bridge-nf-call-iptables=1, ip6tables untouched', async () => {
  const { plugin, sysctl } = fixture();
  await plugin.init(fakeHost(), 'none', NO_MASQ, 1234);
  assert.is(plugin.mtu, 1234);
  assert.is(sysctl.settings.get(IPT), 1);
  assert.is(sysctl.settings.size, 1);
});

A3('A3.4 TearDown after a pod-CIDR event; CIDRs are stored in network form', async () => {
  const cases: Array<[string, string, string]> = [
    ['10.200.101.0/24', '10.200.101.0/24', '10.200.101.1'],
    ['10.200.101.1/24', '10.200.101.0/24', '10.200.101.1'],
    ['fd00:200:101::/64', 'fd00:200:101::/64', 'fd00:200:101::1'],
    ['fd00:200:101::1/64', 'fd00:200:101::/64', 'fd00:200:101::1'],
  ];
  for (const [input, stored, ip] of cases) {
    const { plugin, log } = fixture();
    await plugin.init(fakeHost(), 'none', NO_MASQ, 1460);
    plugin.event('pod-cidr-change', { 'pod-cidr': input });
    assert.equal(plugin.cidrs, [stored], input);
    plugin.recordPodIPs('docker://123', [ip]);
    await plugin.tearDownPod('namespace', 'name', 'docker://123');
    assert.ok(lines(log).includes('bridge DEL eth0 123'), input);
  }
});

A3('A3.5 routes text', () => {
  assert.is(routesText(['10.0.0.1/24']), '{"dst": "0.0.0.0/0"}');
  assert.is(routesText(['2001:4860:4860::8888/32']), '{"dst": "::/0"}');
  assert.is(routesText(['2001:4860:4860::8888/32', '10.0.0.1/24']), '{"dst": "0.0.0.0/0"},{"dst": "::/0"}');
});

A3('A3.6 ranges text', () => {
  assert.is(rangesText(['10.0.0.0/24']), '\n[{\n"subnet": "10.0.0.0/24"\n}]');
  assert.is(rangesText(['2001:4860::/32']), '\n[{\n"subnet": "2001:4860::/32"\n}]');
  assert.is(
    rangesText(['10.0.0.0/24', '2001:4860::/32']),
    '\n[{\n"subnet": "10.0.0.0/24"\n}],\n[{\n"subnet": "2001:4860::/32"\n}]',
  );
});

A3.run();

const B3 = suite('kubelet B3: kubenet details');
B3.after(() => sb.cleanup());

B3('MTU detection (Wasm core): up, non-loopback, non-p2p minimum; fallback 1460; explicit wins', async () => {
  const itf = (name: string, mtu: number, up = true, loopback = false, pointToPoint = false) => ({
    name,
    mtu,
    up,
    loopback,
    pointToPoint,
  });
  const cases: Array<[ReturnType<typeof itf>[], number]> = [
    [[itf('lo', 65536, true, true), itf('eth0', 1500), itf('eth1', 9001)], 1500],
    [[itf('eth0', 1400, false), itf('eth1', 1500)], 1500],
    [[itf('tun0', 1400, true, false, true), itf('eth0', 1500)], 1500],
    [[itf('eth0', 500)], 1460],
    [[], 1460],
    [[itf('a', 1450), itf('b', 1450), itf('c', 1500)], 1450],
  ];
  for (const [list, want] of cases) {
    const { plugin } = fixture({ listInterfaces: async () => list });
    await plugin.init(fakeHost(), 'none', NO_MASQ, 0);
    assert.is(plugin.mtu, want, JSON.stringify(list));
  }
  const { plugin } = fixture();
  await plugin.init(fakeHost(), 'none', NO_MASQ, 9000);
  assert.is(plugin.mtu, 9000);
});

B3(
  'pod-CIDR event: dual-stack order, single-stack, second ignored, garbage, hairpin-veth, exact generated config',
  async () => {
    const { plugin } = fixture({ bridge: 'cbr0' });
    await plugin.init(fakeHost(), 'hairpin-veth', NO_MASQ, 1460);
    plugin.event('pod-cidr-change', { 'pod-cidr': 'fd00:200:101::/64,10.200.101.0/24' });
    plugin.event('pod-cidr-change', { 'pod-cidr': '10.200.102.0/24' });
    assert.equal(plugin.cidrs, ['fd00:200:101::/64', '10.200.101.0/24']);
    const conf = JSON.parse(plugin.bridgeConfigText!);
    assert.equal(conf, {
      cniVersion: '0.1.0',
      name: 'kubenet',
      type: 'bridge',
      bridge: 'cbr0',
      mtu: 1460,
      addIf: 'eth0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: 'fd00:200:101::/64' }], [{ subnet: '10.200.101.0/24' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      },
    });
    assert.equal(Object.keys(conf), [
      'cniVersion',
      'name',
      'type',
      'bridge',
      'mtu',
      'addIf',
      'isGateway',
      'ipMasq',
      'hairpinMode',
      'ipam',
    ]);
    assert.is(
      plugin.bridgeConfigText,
      kubenetBridgeConfigText({ podCidrs: ['fd00:200:101::/64', '10.200.101.0/24'], mtu: 1460, hairpinVeth: true }),
    );
    assert.equal(
      plugin.networkList!.plugins.map((p) => p.network.type),
      ['bridge', 'portmap', 'bandwidth'],
    );

    const single = fixture({ singleStack: true }).plugin;
    await single.init(fakeHost(), 'promiscuous-bridge', NO_MASQ, 1460);
    single.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24,fd00:200:101::/64' });
    assert.equal(single.cidrs, ['10.200.101.0/24']);
    assert.is(JSON.parse(single.bridgeConfigText!).hairpinMode, false);

    const bad = fixture().plugin;
    await bad.init(fakeHost(), 'none', NO_MASQ, 1460);
    bad.event('pod-cidr-change', { 'pod-cidr': 'garbage' });
    bad.event('pod-cidr-change', { 'pod-cidr': 42 });
    await bad.status().then(
      () => assert.unreachable(),
      (e: Error) => assert.is(e.message, 'kubenet does not have netConfig. This is most likely due to lack of PodCIDR'),
    );
    await bad.tearDownPod('ns', 'n', 'id').then(
      () => assert.unreachable(),
      (e: Error) => assert.is(e.message, 'kubenet needs a PodCIDR to tear down pods'),
    );
  },
);

B3('masquerade rule: family by CIDR, disabled for the zero CIDRs; Init ensures the real rule', async () => {
  assert.is(masqRule('0.0.0.0/0'), null);
  assert.is(masqRule('::/0'), null);
  assert.is(masqRule('fd00::/8')!.family, 6);
  const r = masqRule('10.0.0.0/8')!;
  assert.is(r.family, 4);
  assert.equal(r.rule, [
    '-m',
    'comment',
    '--comment',
    'kubenet: SNAT for outbound traffic from cluster',
    '-m',
    'addrtype',
    '!',
    '--dst-type',
    'LOCAL',
    '!',
    '-d',
    '10.0.0.0/8',
    '-j',
    'MASQUERADE',
  ]);
  const had = await ruleExists(4, 'nat', 'POSTROUTING', r.rule);
  const { plugin } = fixture();
  try {
    await plugin.init(fakeHost(), 'none', '10.0.0.0/8', 1460);
    assert.ok(await ruleExists(4, 'nat', 'POSTROUTING', r.rule));
    await plugin.init(fakeHost(), 'none', '10.0.0.0/8', 1460); // idempotent
    assert.is((await listMasqRules()).filter((l) => l.includes('! -d 10.0.0.0/8')).length, 1);
  } finally {
    if (!had) await plugin.shutdown();
  }
  if (!had) assert.not.ok(await ruleExists(4, 'nat', 'POSTROUTING', r.rule), 'shutdown removes the rule');
});

B3('Status: the three binaries must share one directory; chained plugins anywhere on the path', async () => {
  const root = sb.dir('st');
  const d1 = join(root, 'd1');
  const d2 = join(root, 'd2');
  mkdirSync(d1);
  mkdirSync(d2);
  const log = join(root, 'log');
  writeLoggingPlugin(d1, 'bridge', log);
  writeLoggingPlugin(d1, 'loopback', log);
  writeLoggingPlugin(d2, 'host-local', log);
  writeLoggingPlugin(d2, 'portmap', log);
  writeLoggingPlugin(d2, 'bandwidth', log);
  const mk = (dirs: string[]) =>
    new KubenetNetworkPlugin({
      binDirs: dirs,
      cacheDir: join(root, 'c'),
      prependDefaultBinDir: false,
      sysctl: new FakeSysctl(),
    });
  const split = mk([d1, d2]);
  await split.init(fakeHost(), 'none', NO_MASQ, 1460);
  split.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24' });
  await split.status().then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.is(
        e.message,
        `could not locate kubenet required CNI plugins [bridge host-local loopback] at ["${d1}" "${d2}"]`,
      ),
  );
  writeLoggingPlugin(d2, 'bridge', log);
  writeLoggingPlugin(d2, 'loopback', log);
  await split.status();
  const dflt = new KubenetNetworkPlugin({ binDirs: [d2], cacheDir: join(root, 'c'), sysctl: new FakeSysctl() });
  assert.equal(dflt.binDirs, ['/opt/cni/bin', d2], '/opt/cni/bin is always put first');
});

B3('SetUpPod order: lo ADD, kubenet ADD (bridge, portmap, bandwidth) with capability args; IPs recorded', async () => {
  const { plugin, log } = fixture();
  const host: NetworkHost = fakeHost({}, { id: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '' }] });
  await plugin.init(host, 'none', NO_MASQ, 1460);
  plugin.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24' });
  await plugin.setUpPod('ns', 'n', 'id', { 'kubernetes.io/ingress-bandwidth': '1M' }, {});
  assert.equal(lines(log), [
    'loopback ADD lo id',
    'bridge ADD eth0 id',
    'portmap ADD eth0 id',
    'bandwidth ADD eth0 id',
  ]);
  assert.equal((await plugin.getPodNetworkStatus('ns', 'n', 'id')).ips, ['10.200.101.2']);
});

B3('SetUpPod failures: no IPs in the result (then teardown), bad annotation (nothing run), not ready', async () => {
  const noIps = fixture({ bridgeResult: '"ips":[]' });
  await noIps.plugin.init(fakeHost(), 'none', NO_MASQ, 1460);
  noIps.plugin.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24' });
  await noIps.plugin.setUpPod('ns', 'n', 'id', {}, {}).then(
    () => assert.unreachable(),
    (e: Error) => assert.is(e.message, "cni didn't report ipv4 ipv6"),
  );
  assert.ok(lines(noIps.log).includes('bridge DEL eth0 id'), 'a failed setup is torn down');

  const bad = fixture();
  await bad.plugin.init(fakeHost(), 'none', NO_MASQ, 1460);
  bad.plugin.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24' });
  await bad.plugin.setUpPod('ns', 'n', 'id', { 'kubernetes.io/egress-bandwidth': 'foo' }, {}).then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.match(e.message, /^error reading pod bandwidth annotations: quantities must match the regular expression/),
  );
  assert.not.ok(lines(bad.log).some((l) => l.includes(' ADD ')));

  const early = fixture();
  await early.plugin.init(fakeHost(), 'none', NO_MASQ, 1460);
  await early.plugin.setUpPod('ns', 'n', 'id', {}, {}).then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.is(
        e.message,
        'kubenet cannot SetUpPod: kubenet does not have netConfig. This is most likely due to lack of PodCIDR',
      ),
  );
});

B3('A5.9 / B4 bandwidth annotations: bits/s, 1k..1P', () => {
  const I = 'kubernetes.io/ingress-bandwidth';
  const E = 'kubernetes.io/egress-bandwidth';
  assert.is(extractPodBandwidth(undefined), null);
  assert.is(extractPodBandwidth({}), null);
  assert.equal(extractPodBandwidth({ [I]: '10M' }), { ingress: 10e6 });
  assert.equal(extractPodBandwidth({ [E]: '10M' }), { egress: 10e6 });
  assert.equal(extractPodBandwidth({ [I]: '4M', [E]: '20M' }), { ingress: 4e6, egress: 20e6 });
  assert.throws(() => extractPodBandwidth({ [I]: 'foo' }), /quantities must match/);
  const ok: Array<[string, number]> = [
    ['1k', 1000],
    ['1000', 1000],
    ['1.5k', 1500],
    ['1P', 1e15],
    ['1e6', 1e6],
    ['1Mi', 1048576],
  ];
  for (const [v, want] of ok) assert.is(extractPodBandwidth({ [I]: v })!.ingress, want, v);
  for (const v of ['999', '1001m', '-1M'])
    assert.throws(() => extractPodBandwidth({ [I]: v }), /unreasonably small \(< 1kbit\)/, v);
  for (const v of ['1Pi', '2P', '1E'])
    assert.throws(() => extractPodBandwidth({ [E]: v }), /unreasonably large \(> 1Pbit\)/, v);
  for (const v of ['1K', '1Mbps', '', ' 1M'])
    assert.throws(() => extractPodBandwidth({ [I]: v }), /quantit/, JSON.stringify(v));
});

B3.run();

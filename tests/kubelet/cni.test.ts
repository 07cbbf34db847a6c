// Scenarios (ids: docs/reference-notes.md §5) A2 (the cni plugin end to end with a fake CNI binary) and B2 (config
// loading, readiness, CNI_ARGS, runtimeConfig injection, loopback and DEL rules), black-box: shell-script plugins in a
// private bin dir, a real netns for the IP read-back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfList } from '../../host/runtime/config.ts';
import {
  CniNetworkPlugin,
  initNetworkPlugin,
  probeCniPlugins,
  type CniPluginOptions,
  type NetworkHost,
  type PortMapping,
} from '../../host/kubelet/index.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { cleanEnv, sh } from '../_lib/run.ts';
import { fakeHost, writeLoggingPlugin, writeRecordingPlugin } from '../_lib/kubelet-fakes.ts';

const sb = new Sandbox();
const enc = (s: string) => new TextEncoder().encode(s);
const SANDBOX = 'test_infra_container';

const A2 = suite('kubelet A2: cni plugin with a fake binary');
let netnsPath = '';
A2.before(async () => {
  const ns = await sb.netns('a2');
  netnsPath = ns.path;
  await sh('ip', ['-n', ns.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']); // no dummy module here
  await sh('ip', ['-n', ns.name, 'addr', 'add', '10.200.100.2/24', 'dev', 'eth0']);
  await sh('ip', ['-n', ns.name, 'link', 'set', 'eth0', 'up']);
});
A2.after(() => sb.cleanup());

A2('A2.1 probe, ipRanges readiness, SetUp/Status/TearDown with runtimeConfig', async () => {
  const tmp = sb.dir('a2');
  const confDir = join(tmp, 'etc/cni/net.d');
  const binDir = join(tmp, 'opt/cni/bin');
  const out = join(tmp, 'output');
  const cacheDir = join(tmp, 'var/lib/cni/cache');
  for (const d of [confDir, binDir, out]) mkdirSync(d, { recursive: true });
  const net = `test${Math.floor(Math.random() * 1e6)}`;
  const bin = `test_vendor${Math.floor(Math.random() * 1e6)}`;
  writeFileSync(
    join(confDir, `${net}.conf`),
    JSON.stringify({
      cniVersion: '0.2.0',
      name: net,
      type: bin,
      capabilities: { portMappings: true, bandwidth: true, ipRanges: true },
    }),
  );
  writeRecordingPlugin(binDir, bin, out);
  const loLog = join(out, 'lo.log');
  writeLoggingPlugin(binDir, 'fakelo', loLog);
  const loopback = parseConfList(enc('{"cniVersion":"0.2.0","name":"cni-loopback","plugins":[{"type":"fakelo"}]}'));

  const plugins = await probeCniPlugins({ confDir, cacheDir, binDirs: [binDir], loopback, env: cleanEnv() });
  assert.is(plugins.length, 1);
  const plugin = plugins[0]!;
  assert.is(plugin.name(), 'cni');
  await plugin.status().then(
    () => assert.unreachable('ready without a pod CIDR'),
    (e: Error) => assert.is(e.message, 'cni config needs ipRanges but no PodCIDR set'),
  );
  plugin.event('pod-cidr-change', { 'pod-cidr': '10.200.100.0/24' });
  await plugin.status();

  const ports: PortMapping[] = [{ hostPort: 8008, containerPort: 80, protocol: 'UDP', hostIP: '0.0.0.0' }];
  const host = fakeHost({ [SANDBOX]: netnsPath }, { [SANDBOX]: ports });
  const { error } = await initNetworkPlugin(plugins, 'cni', host, 'none', '10.0.0.0/8', 0);
  assert.is(error, null);

  await plugin.setUpPod(
    'podNamespace',
    'podName',
    SANDBOX,
    { 'kubernetes.io/ingress-bandwidth': '1M', 'kubernetes.io/egress-bandwidth': '1M' },
    {},
  );
  assert.is(readFileSync(join(out, `${bin}.out`), 'utf8'), `ADD ${netnsPath} podNamespace podName ${SANDBOX}`);
  const stdin = JSON.parse(readFileSync(join(out, `${bin}.in`), 'utf8'));
  assert.equal(stdin.runtimeConfig.portMappings, [
    { hostPort: 8008, containerPort: 80, protocol: 'udp', hostIP: '0.0.0.0' },
  ]);
  assert.equal(stdin.runtimeConfig.bandwidth, {
    ingressRate: 1000000,
    egressRate: 1000000,
    ingressBurst: 2147483647,
    egressBurst: 2147483647,
  });
  assert.equal(stdin.runtimeConfig.ipRanges, [[{ subnet: '10.200.100.0/24' }]]);

  const st = await plugin.getPodNetworkStatus('podNamespace', 'podName', SANDBOX);
  assert.is(st.ip, '10.200.100.2');

  await plugin.tearDownPod('podNamespace', 'podName', SANDBOX);
  assert.is(readFileSync(join(out, `${bin}.out`), 'utf8'), `DEL ${netnsPath} podNamespace podName ${SANDBOX}`);
  const lo = readFileSync(loLog, 'utf8');
  assert.match(lo, /fakelo ADD eth0 test_infra_container/);
  assert.match(lo, /fakelo DEL eth0 test_infra_container/);
});

A2('A2.2 the loopback network exists without bin dirs', () => {
  const p = new CniNetworkPlugin({ confDir: '/nonexistent', cacheDir: sb.dir('lo'), binDirs: [] });
  assert.ok(p.loopbackNetwork);
  assert.is(p.loopbackNetwork.name, 'cni-loopback');
  assert.is(p.loopbackNetwork.list.plugins[0]!.network.type, 'loopback');
  assert.is(p.loopbackNetwork.list.cniVersion, '0.2.0');
});

A2.run();

// ---- B2 -----------------------------------------------------------------------------------------------------

const B2 = suite('kubelet B2: cni config loading, readiness, CNI_ARGS, runtimeConfig');
const sb2 = new Sandbox();
B2.after(() => sb2.cleanup());

interface Env {
  conf: string;
  bin: string;
  bin2: string;
  log: string;
  cache: string;
  opts: (o?: Partial<CniPluginOptions>) => CniPluginOptions;
}
function env(): Env {
  const root = sb2.dir('b2');
  const e = {
    conf: join(root, 'conf'),
    bin: join(root, 'bin'),
    bin2: join(root, 'bin2'),
    log: join(root, 'log'),
    cache: join(root, 'cache'),
  };
  for (const d of [e.conf, e.bin, e.bin2]) mkdirSync(d, { recursive: true });
  writeLoggingPlugin(e.bin, 'lo', e.log);
  const loopback = parseConfList(enc('{"cniVersion":"0.2.0","name":"cni-loopback","plugins":[{"type":"lo"}]}'));
  return {
    ...e,
    opts: (o = {}) => ({
      confDir: e.conf,
      cacheDir: e.cache,
      binDirs: [e.bin, e.bin2],
      loopback,
      env: cleanEnv(),
      resyncMs: 0,
      ...o,
    }),
  };
}
const write = (dir: string, file: string, v: unknown) =>
  writeFileSync(join(dir, file), typeof v === 'string' ? v : JSON.stringify(v));
const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : []);
const host = (ports: PortMapping[] = []): NetworkHost => fakeHost({ id: '/proc/self/ns/net' }, { id: ports });
/** A plugin that saves its stdin and env, then succeeds. */
function writeStdinSaver(bin: string, name: string, out: string): void {
  writeFileSync(
    join(bin, name),
    `#!/bin/sh
if [ "$CNI_COMMAND" = "VERSION" ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}'; exit 0; fi
cat > "${out}/${name}.$CNI_COMMAND.in"; env > "${out}/${name}.$CNI_COMMAND.env"
[ "$CNI_COMMAND" = "ADD" ] && echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.200.101.5/24"}]}'
exit 0
`,
    { mode: 0o755 },
  );
}

B2('first valid file by name wins; a removed file hands over to the next', async () => {
  const e = env();
  writeLoggingPlugin(e.bin, 'pa', e.log);
  writeLoggingPlugin(e.bin, 'pb', e.log);
  write(e.conf, '10-b.conflist', { cniVersion: '0.4.0', name: 'b', plugins: [{ type: 'pb' }] });
  write(e.conf, '05-a.conf', { cniVersion: '0.4.0', name: 'a', type: 'pa' });
  const p = new CniNetworkPlugin(e.opts());
  await p.syncNetworkConfig();
  assert.is(p.network()?.name, 'a');
  rmSync(join(e.conf, '05-a.conf'));
  await p.status();
  assert.is(p.network()?.name, 'b');
});

B2('extension filter and directory messages', async () => {
  const e = env();
  const p = new CniNetworkPlugin(e.opts());
  await p.syncNetworkConfig().then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, `no networks found in ${e.conf}`),
  );
  await new CniNetworkPlugin(e.opts({ confDir: join(e.conf, 'missing') })).syncNetworkConfig().then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, `no networks found in ${join(e.conf, 'missing')}`),
  );
  writeLoggingPlugin(e.bin, 'px', e.log);
  write(e.conf, 'x.yaml', { cniVersion: '0.4.0', name: 'x', type: 'px' });
  write(e.conf, 'x.conf.bak', { cniVersion: '0.4.0', name: 'x', type: 'px' });
  mkdirSync(join(e.conf, 'y.conf'));
  await p.syncNetworkConfig().then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, `no networks found in ${e.conf}`),
  );
  await p.status().then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, 'cni config uninitialized'),
  );
});

B2('invalid files are skipped; all invalid → no valid networks', async () => {
  const e = env();
  writeLoggingPlugin(e.bin, 'old', e.log, { versions: ['0.1.0', '0.2.0'] });
  write(e.conf, '01-bad.conf', '{ nope');
  write(e.conf, '02-notype.conf', { cniVersion: '0.4.0', name: 'n' });
  write(e.conf, '03-list-as-conf.conf', { cniVersion: '0.4.0', name: 'n', plugins: [{ type: 'lo' }] });
  write(e.conf, '04-empty.conflist', { cniVersion: '0.4.0', name: 'n', plugins: [] });
  write(e.conf, '05-noname.conflist', { cniVersion: '0.4.0', plugins: [{ type: 'lo' }] });
  write(e.conf, '06-nobinary.conflist', { cniVersion: '0.4.0', name: 'n', plugins: [{ type: 'absent' }] });
  write(e.conf, '07-version.conflist', { cniVersion: '0.4.0', name: 'n', plugins: [{ type: 'old' }] });
  const p = new CniNetworkPlugin(e.opts());
  await p.syncNetworkConfig().then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, `no valid networks found in ${e.conf}`),
  );
  write(e.conf, '08-noversion.conflist', { name: 'good', plugins: [{ type: 'old' }] }); // validated as 0.1.0
  await p.syncNetworkConfig();
  assert.is(p.network()?.name, 'good');
});

B2('first bin dir wins; capabilities are the union of true entries; a failed re-sync keeps the network', async () => {
  const e = env();
  writeLoggingPlugin(e.bin, 'dup', e.log);
  writeLoggingPlugin(e.bin2, 'dup', `${e.log}2`);
  writeLoggingPlugin(e.bin2, 'second', e.log);
  write(e.conf, 'a.conflist', {
    cniVersion: '0.4.0',
    name: 'a',
    plugins: [
      { type: 'dup', capabilities: { portMappings: true, bandwidth: false } },
      { type: 'second', capabilities: { ipRanges: true } },
    ],
  });
  const p = new CniNetworkPlugin(e.opts());
  await p.init(host(), 'none', '10.0.0.0/8', 0);
  assert.equal(p.network()?.capabilities, ['ipRanges', 'portMappings']);
  p.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24' });
  p.event('pod-cidr-change', { 'pod-cidr': '10.200.102.0/24' });
  assert.is(p.podCIDR, '10.200.101.0/24', 'the second CIDR event is ignored');
  await p.setUpPod('ns', 'n', 'id', {}, {});
  assert.ok(lines(e.log).includes('dup ADD eth0 id'));
  assert.is(lines(`${e.log}2`).length, 0, "the second dir's binary never runs");
  rmSync(join(e.conf, 'a.conflist'));
  await p.status();
  assert.is(p.network()?.name, 'a');
});

B2('CNI env: exact CNI_ARGS, eth0 for loopback and default network, CNI_PATH, K8S_POD_UID when known', async () => {
  const e = env();
  const out = sb2.dir('out');
  writeStdinSaver(e.bin, 'saver', out);
  writeStdinSaver(e.bin, 'losaver', out);
  write(e.conf, 'a.conflist', { cniVersion: '0.4.0', name: 'a', plugins: [{ type: 'saver' }] });
  const loopback = parseConfList(enc('{"cniVersion":"0.4.0","name":"cni-loopback","plugins":[{"type":"losaver"}]}'));
  const p = new CniNetworkPlugin(e.opts({ loopback }));
  await p.init(host(), 'none', '10.0.0.0/8', 0);
  await p.setUpPod('ns', 'n', 'id', {}, {});
  const envOf = (f: string) =>
    Object.fromEntries(
      readFileSync(join(out, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  const add = envOf('saver.ADD.env');
  assert.is(add.CNI_ARGS, 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=n;K8S_POD_INFRA_CONTAINER_ID=id');
  assert.is(add.CNI_IFNAME, 'eth0');
  assert.is(envOf('losaver.ADD.env').CNI_IFNAME, 'eth0');
  assert.is(add.CNI_PATH, `${e.bin}:${e.bin2}`);
  assert.is(add.CNI_NETNS, '/proc/self/ns/net');
  assert.is(add.CNI_CONTAINERID, 'id');
  await p.tearDownPod('ns', 'n', 'id');
  await p.setUpPod('ns', 'n', 'id2', {}, { uid: '1234-abcd' });
  assert.is(
    envOf('saver.ADD.env').CNI_ARGS,
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=n;K8S_POD_INFRA_CONTAINER_ID=id2;K8S_POD_UID=1234-abcd',
  );
});

B2(
  'runtimeConfig: only declared capabilities, [] port mappings, hostPort 0 dropped, ingress only, dual-stack string, no bandwidth on DEL',
  async () => {
    const e = env();
    const out = sb2.dir('out');
    writeStdinSaver(e.bin, 'ports', out);
    writeStdinSaver(e.bin, 'plain', out);
    writeStdinSaver(e.bin, 'all', out);
    write(e.conf, 'a.conflist', {
      cniVersion: '0.4.0',
      name: 'a',
      plugins: [
        { type: 'ports', capabilities: { portMappings: true } },
        { type: 'plain' },
        { type: 'all', capabilities: { portMappings: true, bandwidth: true, ipRanges: true } },
      ],
    });
    const ports: PortMapping[] = [
      { hostPort: 0, containerPort: 81, protocol: 'TCP', hostIP: '' },
      { hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '' },
    ];
    const p = new CniNetworkPlugin(e.opts());
    await p.init(host(ports), 'none', '10.0.0.0/8', 0);
    p.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24,fd00:200:101::/64' });
    await p.setUpPod('ns', 'n', 'id', { 'kubernetes.io/ingress-bandwidth': '2M' }, {});
    const stdin = (f: string) => JSON.parse(readFileSync(join(out, f), 'utf8'));
    assert.equal(stdin('ports.ADD.in').runtimeConfig, {
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }],
    });
    assert.is(stdin('plain.ADD.in').runtimeConfig, undefined);
    const all = stdin('all.ADD.in').runtimeConfig;
    assert.equal(all.bandwidth, { ingressRate: 2000000, ingressBurst: 2147483647 });
    assert.equal(all.ipRanges, [[{ subnet: '10.200.101.0/24,fd00:200:101::/64' }]]);
    await p.tearDownPod('ns', 'n', 'id');
    const del = stdin('all.DEL.in').runtimeConfig;
    assert.is(del.bandwidth, undefined);
    assert.equal(del.portMappings, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '' }]);
    const p2 = new CniNetworkPlugin(e.opts());
    await p2.init(host([]), 'none', '10.0.0.0/8', 0);
    p2.event('pod-cidr-change', { 'pod-cidr': '10.200.101.0/24' });
    await p2.setUpPod('ns', 'n', 'id3', {}, {});
    assert.equal(stdin('ports.ADD.in').runtimeConfig, { portMappings: [] });
    await p2.setUpPod('ns', 'n', 'id4', { 'kubernetes.io/egress-bandwidth': '999' }, {}).then(
      () => assert.unreachable(),
      (err: Error) =>
        assert.is(
          err.message,
          'failed to get pod bandwidth from annotations: resource is unreasonably small (< 1kbit)',
        ),
    );
  },
);

B2(
  'loopback ADD failure stops before the default network; loopback DEL failure and missing-file DEL errors are tolerated',
  async () => {
    const e = env();
    writeLoggingPlugin(e.bin, 'main', e.log);
    writeLoggingPlugin(e.bin, 'badlo', e.log, { failOn: 'ADD' });
    writeLoggingPlugin(e.bin, 'badlodel', e.log, { failOn: 'DEL' });
    write(e.conf, 'a.conflist', { cniVersion: '0.4.0', name: 'a', plugins: [{ type: 'main' }] });
    const lo = (t: string) =>
      parseConfList(enc(`{"cniVersion":"0.4.0","name":"cni-loopback","plugins":[{"type":"${t}"}]}`));
    const p = new CniNetworkPlugin(e.opts({ loopback: lo('badlo') }));
    await p.init(host(), 'none', '10.0.0.0/8', 0);
    await p.setUpPod('ns', 'n', 'id', {}, {}).then(
      () => assert.unreachable(),
      (err: Error) => assert.match(err.message, /badlo failed; x/),
    );
    assert.not.ok(
      lines(e.log).some((l) => l.startsWith('main ')),
      'default network not attempted',
    );
    const p2 = new CniNetworkPlugin(e.opts({ loopback: lo('badlodel') }));
    await p2.init(host(), 'none', '10.0.0.0/8', 0);
    await p2.setUpPod('ns', 'n', 'id', {}, {});
    await p2.tearDownPod('ns', 'n', 'id');
    assert.ok(lines(e.log).includes('main DEL eth0 id'));
    // a default network whose DEL says "no such file or directory" is a successful teardown
    writeFileSync(
      join(e.bin, 'gone'),
      `#!/bin/sh
if [ "$CNI_COMMAND" = "VERSION" ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0"]}'; exit 0; fi
cat >/dev/null
[ "$CNI_COMMAND" = "DEL" ] && { echo '{"code":999,"msg":"open /run/x: no such file or directory"}'; exit 1; }
echo '{"cniVersion":"0.4.0"}'
`,
      { mode: 0o755 },
    );
    write(e.conf, '0-gone.conflist', { cniVersion: '0.4.0', name: 'gone', plugins: [{ type: 'gone' }] });
    const p3 = new CniNetworkPlugin(e.opts({ loopback: lo('lo') }));
    await p3.init(host(), 'none', '10.0.0.0/8', 0);
    await p3.tearDownPod('ns', 'n', 'id');
  },
);

B2(
  'port-mapping lookup failure fails DEL; plugin error text is "msg; details"; teardown refused when uninitialised',
  async () => {
    const e = env();
    writeLoggingPlugin(e.bin, 'main', e.log, { failOn: 'ADD' });
    write(e.conf, 'a.conflist', { cniVersion: '0.4.0', name: 'a', plugins: [{ type: 'main' }] });
    const broken: NetworkHost = {
      getNetNS: async () => '/proc/self/ns/net',
      getPodPortMappings: async () => {
        throw new Error('checkpoint corrupt');
      },
    };
    const p = new CniNetworkPlugin(e.opts());
    await p.init(broken, 'none', '10.0.0.0/8', 0);
    await p.tearDownPod('ns', 'n', 'id').then(
      () => assert.unreachable(),
      (err: Error) => assert.is(err.message, 'could not retrieve port mappings: checkpoint corrupt'),
    );
    const p2 = new CniNetworkPlugin(e.opts());
    await p2.init(host(), 'none', '10.0.0.0/8', 0);
    await p2.setUpPod('ns', 'n', 'id', {}, {}).then(
      () => assert.unreachable(),
      (err: Error) => assert.match(err.message, /main failed; x$/),
    );
    const p3 = new CniNetworkPlugin(e.opts({ confDir: join(e.conf, 'none') }));
    await p3.init(host(), 'none', '10.0.0.0/8', 0);
    await p3.tearDownPod('ns', 'n', 'id').then(
      () => assert.unreachable(),
      (err: Error) => assert.is(err.message, 'cni config uninitialized'),
    );
  },
);

B2('Status: a missing loopback binary makes the node not ready', async () => {
  const e = env();
  writeLoggingPlugin(e.bin, 'main', e.log);
  write(e.conf, 'a.conflist', { cniVersion: '0.4.0', name: 'a', plugins: [{ type: 'main' }] });
  const p = new CniNetworkPlugin(
    e.opts({
      loopback: parseConfList(enc('{"cniVersion":"0.2.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}')),
    }),
  );
  await p.init(host(), 'none', '10.0.0.0/8', 0);
  await p.status().then(
    () => assert.unreachable(),
    (err: Error) =>
      assert.is(
        err.message,
        `cni loopback plugin missing: failed to find plugin "loopback" in path [${e.bin} ${e.bin2}]`,
      ),
  );
});

B2('GetPodNetworkStatus: netns lookup error, empty netns', async () => {
  const e = env();
  const p = new CniNetworkPlugin(e.opts());
  await p.init(
    {
      getNetNS: async () => {
        throw new Error('container "x" not found');
      },
      getPodPortMappings: async () => [],
    },
    'none',
    '10.0.0.0/8',
    0,
  );
  await p.getPodNetworkStatus('ns', 'n', 'x').then(
    () => assert.unreachable(),
    (err: Error) => assert.is(err.message, 'CNI failed to retrieve network namespace path: container "x" not found'),
  );
  const p2 = new CniNetworkPlugin(e.opts());
  await p2.init(fakeHost(), 'none', '10.0.0.0/8', 0);
  await p2.getPodNetworkStatus('ns', 'n', 'x').then(
    () => assert.unreachable(),
    (err: Error) =>
      assert.match(err.message, /^cannot find the network namespace, skipping pod network status for container "x"/),
  );
});

B2.run();

// Real pods in network namespaces through the kubelet layer with our plugins (build/cni): kubenet dual-stack
// pods that reach each other, a hostPort from the host, a shaped pod, promiscuous-bridge with its de-dup rules,
// the cni plugin with a conflist; everything removed afterwards. Subnets 10.200.103-105.0/24, fd00:200:103::/64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  SandboxTable,
  createNetworkStack,
  ebtablesInstalled,
  listDedupRules,
  parseNetworkFlags,
  type KubenetNetworkPlugin,
  type NetworkStack,
} from '../../host/kubelet/index.ts';
import { podStatus } from '../../host/kubelet/pods.ts';
import { cniBinDir } from '../../host/paths.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { askTcpFromHost, natSave, removeUnusedHostportChains, startResponder } from '../_lib/firewall.ts';
import { FakeSysctl } from '../_lib/kubelet-fakes.ts';

const sb = new Sandbox();
const responders: ChildProcess[] = [];
const ping = async (ns: string, ip: string) =>
  (await run('ip', ['netns', 'exec', ns, 'ping', ip.includes(':') ? '-6' : '-4', '-c1', '-W2', ip])).code === 0;
const leases = (dir: string) => {
  try {
    return readdirSync(dir).filter((f) => /^[0-9a-f.:]+$/.test(f) && /[.:]/.test(f));
  } catch {
    return [];
  }
};
// DAD is read from the (fake) host sysctl and then switched off inside the pod, so IPv6 works at once.
const sysctl = () =>
  new FakeSysctl(
    new Map([
      ['net/bridge/bridge-nf-call-iptables', 1],
      ['net/ipv6/conf/default/dad_transmits', 1],
    ]),
  );

const K = suite('kubelet: kubenet pods with the real plugins');
let stack: NetworkStack;
let host: SandboxTable;
let ipamDir = '';
let cacheDir = '';
const pods: Record<string, TestNetns & { id: string }> = {};
const hostPort = 30000 + Math.floor(Math.random() * 20000);

K.before(async () => {
  ipamDir = sb.dir('ipam');
  cacheDir = sb.dir('cache');
  host = new SandboxTable();
  const { flags } = parseNetworkFlags([
    '--network-plugin=kubenet',
    `--cni-bin-dir=${cniBinDir}`,
    `--cni-cache-dir=${cacheDir}`,
    '--pod-cidr=10.200.103.0/24,fd00:200:103::/64',
    '--non-masquerade-cidr=0.0.0.0/0',
    '--hairpin-mode=hairpin-veth',
  ]);
  stack = await createNetworkStack({
    flags,
    host,
    bridge: sb.name('br'),
    dataDir: ipamDir,
    prependDefaultBinDir: false,
    sysctl: sysctl(),
    env: cleanEnv(),
  });
  for (const name of ['a', 'b', 'web']) {
    const ns = await sb.netns(name);
    pods[name] = { ...ns, id: `${sb.prefix}${name}` };
  }
  host.set(pods.a!.id, { netns: pods.a!.path });
  host.set(pods.b!.id, { netns: pods.b!.path });
  host.set(pods.web!.id, {
    netns: pods.web!.path,
    ports: [
      { hostPort, containerPort: 8080, protocol: 'TCP', hostIP: '' },
      { hostPort: 0, containerPort: 9, protocol: 'TCP', hostIP: '' },
    ],
  });
});
K.after(async () => {
  for (const r of responders) r.kill('SIGKILL');
  for (const p of Object.values(pods)) await stack?.manager.tearDownPod('t', p.name, p.id).catch(() => {});
  await (stack?.plugin as KubenetNetworkPlugin | undefined)?.shutdown({ removeBridge: true }).catch(() => {});
  await removeUnusedHostportChains();
  await sb.cleanup();
});

K('Status is ready; two dual-stack pods get addresses and reach each other', async () => {
  assert.is(stack.plugin.name(), 'kubenet');
  await stack.manager.status();
  await stack.manager.setUpPod('t', pods.a!.name, pods.a!.id);
  await stack.manager.setUpPod('t', pods.b!.name, pods.b!.id);
  const a = (await stack.manager.getPodNetworkStatus('t', pods.a!.name, pods.a!.id))!;
  const b = (await stack.manager.getPodNetworkStatus('t', pods.b!.name, pods.b!.id))!;
  assert.is(a.ips.length, 2);
  assert.ok(a.ips[0]!.startsWith('10.200.103.') && a.ips[1]!.startsWith('fd00:200:103::'), a.ips.join(' '));
  assert.equal([...leases(join(ipamDir, 'kubenet'))].sort(), [...a.ips, ...b.ips].sort());
  assert.ok(await ping(pods.a!.name, b.ips[0]!), 'a → b (IPv4)');
  assert.ok(await ping(pods.b!.name, a.ips[1]!), 'b → a (IPv6)');
  assert.ok(await ping(pods.a!.name, '10.200.103.1'), 'a → gateway');
});

K('a hostPort is served from the pod; shaping lands on the host veth; pod status shows both', async () => {
  const web = pods.web!;
  await stack.manager.setUpPod('t', web.name, web.id, {
    'kubernetes.io/ingress-bandwidth': '10M',
    'kubernetes.io/egress-bandwidth': '20M',
  });
  responders.push(await startResponder(web.name, 8080, 'kubenet-web'));
  assert.match(await askTcpFromHost('10.200.103.1', hostPort), /^tcp \S+ kubenet-web$/);
  const st = await podStatus({
    namespace: 't',
    name: web.name,
    sandboxId: web.id,
    netns: web.path,
    ports: host.get(web.id)!.ports!,
    annotations: {},
    flags: [],
    createdAt: '',
  });
  assert.is(st.error, undefined);
  assert.ok(st.ips[0]!.startsWith('10.200.103.'));
  assert.ok(st.hostVeth?.startsWith('veth'));
  assert.is(st.shaping.ingressTbf, 10_000_000);
  assert.is(st.shaping.egressTbf, 20_000_000);
});

K(
  'a pod whose netns is already gone is still torn down (its IP is released); status is served from the record',
  async () => {
    const ns = await sb.netns('gone');
    const id = `${sb.prefix}gone`;
    host.set(id, { netns: ns.path });
    await stack.manager.setUpPod('t', 'gone', id);
    const st = (await stack.manager.getPodNetworkStatus('t', 'gone', id))!;
    await run('ip', ['netns', 'delete', ns.name]);
    assert.equal(
      (await stack.manager.getPodNetworkStatus('t', 'gone', id))!.ips,
      st.ips,
      'recorded IPs, no netns read',
    );
    await stack.manager.tearDownPod('t', 'gone', id);
    assert.not.ok(leases(join(ipamDir, 'kubenet')).includes(st.ips[0]!));
    host.delete(id);
  },
);

K('teardown removes pods, leases, hostport rules and cached results; shutdown removes the bridge', async () => {
  const ids = Object.values(pods).map((p) => p.id);
  for (const p of Object.values(pods)) await stack.manager.tearDownPod('t', p.name, p.id);
  await stack.manager.tearDownPod('t', pods.a!.name, pods.a!.id); // repeated teardown is fine
  assert.equal(leases(join(ipamDir, 'kubenet')), []);
  assert.equal(readdirSync(join(cacheDir, 'results')), []);
  const nat = await natSave(4);
  assert.not.ok(
    nat.some((l) => ids.some((id) => l.includes(id)) || l.includes(`--dport ${hostPort} `)),
    'no hostport rules left',
  );
  const veths = (await run('ip', ['-o', 'link', 'show', 'master', sb.name('br')])).stdout.trim();
  assert.is(veths, '');
  await (stack.plugin as KubenetNetworkPlugin).shutdown({ removeBridge: true });
  assert.is((await run('ip', ['link', 'show', sb.name('br')])).code !== 0, true);
});

K.run();

const P = suite('kubelet: kubenet promiscuous-bridge (de-dup rules)');
const sbp = new Sandbox();
const dedupChain = `${sbp.prefix.toUpperCase()}-DEDUP`;
let pstack: NetworkStack | undefined;
P.after(async () => {
  await pstack?.manager.tearDownPod('t', 'p', `${sbp.prefix}p`).catch(() => {});
  await (pstack?.plugin as KubenetNetworkPlugin | undefined)?.shutdown({ removeBridge: true }).catch(() => {});
  await sbp.cleanup();
});

P('cbr0 goes promiscuous; de-dup rules for the gateway and the range (when ebtables is installed)', async () => {
  const ns = await sbp.netns('p');
  const h = new SandboxTable().set(`${sbp.prefix}p`, { netns: ns.path });
  const { flags } = parseNetworkFlags([
    '--network-plugin=kubenet',
    `--cni-bin-dir=${cniBinDir}`,
    `--cni-cache-dir=${sbp.dir('cache')}`,
    '--pod-cidr=10.200.104.0/24',
    '--non-masquerade-cidr=0.0.0.0/0',
  ]);
  pstack = await createNetworkStack({
    flags,
    host: h,
    bridge: sbp.name('pb'),
    dataDir: sbp.dir('ipam'),
    dedupChain,
    prependDefaultBinDir: false,
    sysctl: sysctl(),
    env: cleanEnv(),
  });
  assert.is(pstack.hairpinMode, 'promiscuous-bridge');
  await pstack.manager.setUpPod('t', 'p', `${sbp.prefix}p`);
  const link = (await run('ip', ['-d', 'link', 'show', sbp.name('pb')])).stdout;
  assert.match(link, /PROMISC/);
  const mac = /link\/ether ([0-9a-f:]+)/.exec(link)![1]!;
  const rules = await listDedupRules(dedupChain);
  if (ebtablesInstalled()) {
    assert.equal(rules, [
      `-p IPv4 -s ${mac} -o veth+ --ip-src 10.200.104.1 -j ACCEPT`,
      `-p IPv4 -s ${mac} -o veth+ --ip-src 10.200.104.0/24 -j DROP`,
    ]);
  } else {
    assert.is(rules, null);
  }
  await pstack.manager.tearDownPod('t', 'p', `${sbp.prefix}p`);
  await (pstack.plugin as KubenetNetworkPlugin).shutdown({ removeBridge: true });
  assert.is(await listDedupRules(dedupChain), null);
});

P.run();

const C = suite('kubelet: the cni plugin with a real conflist');
const sbc = new Sandbox();
let cstack: NetworkStack | undefined;
C.after(async () => {
  await cstack?.manager.tearDownPod('t', 'c', `${sbc.prefix}c`).catch(() => {});
  await run('ip', ['link', 'delete', sbc.name('cb')]);
  await sbc.cleanup();
});

C('default network from the conf dir; pod IP read from the netns; teardown releases it', async () => {
  const conf = sbc.dir('conf');
  const ipam = sbc.dir('ipam');
  mkdirSync(conf, { recursive: true });
  writeFileSync(
    join(conf, '10-net.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `${sbc.prefix}net`,
      plugins: [
        {
          type: 'bridge',
          bridge: sbc.name('cb'),
          isGateway: true,
          ipam: {
            type: 'host-local',
            dataDir: ipam,
            ranges: [[{ subnet: '10.200.105.0/24' }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  const ns = await sbc.netns('c');
  const h = new SandboxTable().set(`${sbc.prefix}c`, { netns: ns.path });
  const { flags } = parseNetworkFlags([
    '--network-plugin=cni',
    `--cni-bin-dir=${cniBinDir}`,
    `--cni-conf-dir=${conf}`,
    `--cni-cache-dir=${sbc.dir('cache')}`,
  ]);
  cstack = await createNetworkStack({ flags, host: h, env: cleanEnv() });
  await cstack.manager.status();
  await cstack.manager.setUpPod('t', 'c', `${sbc.prefix}c`);
  const st = (await cstack.manager.getPodNetworkStatus('t', 'c', `${sbc.prefix}c`))!;
  assert.equal(st.ips, ['10.200.105.2']);
  assert.ok(await ping(ns.name, '10.200.105.1'));
  await cstack.manager.tearDownPod('t', 'c', `${sbc.prefix}c`);
  assert.equal(leases(join(ipam, `${sbc.prefix}net`)), []);
});

C.run();

// A simulated cluster: three "nodes" (network namespaces, each with its own cbr0), pod CIDRs handed out from the
// cluster CIDR 10.200.128.0/18 by the Wasm node-CIDR allocator, and a "cloud" namespace that connects the nodes
// and holds the routes a cloud provider's route controller would add (pod CIDR → node). Each node runs the kubelet
// network layer with kubenet (`wasm-cni pod up|down --network-plugin=kubenet --pod-cidr=<its /24>`) inside its
// namespace (`ip netns exec`), so kubenet's cbr0, its masquerade rule and the plugins' host side all live in the
// node. Pods are namespaces whose veth peer lives in their node. With --non-masquerade-cidr = the cluster CIDR,
// pod-to-pod across nodes keeps the pod source address and pod-to-outside is masqueraded to the node address.
//
// Addresses: the cluster CIDR is 10.200.128.0/18 (node /24s from 10.200.128.0); the cloud network (node addresses
// and the "outside" host) is 10.200.200.0/24. None of it exists outside this file's own namespaces.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Sandbox } from '../_lib/sandbox.ts';
import { run, sh } from '../_lib/run.ts';
import { askFromPod, startResponder } from '../_lib/firewall.ts';
import { NodeCidrAllocator } from '../../host/core/index.ts';
import { MASQ_COMMENT } from '../../host/node/masq.ts';
import { cliEntryPath, cniBinDir } from '../../host/paths.ts';

const test = suite('e2e: simulated cluster (3 kubenet nodes, cloud routes, masquerade only outside the cluster CIDR)');

const CLUSTER_CIDR = '10.200.128.0/18';
const CLOUD_GW = '10.200.200.1'; // the cloud router, also the "outside" host
const PORT = 8099;

interface Pod {
  name: string;
  ns: string;
  nsPath: string;
  ip: string;
}
interface Node {
  name: string;
  ns: string;
  ip: string;
  podCidr: string;
  gateway: string;
  stateDir: string;
  dataDir: string;
  cacheDir: string;
  pods: Pod[];
}

const sb = new Sandbox();
const nodes: Node[] = [];
const responders: ChildProcess[] = [];
let cloudNs = '';
let noDaemonSocket = '';

const inNs = (ns: string, cmd: string, args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);
const escapeRe = (s: string) => s.replace(/[./]/g, (c) => `\\${c}`);
const leaseFiles = (dir: string) => readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));

/** `wasm-cni pod up|down` run inside the node's namespace with the node's kubelet flags. */
async function pod(node: Node, sub: 'up' | 'down', name: string, nsPath?: string): Promise<string> {
  const args = [
    cliEntryPath,
    'pod',
    sub,
    '--namespace',
    'default',
    '--name',
    name,
    '--state-dir',
    node.stateDir,
    '--network-plugin=kubenet',
    `--pod-cidr=${node.podCidr}`,
    `--non-masquerade-cidr=${CLUSTER_CIDR}`,
    `--cni-bin-dir=${cniBinDir}`,
    `--cni-cache-dir=${node.cacheDir}`,
    '--ipam-dir',
    node.dataDir,
    ...(nsPath ? ['--netns', nsPath] : []),
  ];
  // No daemon: a warm daemon would do the host side in its own namespace, not the node's.
  const r = await run('ip', ['netns', 'exec', node.ns, process.execPath, ...args], {
    env: { WASM_CNI_SOCKET: noDaemonSocket },
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`pod ${sub} ${name} on ${node.name} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Packets counted by kubenet's masquerade rule in the node's nat table. */
async function masqPackets(node: Node): Promise<number> {
  const out = await inNs(node.ns, 'iptables', ['-t', 'nat', '-L', 'POSTROUTING', '-v', '-n', '-x']);
  const line = out.split('\n').find((l) => l.includes(MASQ_COMMENT));
  if (!line) throw new Error(`no kubenet masquerade rule in ${node.name}:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

test.before(async () => {
  noDaemonSocket = join(sb.dir('nodaemon'), 'none.sock');
  const allocator = new NodeCidrAllocator(CLUSTER_CIDR, 24);
  sb.defer(() => allocator.dispose());

  // The cloud: one L2 segment (bridge cloud0) and a router holding the pod-CIDR routes.
  cloudNs = (await sb.netns('cloud')).name;
  await inNs(cloudNs, 'ip', ['link', 'add', 'cloud0', 'type', 'bridge']);
  await inNs(cloudNs, 'ip', ['addr', 'add', `${CLOUD_GW}/24`, 'dev', 'cloud0']);
  await inNs(cloudNs, 'ip', ['link', 'set', 'cloud0', 'up']);
  await inNs(cloudNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);

  for (let i = 1; i <= 3; i++) {
    const ns = (await sb.netns(`n${i}`)).name;
    const dir = sb.dir(`n${i}`);
    const podCidr = allocator.allocate();
    const base = podCidr.split('/')[0]!.split('.').slice(0, 3).join('.');
    const node: Node = {
      name: `node${i}`,
      ns,
      ip: `10.200.200.${10 + i}`,
      podCidr,
      gateway: `${base}.1`,
      stateDir: join(dir, 'pods'),
      dataDir: join(dir, 'ipam'),
      cacheDir: join(dir, 'cache'),
      pods: [],
    };
    for (const d of [node.stateDir, node.dataDir, node.cacheDir]) mkdirSync(d, { recursive: true });
    // Node uplink: eth0 in the node, its peer on the cloud bridge.
    await inNs(cloudNs, 'ip', ['link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await inNs(cloudNs, 'ip', ['link', 'set', `n${i}`, 'master', 'cloud0', 'up']);
    await inNs(ns, 'ip', ['addr', 'add', `${node.ip}/24`, 'dev', 'eth0']);
    await inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await inNs(ns, 'ip', ['route', 'add', 'default', 'via', CLOUD_GW]);
    await inNs(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    // The cloud provider's route for this node's pod CIDR.
    await inNs(cloudNs, 'ip', ['route', 'add', podCidr, 'via', node.ip]);
    nodes.push(node);
  }
});

test.after(async () => {
  for (const r of responders) r.kill('SIGKILL');
  await sb.cleanup();
});

test('the Wasm allocator hands each node its own /24 of the cluster CIDR', () => {
  assert.equal(
    nodes.map((n) => n.podCidr),
    ['10.200.128.0/24', '10.200.129.0/24', '10.200.130.0/24'],
  );
});

test('pods come up on every node through kubenet: address from the node pod CIDR, cbr0 and the masquerade rule inside the node', async () => {
  for (const node of nodes) {
    for (let p = 1; p <= 2; p++) {
      const ns = await sb.netns(`n${node.name.slice(-1)}p${p}`);
      const name = `${node.name}-pod${p}`;
      const out = await pod(node, 'up', name, ns.path);
      const ip = /: (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1] ?? '';
      assert.ok(ip.startsWith(node.gateway.slice(0, -1)), `${name} got "${out.trim()}", not in ${node.podCidr}`);
      node.pods.push({ name, ns: ns.name, nsPath: ns.path, ip });
    }
    const cbr0 = await inNs(node.ns, 'ip', ['-4', '-o', 'addr', 'show', 'cbr0']);
    assert.match(cbr0, new RegExp(`inet ${escapeRe(node.gateway)}/24`));
    const ports = await inNs(node.ns, 'ip', ['-o', 'link', 'show', 'master', 'cbr0']);
    assert.is(ports.trim().split('\n').length, 2, `two pod veths on ${node.name}'s cbr0`);
    const nat = await inNs(node.ns, 'iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
    assert.match(
      nat,
      new RegExp(`! -d ${escapeRe(CLUSTER_CIDR)} .*-j MASQUERADE`),
      `kubenet's rule in ${node.name}:\n${nat}`,
    );
  }
  const hostLinks = await run('ip', ['-o', 'link', 'show', 'master', 'cbr0']);
  assert.not.match(hostLinks.stdout, /veth/, 'nothing attached in the host namespace');
  for (const node of nodes) {
    for (const p of node.pods) responders.push(await startResponder(p.ns, PORT, p.name));
  }
  responders.push(await startResponder(cloudNs, PORT, 'outside'));
});

test('pod-to-pod on the same node and across nodes (ping)', async () => {
  const from = nodes[0]!.pods[0]!;
  for (const to of [nodes[0]!.pods[1]!, nodes[1]!.pods[0]!, nodes[2]!.pods[1]!]) {
    const r = await run('ip', ['netns', 'exec', from.ns, 'ping', '-c', '1', '-W', '2', to.ip]);
    assert.is(r.code, 0, `${from.name} → ${to.name} (${to.ip}): ${r.stdout}${r.stderr}`);
  }
});

test('across nodes the destination pod sees the source pod address (no masquerade inside the cluster CIDR)', async () => {
  const before = await Promise.all(nodes.map(masqPackets));
  for (const [a, b] of [
    [0, 1],
    [1, 2],
    [2, 0],
  ] as const) {
    const from = nodes[a]!.pods[1]!;
    const to = nodes[b]!.pods[0]!;
    assert.is(await askFromPod(from.ns, to.ip, PORT, 'tcp'), `tcp ${from.ip} ${to.name}`);
  }
  const after = await Promise.all(nodes.map(masqPackets));
  assert.equal(after, before, 'the masquerade rule matched no pod-to-pod packet');
});

test('pod to outside the cluster CIDR is masqueraded to the node address', async () => {
  for (const node of nodes) {
    const before = await masqPackets(node);
    const p = node.pods[0]!;
    assert.is(await askFromPod(p.ns, CLOUD_GW, PORT, 'tcp'), `tcp ${node.ip} outside`);
    assert.ok((await masqPackets(node)) > before, `${node.name}'s masquerade rule counted the connection`);
    const ct = await inNs(node.ns, 'conntrack', ['-L', '-p', 'tcp', '--orig-src', p.ip, '--orig-dst', CLOUD_GW]).catch(
      (e: Error) => e.message,
    );
    assert.match(ct, new RegExp(`dst=${escapeRe(node.ip)}`), `conntrack shows the reply to the node address: ${ct}`);
  }
});

test('pods go down through kubenet: addresses released, veths gone, records forgotten', async () => {
  for (const r of responders.splice(0)) r.kill('SIGKILL');
  for (const node of nodes) {
    for (const p of node.pods) await pod(node, 'down', p.name);
    const ports = await inNs(node.ns, 'ip', ['-o', 'link', 'show', 'master', 'cbr0']);
    assert.is(ports.trim(), '', `${node.name}: no pod veth left`);
    assert.equal(leaseFiles(join(node.dataDir, 'kubenet')), [], `${node.name}: host-local released every address`);
    assert.equal(
      readdirSync(node.stateDir).filter((f) => f.endsWith('.json')),
      [],
      `${node.name}: no pod records left`,
    );
  }
});

test.run();

// A simulated cluster: three "nodes" (network namespaces, each with its own cbr0), pod CIDRs handed out from the
// cluster CIDR 10.200.128.0/18 by the Wasm node-CIDR allocator, and a "cloud" namespace that connects the nodes
// and holds the routes a cloud provider's route controller would add (pod CIDR → node). Pods are namespaces whose
// veth peer lives in their node: the CNI runtime (`wasm-cni cni add`) runs inside the node with `ip netns exec`,
// so the bridge plugin does the host side in the node's namespace. Each node carries kubenet's masquerade rule
// (everything leaving for a non-local address outside the cluster CIDR); pod-to-pod across nodes keeps the pod
// source address, pod-to-outside is masqueraded to the node address.
//
// Addresses: the cluster CIDR is 10.200.128.0/18 (node /24s from 10.200.128.0); the cloud network (node addresses
// and the "outside" host) is 10.200.200.0/24. None of it exists outside this file's own namespaces.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Sandbox } from '../_lib/sandbox.ts';
import { run, sh } from '../_lib/run.ts';
import { askFromPod, startResponder } from '../_lib/firewall.ts';
import { NodeCidrAllocator } from '../../host/core/index.ts';
import { cliEntryPath, cniBinDir } from '../../host/paths.ts';

const test = suite('e2e: simulated cluster (3 nodes, cloud routes, kubenet bridge + masquerade)');

const CLUSTER_CIDR = '10.200.128.0/18';
const CLOUD_GW = '10.200.200.1'; // the cloud router, also the "outside" host
const MASQ_COMMENT = 'kubenet: SNAT for outbound traffic from cluster';
const PORT = 8099;

interface Pod { name: string; ns: string; nsPath: string; ip: string; }
interface Node { name: string; ns: string; ip: string; podCidr: string; gateway: string; confDir: string; dataDir: string; cacheDir: string; pods: Pod[]; }

const sb = new Sandbox();
const nodes: Node[] = [];
const responders: ChildProcess[] = [];
let cloudNs = '';
let noDaemonSocket = '';

const inNs = (ns: string, cmd: string, args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

/** `wasm-cni cni add|del <net> <podns>` run inside the node's namespace (the node side of the plugins lives there). */
async function cni(node: Node, sub: 'add' | 'del', network: string, pod: { nsPath: string }, ifName: string): Promise<string> {
  const r = await run('ip', ['netns', 'exec', node.ns, process.execPath, cliEntryPath, 'cni', sub, network, pod.nsPath, '--ifname', ifName, '--cache-dir', node.cacheDir], {
    // No daemon: the warm daemon would act in its own namespace, not the node's.
    env: { CNI_PATH: cniBinDir, NETCONFPATH: node.confDir, WASM_CNI_SOCKET: noDaemonSocket },
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`cni ${sub} ${network} in ${node.name} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The bridge config kubenet generates for a pod CIDR, with a private host-local store. */
function kubenetConf(node: Node): Record<string, unknown> {
  return {
    cniVersion: '0.1.0', name: 'kubenet', type: 'bridge', bridge: 'cbr0', mtu: 1500, addIf: 'eth0',
    isGateway: true, ipMasq: false, hairpinMode: false,
    ipam: { type: 'host-local', dataDir: node.dataDir, ranges: [[{ subnet: node.podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
}

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
      name: `node${i}`, ns, ip: `10.200.200.${10 + i}`, podCidr, gateway: `${base}.1`,
      confDir: join(dir, 'net.d'), dataDir: join(dir, 'ipam'), cacheDir: join(dir, 'cache'), pods: [],
    };
    for (const d of [node.confDir, node.dataDir, node.cacheDir]) mkdirSync(d, { recursive: true });
    // Node uplink: eth0 in the node, its peer on the cloud bridge.
    await inNs(cloudNs, 'ip', ['link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await inNs(cloudNs, 'ip', ['link', 'set', `n${i}`, 'master', 'cloud0', 'up']);
    await inNs(ns, 'ip', ['addr', 'add', `${node.ip}/24`, 'dev', 'eth0']);
    await inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await inNs(ns, 'ip', ['route', 'add', 'default', 'via', CLOUD_GW]);
    await inNs(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    // The cloud provider's route for this node's pod CIDR.
    await inNs(cloudNs, 'ip', ['route', 'add', podCidr, 'via', node.ip]);
    // kubenet's masquerade rule, in the node's own nat table.
    await inNs(ns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-m', 'comment', '--comment', MASQ_COMMENT,
      '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '!', '-d', CLUSTER_CIDR, '-j', 'MASQUERADE']);
    writeFileSync(join(node.confDir, '10-kubenet.conf'), JSON.stringify(kubenetConf(node)));
    writeFileSync(join(node.confDir, '99-loopback.conf'), JSON.stringify({ cniVersion: '0.1.0', name: 'kubenet-loopback', type: 'loopback' }));
    nodes.push(node);
  }
});

test.after(async () => {
  for (const r of responders) r.kill('SIGKILL');
  await sb.cleanup();
});

test('the Wasm allocator hands each node its own /24 of the cluster CIDR', () => {
  assert.equal(nodes.map((n) => n.podCidr), ['10.200.128.0/24', '10.200.129.0/24', '10.200.130.0/24']);
});

test('pods come up on every node: address from the node pod CIDR, cbr0 inside the node', async () => {
  for (const node of nodes) {
    for (let p = 1; p <= 2; p++) {
      const ns = await sb.netns(`n${node.name.slice(-1)}p${p}`);
      await cni(node, 'add', 'kubenet-loopback', { nsPath: ns.path }, 'lo');
      const result = JSON.parse(await cni(node, 'add', 'kubenet', { nsPath: ns.path }, 'eth0')) as { ip4?: { ip: string; gateway?: string }; ips?: Array<{ address: string }> };
      // cniVersion 0.1.0 result: ip4.ip
      const addr = result.ip4?.ip ?? result.ips?.[0]?.address ?? '';
      const ip = addr.split('/')[0]!;
      assert.ok(ip.startsWith(node.gateway.slice(0, -1)), `${ns.name} got ${addr}, not in ${node.podCidr}`);
      node.pods.push({ name: `${node.name}-pod${p}`, ns: ns.name, nsPath: ns.path, ip });
    }
    const cbr0 = await inNs(node.ns, 'ip', ['-4', '-o', 'addr', 'show', 'cbr0']);
    assert.match(cbr0, new RegExp(`inet ${node.gateway.replace(/\./g, '\\.')}/24`));
    const ports = await inNs(node.ns, 'ip', ['-o', 'link', 'show', 'master', 'cbr0']);
    assert.is(ports.trim().split('\n').length, 2, `two pod veths on ${node.name}'s cbr0`);
    const hostLinks = await run('ip', ['-o', 'link', 'show', 'master', 'cbr0']);
    assert.not.match(hostLinks.stdout, /veth/, 'nothing attached in the host namespace');
  }
  for (const node of nodes) {
    for (const pod of node.pods) responders.push(await startResponder(pod.ns, PORT, pod.name));
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
  for (const [a, b] of [[0, 1], [1, 2], [2, 0]] as const) {
    const from = nodes[a]!.pods[1]!; const to = nodes[b]!.pods[0]!;
    assert.is(await askFromPod(from.ns, to.ip, PORT, 'tcp'), `tcp ${from.ip} ${to.name}`);
  }
  const after = await Promise.all(nodes.map(masqPackets));
  assert.equal(after, before, 'the masquerade rule matched no pod-to-pod packet');
});

test('pod to outside the cluster CIDR is masqueraded to the node address', async () => {
  for (const node of nodes) {
    const before = await masqPackets(node);
    const pod = node.pods[0]!;
    assert.is(await askFromPod(pod.ns, CLOUD_GW, PORT, 'tcp'), `tcp ${node.ip} outside`);
    assert.ok((await masqPackets(node)) > before, `${node.name}'s masquerade rule counted the connection`);
    const ct = await inNs(node.ns, 'conntrack', ['-L', '-p', 'tcp', '--orig-src', pod.ip, '--orig-dst', CLOUD_GW]).catch((e: Error) => e.message);
    assert.match(ct, new RegExp(`dst=${node.ip.replace(/\./g, '\\.')}`), `conntrack shows the reply to the node address: ${ct}`);
  }
});

test('pods go down: DEL releases addresses, removes veths; cbr0 stays empty', async () => {
  for (const r of responders.splice(0)) r.kill('SIGKILL');
  for (const node of nodes) {
    for (const pod of node.pods) {
      await cni(node, 'del', 'kubenet', pod, 'eth0');
      await cni(node, 'del', 'kubenet-loopback', pod, 'lo');
    }
    const ports = await inNs(node.ns, 'ip', ['-o', 'link', 'show', 'master', 'cbr0']);
    assert.is(ports.trim(), '', `${node.name}: no pod veth left`);
    const leases = (await run('ls', [join(node.dataDir, 'kubenet')])).stdout.split('\n').filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.equal(leases, [], `${node.name}: host-local released every address`);
  }
});

test.run();

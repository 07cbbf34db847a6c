// hostPort traffic through our portmap (iptables backend) in real namespaces: from the host to the gateway IP and
// to 127.0.0.1, from another pod, hairpin, TCP and UDP, IPv6 from the host; and the UDP conntrack flush that lets
// a new pod take over a host port.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { Sandbox } from '../../_lib/sandbox.ts';
import {
  askFromPod,
  askTcpFromHost,
  bridgedPods,
  callPortmap,
  prevResultFor,
  removeNatChains,
  removeUnusedHostportChains,
  startResponder,
  udpClient,
  type BridgedNet,
} from '../../_lib/firewall.ts';
import { dnatChainName } from '../../../host/plugins/portmap/chains.ts';

const test = suite('portmap: hostPort connectivity (iptables)');
const sb = new Sandbox();
let net: BridgedNet;
const servers: ChildProcess[] = [];
const network = () => `${sb.prefix}-pmc`;
const TCP = 18600;
const UDP = 18601;
const SERVER = 8080;

const conf = (pod: number, mappings: unknown[]) => ({
  cniVersion: '1.0.0',
  name: network(),
  type: 'portmap',
  runtimeConfig: { portMappings: mappings },
  prevResult: prevResultFor(net, net.pods[pod]!, true),
});
const webMappings = [
  { hostPort: TCP, containerPort: SERVER, protocol: 'tcp' },
  { hostPort: UDP, containerPort: SERVER, protocol: 'udp' },
];

test.before(async () => {
  net = await bridgedPods(sb, 52, 2);
  for (const [i, pod] of net.pods.entries()) servers.push(await startResponder(pod.ns, SERVER, `pod${i}`));
});

test.after(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await removeNatChains(['c0', 'c1', 'udp0', 'udp1'].map((c) => dnatChainName(network(), `${c}-${sb.prefix}`)));
  await removeUnusedHostportChains();
  await sb.cleanup();
});

test('TCP and UDP reach the pod from the host, from 127.0.0.1, from another pod and from itself (hairpin)', async () => {
  const env = { containerId: `c0-${sb.prefix}`, netns: net.pods[0]!.nsPath };
  const add = await callPortmap('ours', 'ADD', conf(0, webMappings), env);
  assert.is(add.code, 0, add.stdout);
  assert.is(
    readFileSync(`/proc/sys/net/ipv4/conf/${net.bridge}/route_localnet`, 'utf8').trim(),
    '1',
    'route_localnet on the bridge',
  );
  const gw = net.gw4;
  const [pod0, pod1] = [net.pods[0]!.ns, net.pods[1]!.ns];
  const seen = {
    hostGw: await askTcpFromHost(gw, TCP),
    hostLocal: await askTcpFromHost('127.0.0.1', TCP),
    otherPod: await askFromPod(pod1, gw, TCP, 'tcp'),
    hairpin: await askFromPod(pod0, gw, TCP, 'tcp'),
    udpHost: await askFromPod(pod1, gw, UDP, 'udp'),
    udpHairpin: await askFromPod(pod0, gw, UDP, 'udp'),
  };
  // the pod always sees the gateway as source: local and in-subnet sources are marked and masqueraded
  assert.equal(seen, {
    hostGw: `tcp ${gw} pod0`,
    hostLocal: `tcp ${gw} pod0`,
    otherPod: `tcp ${gw} pod0`,
    hairpin: `tcp ${gw} pod0`,
    udpHost: `udp ${gw} pod0`,
    udpHairpin: `udp ${gw} pod0`,
  });
  const udp = await udpClient(4);
  try {
    assert.is(await udp.ask('127.0.0.1', UDP), `udp ${gw} pod0`);
  } finally {
    udp.close();
  }
  // IPv6 from the host to the v6 gateway address
  assert.is(await askTcpFromHost(net.gw6, TCP), `tcp ${net.gw6} pod0`);

  assert.is((await callPortmap('ours', 'DEL', conf(0, webMappings), env)).code, 0);
  assert.match(await askTcpFromHost(gw, TCP), /^error/, 'nothing forwards after DEL');
});

test('UDP: a new pod on the same hostPort gets the traffic of an existing flow (stale conntrack entries flushed)', async () => {
  const mappings = [{ hostPort: UDP + 1, containerPort: SERVER, protocol: 'udp' }];
  const first = { containerId: `udp0-${sb.prefix}`, netns: net.pods[0]!.nsPath };
  const second = { containerId: `udp1-${sb.prefix}`, netns: net.pods[1]!.nsPath };
  const udp = await udpClient(4);
  try {
    assert.is((await callPortmap('ours', 'ADD', conf(0, mappings), first)).code, 0);
    assert.is(await udp.ask(net.gw4, UDP + 1), `udp ${net.gw4} pod0`);
    assert.is((await callPortmap('ours', 'DEL', conf(0, mappings), first)).code, 0);
    assert.is((await callPortmap('ours', 'ADD', conf(1, mappings), second)).code, 0);
    // same source port: without the flush the old entry would still DNAT this flow to pod0 (which still answers)
    assert.is(await udp.ask(net.gw4, UDP + 1), `udp ${net.gw4} pod1`);
    assert.is((await callPortmap('ours', 'DEL', conf(1, mappings), second)).code, 0);
  } finally {
    udp.close();
  }
});

test.run();

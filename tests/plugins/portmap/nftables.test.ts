// Our nftables backend on its own (Debian 1.1.1 has none): the v1.9.1 layout in `ip`/`ip6 cni_hostport`, CHECK
// before/after ADD and after DEL, masqAll, DEL of both families, and traffic through it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { Sandbox } from '../../_lib/sandbox.ts';
import {
  askFromPod,
  askTcpFromHost,
  bridgedPods,
  callPortmap,
  nftRules,
  nftText,
  prevResultFor,
  removeNftRules,
  removeNftTableIfUnused,
  startResponder,
  type BridgedNet,
} from '../../_lib/firewall.ts';

const test = suite('portmap: nftables backend');
const sb = new Sandbox();
let net: BridgedNet;
let server: ChildProcess | undefined;
const network = () => `${sb.prefix}-pmn`;
const cid = (s: string) => `${s}-${sb.prefix}`;
const TCP = 18700;
const SERVER = 8080;

test.before(async () => {
  net = await bridgedPods(sb, 53, 1);
  server = await startResponder(net.pods[0]!.ns, SERVER, 'pod0');
});

test.after(async () => {
  server?.kill('SIGKILL');
  for (const fam of ['ip', 'ip6']) {
    await removeNftRules(fam, 'cni_hostport', (c) => c.endsWith(`-${sb.prefix}`));
    await removeNftTableIfUnused(fam, 'cni_hostport');
  }
  await sb.cleanup();
});

function conf(extra: Record<string, unknown>, mappings: unknown[], dual = true): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: network(),
    type: 'portmap',
    backend: 'nftables',
    runtimeConfig: { portMappings: mappings },
    prevResult: prevResultFor(net, net.pods[0]!, dual),
    ...extra,
  };
}
const env = (c: string) => ({ containerId: c, netns: net.pods[0]!.nsPath });
const tagged = async (fam: string, c: string) =>
  (await nftText(fam, 'cni_hostport'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.endsWith(`comment "${c}"`));

test('ADD writes the reference layout, CHECK passes, DEL removes both families, CHECK then fails', async () => {
  const c = cid('layout');
  const mappings = [
    { hostPort: TCP, containerPort: SERVER, protocol: 'tcp' },
    { hostPort: TCP + 1, containerPort: 53, protocol: 'udp', hostIP: net.gw4 },
    { hostPort: TCP + 2, containerPort: 54, protocol: 'tcp', hostIP: net.gw6 },
  ];
  const before = await callPortmap('ours', 'CHECK', conf({}, mappings), env(c));
  assert.is(before.code, 1, 'CHECK before ADD fails');
  const add = await callPortmap('ours', 'ADD', conf({}, mappings), env(c));
  assert.is(add.code, 0, add.stdout);
  const p = net.pods[0]!;
  assert.equal(await tagged('ip', c), [
    `tcp dport ${TCP} dnat to ${p.ip4}:${SERVER} comment "${c}"`,
    `ip daddr ${net.gw4} udp dport ${TCP + 1} dnat to ${p.ip4}:53 comment "${c}"`,
    `ip saddr ${p.ip4} ip daddr ${p.ip4} masquerade comment "${c}"`,
    `ip saddr 127.0.0.1 ip daddr ${p.ip4} masquerade comment "${c}"`,
  ]);
  assert.equal(await tagged('ip6', c), [
    `tcp dport ${TCP} dnat to [${p.ip6}]:${SERVER} comment "${c}"`,
    `ip6 daddr ${net.gw6} tcp dport ${TCP + 2} dnat to [${p.ip6}]:54 comment "${c}"`,
    `ip6 saddr ${p.ip6} ip6 daddr ${p.ip6} masquerade comment "${c}"`,
  ]);
  const text = await nftText('ip', 'cni_hostport');
  assert.match(text, /comment "CNI portmap plugin"/);
  assert.match(text, /chain hostports_all \{\n\s+jump hostip_hostports\n\s+jump hostports\n\s+\}/);
  assert.match(
    text,
    /chain prerouting \{\n\s+type nat hook prerouting priority dstnat; policy accept;\n\s+fib daddr type local jump hostports_all\n/,
  );
  assert.match(
    text,
    /chain output \{\n\s+type nat hook output priority (dstnat|-100); policy accept;\n\s+fib daddr type local jump hostports_all\n/,
  );
  assert.match(text, /chain masquerading \{\n\s+type nat hook postrouting priority srcnat; policy accept;/);

  const check = await callPortmap('ours', 'CHECK', conf({}, mappings), env(c));
  assert.is(check.code, 0, check.stdout);
  // traffic through the nft rules: host → gateway, host → 127.0.0.1 (masquerading + route_localnet), hairpin
  assert.is(await askTcpFromHost(net.gw4, TCP), `tcp ${net.gw4} pod0`);
  assert.is(await askTcpFromHost('127.0.0.1', TCP), `tcp ${net.gw4} pod0`);
  assert.is(await askFromPod(p.ns, net.gw4, TCP, 'tcp'), `tcp ${net.gw4} pod0`);
  assert.is(await askTcpFromHost(net.gw6, TCP), `tcp ${net.gw6} pod0`);

  const del = await callPortmap('ours', 'DEL', conf({}, mappings, false), env(c));
  assert.is(del.code, 0, del.stdout);
  assert.equal([...(await tagged('ip', c)), ...(await tagged('ip6', c))], [], 'DEL removes the rules of both families');
  const after = await callPortmap('ours', 'CHECK', conf({}, mappings), env(c));
  assert.match(after.stdout, /missing hostport rules in \\"hostports\\" chain/);
  assert.is((await callPortmap('ours', 'DEL', conf({}, mappings), env(c))).code, 0, 'DEL twice');
});

test('CHECK notices missing masquerade rules when snat is expected', async () => {
  const c = cid('nosnat');
  const mappings = [{ hostPort: TCP + 3, containerPort: SERVER, protocol: 'tcp' }];
  assert.is((await callPortmap('ours', 'ADD', conf({ snat: false }, mappings, false), env(c))).code, 0);
  assert.is((await callPortmap('ours', 'CHECK', conf({ snat: false }, mappings, false), env(c))).code, 0);
  const strict = await callPortmap('ours', 'CHECK', conf({}, mappings, false), env(c));
  assert.is(strict.code, 1);
  assert.match(strict.stdout, /masquerading/);
  assert.is((await callPortmap('ours', 'DEL', conf({}, mappings, false), env(c))).code, 0);
});

test('masqAll masquerades any source and drops the localhost rule', async () => {
  const c = cid('masqall');
  const mappings = [{ hostPort: TCP + 4, containerPort: SERVER, protocol: 'tcp' }];
  assert.is((await callPortmap('ours', 'ADD', conf({ masqAll: true }, mappings), env(c))).code, 0);
  const p = net.pods[0]!;
  const v4 = (await tagged('ip', c)).filter((l) => l.includes('masquerade'));
  const v6 = (await tagged('ip6', c)).filter((l) => l.includes('masquerade'));
  assert.equal(v4, [`ip saddr 0.0.0.0/0 ip daddr ${p.ip4} masquerade comment "${c}"`]);
  assert.equal(v6, [`ip6 saddr ::/0 ip6 daddr ${p.ip6} masquerade comment "${c}"`]);
  assert.is((await callPortmap('ours', 'CHECK', conf({ masqAll: true }, mappings), env(c))).code, 0);
  assert.is((await callPortmap('ours', 'DEL', conf({ masqAll: true }, mappings), env(c))).code, 0);
  assert.equal(
    ((await nftRules('ip', 'cni_hostport')) ?? []).filter((r) => r.comment === c),
    [],
  );
});

test.run();

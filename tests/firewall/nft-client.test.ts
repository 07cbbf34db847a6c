// The nf_tables client on its own, in private namespaces: a failing rule aborts its whole transaction (errno and
// the failing rule named), 8 concurrent transactions on the same tables, a foreign table of the same name left
// alone, CHECK and GC on the netlink path, and the socket bound to the namespace it was opened in.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpNet } from '../../host/firewall/addr.ts';
import { gcIpMasq, nftMasqComment, setupIpMasq, teardownIpMasq } from '../../host/firewall/ipmasq.ts';
import {
  Batch,
  getChain,
  listChains,
  listRules,
  listTables,
  NftNetlinkError,
  rule,
  withNft,
} from '../../host/firewall/nft/index.ts';
import type { PortMapConfig } from '../../host/plugins/portmap/config.ts';
import { nftablesMapper } from '../../host/plugins/portmap/nftables.ts';
import { nftIn, rulesetJson, rulesetText } from '../_lib/nft-oracle.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const test = suite('firewall: nf_tables client');
const sb = new Sandbox();
let ns: TestNetns;
let other: TestNetns;

test.before(async () => {
  ns = await sb.netns('cl');
  other = await sb.netns('cl2');
});
test.after(() => sb.cleanup());
test.before.each(async () => {
  for (const n of [ns, other]) await run('ip', ['netns', 'exec', n.name, 'nft', 'flush', 'ruleset']);
});

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: Error) => x,
  );
  assert.ok(e, `expected a rejection matching ${re}`);
  assert.match(e!.message, re);
}

const conf = (i: number, over: Partial<PortMapConfig> = {}): PortMapConfig => ({
  network: 'nftcl',
  backend: 'nftables',
  snat: true,
  masqAll: false,
  markMasqBit: 13,
  portMappings: [
    { hostPort: 19000 + i, containerPort: 80, protocol: 'tcp', hostIP: '' },
    { hostPort: 19100 + i, containerPort: 81, protocol: 'tcp', hostIP: '' },
  ],
  contIPv4: parseIpNet(`10.200.215.${10 + i}/24`),
  contIPv6: parseIpNet(`fd00:200:210::${(0x10 + i).toString(16)}/64`),
  nsPath: ns.path,
  ...over,
});

test('a transaction with a failing rule changes nothing; the error has the errno and names the rule', async () => {
  const b = new Batch()
    .addTable({ family: 'ip', name: 'atom' })
    .addChain({ family: 'ip', table: 'atom', name: 'c1' })
    .addRule(rule('ip', 'atom', 'c1').addr('saddr', '10.200.215.1').verdict('accept').comment('fine').build())
    .addRule(rule('ip', 'atom', 'c1').dport('tcp', 80).verdict('jump', 'missing').comment('bad').build())
    .addChain({ family: 'ip', table: 'atom', name: 'c2' });
  let err: unknown;
  await withNft(ns.path, (s) => s.commit(b.ops)).catch((e) => {
    err = e;
  });
  assert.instance(err, NftNetlinkError);
  const e = err as NftNetlinkError;
  assert.is(e.code, 'ENOENT');
  assert.is(e.errno, 2);
  assert.is(e.request, 'add rule ip atom c1 tcp dport 80 jump missing comment "bad"');
  assert.match(e.message, /^add rule ip atom c1 tcp dport 80 jump missing comment "bad": no such file or directory/);
  assert.equal(await rulesetJson(ns.name), [], 'nothing applied');
  // the kernel's own check (a chain name too long) fails the same way
  const long = new Batch()
    .addTable({ family: 'ip', name: 'atom' })
    .addChain({ family: 'ip', table: 'atom', name: 'x'.repeat(300) });
  await withNft(ns.path, (s) => s.commit(long.ops)).then(
    () => assert.unreachable('accepted'),
    (x: NftNetlinkError) => assert.match(x.request ?? '', /^add chain ip atom x+/),
  );
  assert.equal(await rulesetJson(ns.name), []);
});

test('the socket works in the namespace it was opened in, and nowhere else', async () => {
  await withNft(other.path, (s) => s.commit(new Batch().addTable({ family: 'inet', name: 'only_here' }).ops));
  assert.equal(
    (await withNft(other.path, (s) => listTables(s))).map((t) => t.name),
    ['only_here'],
  );
  assert.equal(await withNft(ns.path, (s) => listTables(s)), []);
});

test('8 concurrent portmap ADDs, then 8 concurrent DELs, on the same tables', async () => {
  const ids = Array.from({ length: 8 }, (_, i) => i);
  await Promise.all(ids.map((i) => nftablesMapper.forward(conf(i), `pod${i}`)));
  await withNft(ns.path, async (s) => {
    for (const fam of ['ip', 'ip6'] as const) {
      const rules = await listRules(s, fam, 'cni_hostport');
      const by = (chain: string) => rules.filter((r) => r.chain === chain);
      assert.is(by('hostports_all').length, 2, `${fam}: hostports_all refilled, not doubled`);
      assert.is(by('prerouting').length, 1);
      assert.is(by('output').length, 1);
      assert.is(by('hostports').length, 16);
      for (const i of ids) assert.is(by('hostports').filter((r) => r.comment === `pod${i}`).length, 2);
      assert.is(by('masquerading').length, fam === 'ip' ? 16 : 8);
    }
  });
  for (const i of ids) await nftablesMapper.check(conf(i), `pod${i}`);
  await Promise.all(ids.map((i) => nftablesMapper.unforward(conf(i), `pod${i}`)));
  await withNft(ns.path, async (s) => {
    for (const fam of ['ip', 'ip6'] as const) {
      const left = (await listRules(s, fam, 'cni_hostport')).filter((r) => r.comment !== undefined);
      assert.equal(left, [], `${fam}: no pod rule left`);
    }
  });
});

test('a foreign table `ip cni_hostport` with other chains and rules is left alone', async () => {
  await nftIn(ns.name, [
    'add table ip cni_hostport',
    'add chain ip cni_hostport foreign { type filter hook input priority 0 ; policy accept ; }',
    'add rule ip cni_hostport foreign tcp dport 22 accept comment "someone else"',
    'add chain ip cni_hostport hostports',
    'add rule ip cni_hostport hostports tcp dport 2222 dnat to 10.200.215.99:22 comment "other-pod"',
  ]);
  const before = (await rulesetText(ns.name)).split('\n').map((l) => l.trim());
  const c = conf(1, { contIPv6: undefined });
  await nftablesMapper.forward(c, 'mine');
  await nftablesMapper.check(c, 'mine');
  await nftablesMapper.unforward(c, 'mine');
  const after = (await rulesetText(ns.name)).split('\n').map((l) => l.trim());
  for (const line of [
    'chain foreign {',
    'type filter hook input priority filter; policy accept;',
    'tcp dport 22 accept comment "someone else"',
    'tcp dport 2222 dnat to 10.200.215.99:22 comment "other-pod"',
  ]) {
    assert.ok(before.includes(line), `before: ${line}`);
    assert.ok(after.includes(line), `after: ${line}`);
  }
  assert.not.ok(after.some((l) => l.includes('"mine"')));
});

test('CHECK on the netlink path: passes after ADD, names what is missing after DEL or a lost chain', async () => {
  const c = conf(2);
  await rejects(nftablesMapper.check(c, 'chk'), /chain hostports not found in table ip cni_hostport/);
  await nftablesMapper.forward(c, 'chk');
  await nftablesMapper.check(c, 'chk');
  await nftIn(ns.name, ['flush chain ip6 cni_hostport masquerading']);
  await rejects(nftablesMapper.check(c, 'chk'), /missing hostport rules in "masquerading" chain/);
  await nftablesMapper.unforward(c, 'chk');
  await rejects(nftablesMapper.check(c, 'chk'), /missing hostport rules in "hostports" chain/);
  await withNft(ns.path, async (s) => {
    assert.ok(await getChain(s, 'ip', 'cni_hostport', 'hostports'));
    assert.is(await getChain(s, 'ip', 'cni_hostport', 'nope'), null);
    assert.is(await getChain(s, 'ip', 'no_table', 'nope'), null);
  });
});

test('ipMasq over netlink: set-up, GC of an invalid attachment, teardown; chains stay', async () => {
  const base = { network: 'nftgc', ifName: 'eth0', backend: 'nftables', nsPath: ns.path };
  await setupIpMasq({ ...base, containerId: 'keep', ips: ['10.200.216.2/24', 'fd00:200:210::216:2/64'] });
  await setupIpMasq({ ...base, containerId: 'drop', ips: ['10.200.216.3/24'] });
  await setupIpMasq({ ...base, network: 'othernet', containerId: 'x', ips: ['10.200.216.4/24'] });
  await gcIpMasq({ network: 'nftgc', validAttachments: [{ containerID: 'keep', ifname: 'eth0' }], nsPath: ns.path });
  const comments = async () =>
    (await withNft(ns.path, (s) => listRules(s, 'inet', 'cni_plugins_masquerade', 'masq_checks'))).map(
      (r) => r.comment,
    );
  assert.equal(await comments(), [
    nftMasqComment('nftgc', 'eth0', 'keep'),
    nftMasqComment('nftgc', 'eth0', 'keep'),
    nftMasqComment('othernet', 'eth0', 'x'),
  ]);
  await teardownIpMasq({ network: 'nftgc', ifName: 'eth0', containerId: 'keep', nsPath: ns.path });
  await teardownIpMasq({ network: 'nftgc', ifName: 'eth0', containerId: 'keep', nsPath: ns.path });
  assert.equal(await comments(), [nftMasqComment('othernet', 'eth0', 'x')]);
  const chains = await withNft(ns.path, (s) => listChains(s, 'inet'));
  assert.equal(chains.map((c) => c.name).sort(), ['masq_checks', 'postrouting']);
});

test.run();

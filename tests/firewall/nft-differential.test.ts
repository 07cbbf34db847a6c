// nf_tables over netlink against the `nft` oracle: the same scenario applied with `nft -f` (text of the reference
// layouts) in one namespace and with our netlink transactions in another must list the same (`nft -j list
// ruleset`), and every rule's expressions and user data must be the same bytes when the kernel dumps them back.
// Covers ipMasq (inet cni_plugins_masquerade), kubenet's de-dup rules (bridge filter), portmap (ip/ip6 cni_hostport with hostports_all and `fib daddr
// type local`, as containernetworking/plugins v1.9.1), macspoofchk (bridge nat), their DEL, and a few layout lines.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpNet } from '../../host/firewall/addr.ts';
import { dedupRuleArgs, listDedupRules, removeDedupRules, syncDedupRules } from '../../host/firewall/dedup.ts';
import { nftMasqComment, nftSetupBatch } from '../../host/firewall/ipmasq.ts';
import { Batch, listRules, listTables, withNft, type NftFamily } from '../../host/firewall/nft/index.ts';
import { deleteRulesWhere } from '../../host/firewall/nftables.ts';
import { setupSpoofCheck, spoofCheckBatch, teardownSpoofCheck } from '../../host/plugins/bridge/spoofcheck.ts';
import type { PortMapConfig } from '../../host/plugins/portmap/config.ts';
import { forwardBatch, nftablesMapper } from '../../host/plugins/portmap/nftables.ts';
import {
  dedupText,
  ipMasqText,
  nftDeleteWhere,
  nftIn,
  portmapText,
  rulesetJson,
  rulesetText,
  spoofCheckText,
} from '../_lib/nft-oracle.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const test = suite('firewall: nf_tables over netlink vs nft -f');
const sb = new Sandbox();
let oracle: TestNetns;
let ours: TestNetns;

test.before(async () => {
  oracle = await sb.netns('ora');
  ours = await sb.netns('nl');
});
test.after(() => sb.cleanup());
test.before.each(async () => {
  for (const ns of [oracle, ours]) await run('ip', ['netns', 'exec', ns.name, 'nft', 'flush', 'ruleset']);
});

/** Every rule of every table, as the kernel dumps it (expressions and user data bytes), in order. */
async function dumpedRules(nsPath: string): Promise<string[]> {
  return withNft(nsPath, async (s) => {
    const out: string[] = [];
    for (const t of await listTables(s))
      for (const r of await listRules(s, t.family, t.name))
        out.push(`${r.family} ${r.table} ${r.chain} ${r.raw.toString('hex')} ${r.userdata?.toString('hex') ?? '-'}`);
    return out;
  });
}

async function assertSame(what: string): Promise<void> {
  const [a, b] = [await rulesetJson(oracle.name), await rulesetJson(ours.name)];
  assert.ok(a.length > 0 || what.includes('empty'), `${what}: the oracle made something`);
  assert.equal(b, a, `${what}: nft -j list ruleset`);
  const [x, y] = [await dumpedRules(oracle.path), await dumpedRules(ours.path)];
  assert.ok(x.length === countRules(a), `${what}: every rule dumped`);
  assert.equal(y, x, `${what}: kernel bytes`);
}

const countRules = (objs: unknown[]) => objs.filter((o) => 'rule' in (o as object)).length;
const net = (s: string) => parseIpNet(s);

test('ipMasq: two attachments, v4 (aligned, unaligned, /32 prefixes) and v6, then DEL of one', async () => {
  const first = [net('10.200.210.5/24'), net('fd00:200:210::5/64'), net('10.200.211.7/20')];
  const second = [net('10.200.212.9/32'), net('fd00:200:210::9/121')];
  const c1 = nftMasqComment('nftdiff', 'eth0', 'c1');
  const c2 = nftMasqComment('nftdiff', 'eth1', 'c2');
  await nftIn(oracle.name, [...ipMasqText(first, c1), ...ipMasqText(second, c2)]);
  await withNft(ours.path, async (s) => {
    await s.commit(nftSetupBatch(first, 'nftdiff', 'eth0', 'c1').ops);
    await s.commit(nftSetupBatch(second, 'nftdiff', 'eth1', 'c2').ops);
  });
  await assertSame('ipMasq ADD');
  const text = await rulesetText(ours.name);
  assert.match(text, 'table inet cni_plugins_masquerade');
  assert.match(text, 'type nat hook postrouting priority srcnat; policy accept;');
  assert.match(text, `ip saddr 10.200.211.7 ip daddr != 10.200.208.0/20 masquerade comment "${c1}"`);

  await nftDeleteWhere(oracle.name, 'inet', 'cni_plugins_masquerade', (_c, comment) => comment === c1);
  await deleteRulesWhere(ours.path, [{ family: 'inet', table: 'cni_plugins_masquerade' }], (r) => r.comment === c1);
  await assertSame('ipMasq DEL');
});

const baseConf = (over: Partial<PortMapConfig>): PortMapConfig => ({
  network: 'nftdiff',
  backend: 'nftables',
  snat: true,
  masqAll: false,
  markMasqBit: 13,
  portMappings: [
    { hostPort: 18080, containerPort: 80, protocol: 'tcp', hostIP: '' },
    { hostPort: 18081, containerPort: 53, protocol: 'udp', hostIP: '10.200.213.1' },
    { hostPort: 18082, containerPort: 54, protocol: 'sctp', hostIP: 'fd00:200:210::1' },
    { hostPort: 18083, containerPort: 55, protocol: 'tcp', hostIP: '0.0.0.0' },
  ],
  contIPv4: net('10.200.213.5/24'),
  contIPv6: net('fd00:200:210::13/64'),
  ...over,
});

test('portmap: snat, masqAll, no snat, conditions; both families; then DEL of one pod', async () => {
  const pods: Array<[string, PortMapConfig]> = [
    ['pod-a', baseConf({})],
    ['pod-b', baseConf({ masqAll: true, contIPv4: net('10.200.213.6/24'), contIPv6: net('fd00:200:210::14/64') })],
    [
      'pod-c',
      baseConf({
        snat: false,
        contIPv4: net('10.200.213.7/24'),
        contIPv6: undefined,
        conditionsV4: ['ip saddr 10.200.214.0/23', 'iifname', '!=', '"lo"', 'ip daddr != 10.200.213.128/25'],
      }),
    ],
  ];
  for (const [cid, conf] of pods) {
    const conts = [conf.contIPv4, conf.contIPv6].filter((x) => x !== undefined);
    await nftIn(
      oracle.name,
      conts.flatMap((c) => portmapText(conf, cid, c)),
    );
    const b = new Batch();
    for (const c of conts) forwardBatch(b, conf, cid, c);
    await withNft(ours.path, (s) => s.commit(b.ops));
  }
  await assertSame('portmap ADD');
  const v4 = await rulesetText(ours.name);
  for (const line of [
    'table ip cni_hostport {',
    'comment "CNI portmap plugin"',
    'chain hostports_all {',
    'jump hostip_hostports',
    'type nat hook prerouting priority dstnat; policy accept;',
    'type nat hook output priority -100; policy accept;',
    'type nat hook postrouting priority srcnat; policy accept;',
    'ip saddr 10.200.214.0/23 iifname != "lo" ip daddr != 10.200.213.128/25 fib daddr type local jump hostports_all',
    'ip daddr 10.200.213.1 udp dport 18081 dnat to 10.200.213.5:53 comment "pod-a"',
    'ip6 daddr fd00:200:210::1 sctp dport 18082 dnat to [fd00:200:210::13]:54 comment "pod-a"',
    'ip saddr 0.0.0.0/0 ip daddr 10.200.213.6 masquerade comment "pod-b"',
    'ip saddr 127.0.0.1 ip daddr 10.200.213.5 masquerade comment "pod-a"',
  ])
    assert.ok(v4.includes(line), `layout line: ${line}\n${v4}`);

  for (const fam of ['ip', 'ip6'])
    await nftDeleteWhere(oracle.name, fam, 'cni_hostport', (_c, comment) => comment === 'pod-b');
  await nftablesMapper.unforward({ ...baseConf({}), nsPath: ours.path }, 'pod-b');
  await assertSame('portmap DEL');
});

test('macspoofchk: two attachments, then teardown of one (chains removed with their rules)', async () => {
  await nftIn(oracle.name, [
    ...spoofCheckText('vethaaaa0001', '0a:58:0a:c8:d2:05', 'cid1-eth0'),
    ...spoofCheckText('vethaaaa0002', '0a:58:0a:c8:d2:06', 'cid2-eth0'),
  ]);
  await withNft(ours.path, (s) => s.commit(spoofCheckBatch('vethaaaa0001', '0a:58:0a:c8:d2:05', 'cid1-eth0').ops));
  await setupSpoofCheck('vethaaaa0002', '0a:58:0a:c8:d2:06', 'cid2-eth0', ours.path);
  await assertSame('macspoofchk ADD');
  await nftDeleteWhere(
    oracle.name,
    'bridge',
    'nat',
    (c, comment) => c === 'PREROUTING' && comment === 'macspoofchk-cid1-eth0',
  );
  await nftIn(oracle.name, [
    'delete chain bridge nat cni-br-iface-cid1-eth0',
    'delete chain bridge nat cni-br-iface-cid1-eth0-mac',
  ]);
  await teardownSpoofCheck('cid1-eth0', ours.path);
  await assertSame('macspoofchk DEL');
  await teardownSpoofCheck('cid1-eth0', ours.path); // idempotent
});

test('kubenet de-dup rules (bridge filter, ebtables-nft layout), then their removal with the table', async () => {
  const mac = '0a:58:0a:c8:d3:01';
  const pairs = [
    { gateway: '10.200.211.1', subnet: '10.200.211.0/24' },
    { gateway: 'fd00:200:210::1', subnet: 'fd00:200:210::/64' },
  ];
  await nftIn(
    oracle.name,
    dedupText(
      mac,
      pairs.map((p) => ({ ...p, ...dedupRuleArgs(mac, p) })),
      'KUBE-DEDUP',
    ),
  );
  assert.ok(await syncDedupRules(mac, pairs, 'KUBE-DEDUP', ours.path));
  assert.ok(await syncDedupRules(mac, pairs, 'KUBE-DEDUP', ours.path), 'a second sync adds nothing');
  await assertSame('de-dup sync');
  assert.equal(await listDedupRules('KUBE-DEDUP', ours.path), [
    dedupRuleArgs(mac, pairs[1]!).accept,
    dedupRuleArgs(mac, pairs[0]!).accept,
    dedupRuleArgs(mac, pairs[0]!).drop,
    dedupRuleArgs(mac, pairs[1]!).drop,
  ]);
  await removeDedupRules('KUBE-DEDUP', ours.path);
  assert.is(await listDedupRules('KUBE-DEDUP', ours.path), null);
  assert.equal(await rulesetJson(ours.name), [], 'the table went with them');
});

test('each family on its own: listing by family sees only its tables', async () => {
  await withNft(ours.path, async (s) => {
    const b = new Batch();
    forwardBatch(b, baseConf({}), 'only', net('10.200.213.5/24'));
    await s.commit(b.ops);
    const fams = (await listTables(s)).map((t) => `${t.family} ${t.name}`);
    assert.equal(fams, ['ip cni_hostport']);
    for (const f of ['ip6', 'inet', 'bridge'] as NftFamily[]) assert.equal(await listTables(s, f), []);
  });
});

test.run();

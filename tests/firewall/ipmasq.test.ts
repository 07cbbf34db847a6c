// ipMasq (host/firewall/ipmasq.ts): same iptables text as the reference bridge's ipMasq for the same pod,
// teardown idempotent and by name when the addresses are unknown, the nftables layout, both backends on teardown.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../_lib/sandbox.ts';
import { run } from '../_lib/run.ts';
import {
  natLinesMentioning,
  nftRules,
  nftText,
  removeNatChains,
  removeNftRules,
  removeNftTableIfUnused,
} from '../_lib/firewall.ts';
import {
  gcIpMasq,
  ipMasqChain,
  nftMasqComment,
  setupIpMasq,
  teardownIpMasq,
  NFT_MASQ_TABLE,
} from '../../host/firewall/ipmasq.ts';

const test = suite('firewall: ipMasq');
const sb = new Sandbox();
const network = () => `${sb.prefix}-masq`;

test.after(async () => {
  for (const cid of ['ref', 'ours', 'dual', 'noips', 'nft', 'gc-keep', 'gc-drop', 'gc-nkeep', 'gc-ndrop'])
    await removeNatChains([ipMasqChain(network(), cid)]);
  await removeNftRules('inet', NFT_MASQ_TABLE, (c) => c.includes(`net: ${network()},`));
  await removeNftTableIfUnused('inet', NFT_MASQ_TABLE);
  await sb.cleanup();
});

const markers = (cid: string) => [ipMasqChain(network(), cid)];

test('same rules as the reference bridge plugin with ipMasq (iptables-save text)', async () => {
  const pod = await sb.netns('masq');
  const conf = {
    cniVersion: '1.0.0',
    name: network(),
    type: 'bridge',
    bridge: sb.name('br'),
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.200.54.0/24' }]], dataDir: sb.dir('ipam') },
  };
  const env = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'ref',
    CNI_NETNS: pod.path,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
  };
  const add = await run('/usr/lib/cni/bridge', [], { input: JSON.stringify(conf), env });
  assert.is(add.code, 0, add.stdout);
  const address = (JSON.parse(add.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address;
  const reference = await natLinesMentioning(4, markers('ref'));
  assert.ok(reference.length >= 4, reference.join('\n'));
  const del = await run('/usr/lib/cni/bridge', [], {
    input: JSON.stringify(conf),
    env: { ...env, CNI_COMMAND: 'DEL' },
  });
  assert.is(del.code, 0, del.stdout);
  assert.equal(await natLinesMentioning(4, markers('ref')), []);

  // ours, for the same network, container and address
  await setupIpMasq({ network: network(), containerId: 'ref', ifName: 'eth0', ips: [address] });
  assert.equal(await natLinesMentioning(4, markers('ref')), reference);
  await teardownIpMasq({ network: network(), containerId: 'ref', ifName: 'eth0', ips: [address] });
  assert.equal(await natLinesMentioning(4, markers('ref')), []);
});

test('dual stack: one chain per family, v6 excludes ff00::/8; repeated setup adds nothing; teardown twice is fine', async () => {
  const a = { network: network(), containerId: 'dual', ifName: 'eth0', ips: ['10.200.54.9/24', 'fd00:200:54::9/64'] };
  await setupIpMasq(a);
  await setupIpMasq(a);
  const chain = ipMasqChain(network(), 'dual');
  const c = `--comment "name: \\"${network()}\\" id: \\"dual\\""`;
  assert.equal(await natLinesMentioning(6, [chain]), [
    `:${chain} - [0:0]`,
    `-A POSTROUTING -s fd00:200:54::9/128 -m comment ${c} -j ${chain}`,
    `-A ${chain} -d fd00:200:54::/64 -m comment ${c} -j ACCEPT`,
    `-A ${chain} ! -d ff00::/8 -m comment ${c} -j MASQUERADE`,
  ]);
  assert.equal(await natLinesMentioning(4, [chain]), [
    `:${chain} - [0:0]`,
    `-A POSTROUTING -s 10.200.54.9/32 -m comment ${c} -j ${chain}`,
    `-A ${chain} -d 10.200.54.0/24 -m comment ${c} -j ACCEPT`,
    `-A ${chain} ! -d 224.0.0.0/4 -m comment ${c} -j MASQUERADE`,
  ]);
  await teardownIpMasq(a);
  await teardownIpMasq(a);
  assert.equal([...(await natLinesMentioning(4, [chain])), ...(await natLinesMentioning(6, [chain]))], []);
});

test('teardown without the addresses (netns gone) still removes the chain and its POSTROUTING jumps (reference leaks)', async () => {
  await setupIpMasq({
    network: network(),
    containerId: 'noips',
    ifName: 'eth0',
    ips: ['10.200.54.10/24', 'fd00:200:54::10/64'],
  });
  await teardownIpMasq({ network: network(), containerId: 'noips', ifName: 'eth0' });
  const chain = ipMasqChain(network(), 'noips');
  assert.equal([...(await natLinesMentioning(4, [chain])), ...(await natLinesMentioning(6, [chain]))], []);
});

test('nftables backend: the reference layout in inet cni_plugins_masquerade; teardown tries both backends', async () => {
  const a = {
    network: network(),
    containerId: 'nft',
    ifName: 'eth0',
    ips: ['10.200.54.11/24', 'fd00:200:54::11/64'],
    backend: 'nftables',
  };
  await setupIpMasq(a);
  const comment = nftMasqComment(network(), 'eth0', 'nft');
  assert.match(comment, /^[0-9a-f]{16}-[0-9a-f]{16}, net: .*, if: eth0, id: nft$/);
  const text = await nftText('inet', NFT_MASQ_TABLE);
  assert.ok(text.includes(`ip saddr 10.200.54.11 ip daddr != 10.200.54.0/24 masquerade comment "${comment}"`), text);
  assert.ok(
    text.includes(`ip6 saddr fd00:200:54::11 ip6 daddr != fd00:200:54::/64 masquerade comment "${comment}"`),
    text,
  );
  assert.ok(
    /type nat hook postrouting priority srcnat; policy accept;\n\s+ip daddr 224.0.0.0\/4 return\n\s+ip6 daddr ff00::\/8 return\n\s+goto masq_checks/.test(
      text,
    ),
    text,
  );
  await teardownIpMasq({ network: network(), containerId: 'nft', ifName: 'eth0', ips: a.ips });
  const left = ((await nftRules('inet', NFT_MASQ_TABLE)) ?? []).filter((r) => r.comment === comment);
  assert.equal(left, []);
});

test('an unknown backend is the reference error and changes nothing', async () => {
  const err = await setupIpMasq({
    network: network(),
    containerId: 'bad',
    ifName: 'eth0',
    ips: ['10.200.54.12/24'],
    backend: 'pf',
  }).then(
    () => null,
    (e: Error) => e,
  );
  assert.is(err?.message, 'unknown ipmasq backend "pf"');
  assert.equal(await natLinesMentioning(4, [ipMasqChain(network(), 'bad')]), []);
});

test('GC removes the attachments of this network that are not valid, in both backends, and nothing else', async () => {
  const other = `${sb.prefix}-other`;
  const mk = (network: string, containerId: string, ip: string, backend?: string) =>
    setupIpMasq({ network, containerId, ifName: 'eth0', ips: [ip], ...(backend ? { backend } : {}) });
  await mk(network(), 'gc-keep', '10.200.54.20/24');
  await mk(network(), 'gc-drop', '10.200.54.21/24');
  await mk(other, 'gc-drop', '10.200.54.22/24');
  await mk(network(), 'gc-nkeep', '10.200.54.23/24', 'nftables');
  await mk(network(), 'gc-ndrop', '10.200.54.24/24', 'nftables');
  try {
    await gcIpMasq({
      network: network(),
      validAttachments: [
        { containerID: 'gc-keep', ifname: 'eth0' },
        { containerID: 'gc-nkeep', ifname: 'eth0' },
      ],
    });
    assert.ok((await natLinesMentioning(4, [ipMasqChain(network(), 'gc-keep')])).length === 4, 'valid attachment kept');
    assert.equal(await natLinesMentioning(4, [ipMasqChain(network(), 'gc-drop')]), [], 'stale attachment removed');
    assert.ok((await natLinesMentioning(4, [ipMasqChain(other, 'gc-drop')])).length === 4, 'other network untouched');
    const comments = ((await nftRules('inet', NFT_MASQ_TABLE)) ?? []).map((r) => r.comment);
    assert.ok(comments.includes(nftMasqComment(network(), 'eth0', 'gc-nkeep')));
    assert.not.ok(comments.includes(nftMasqComment(network(), 'eth0', 'gc-ndrop')));
  } finally {
    await teardownIpMasq({ network: other, containerId: 'gc-drop', ifName: 'eth0' });
    for (const cid of ['gc-keep', 'gc-nkeep'])
      await teardownIpMasq({ network: network(), containerId: cid, ifName: 'eth0' });
  }
});

test.run();

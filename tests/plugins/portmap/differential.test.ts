// portmap against the reference binary (/usr/lib/cni/portmap, Debian 1.1.1): same prevResult and runtimeConfig,
// same iptables-save text of the pod's chain and entry rules after ADD, nothing left after DEL, interoperable
// both ways. Where Debian 1.1.1 differs from v1.9.1 (which we follow) the test says so.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../../_lib/sandbox.ts';
import { run } from '../../_lib/run.ts';
import {
  bridgedPods,
  callPortmap,
  natChainRules,
  natLinesMentioning,
  natSave,
  prevResultFor,
  removeNatChains,
  removeUnusedHostportChains,
  type BridgedNet,
  type Impl,
} from '../../_lib/firewall.ts';
import { dnatChainName } from '../../../host/plugins/portmap/chains.ts';

const test = suite('portmap: differential vs /usr/lib/cni/portmap');
const sb = new Sandbox();
let net: BridgedNet;
const network = () => `${sb.prefix}-pm`;
const cids: string[] = [];
const extMark = () => `${sb.prefix.toUpperCase()}-MARK`;

test.before(async () => {
  net = await bridgedPods(sb, 51, 1);
});

test.after(async () => {
  await removeNatChains([...cids.map((c) => dnatChainName(network(), c)), extMark()]);
  for (const f of [4, 6] as const) {
    // rules a markMasqBit=5 run added to the shared chains
    await runRestore(f, [
      '-D CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x20/0x20',
      '-D CNI-HOSTPORT-MASQ -m mark --mark 0x20/0x20 -j MASQUERADE',
    ]);
  }
  await removeUnusedHostportChains();
  await sb.cleanup();
});

async function runRestore(family: 4 | 6, lines: string[]): Promise<void> {
  for (const l of lines) {
    await run(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush', '--wait'], {
      input: `*nat\n${l}\nCOMMIT\n`,
    });
  }
}

interface Scenario {
  mappings: unknown[];
  extra?: Record<string, unknown>;
  dual?: boolean;
}

function conf(s: Scenario, withPrev = true): Record<string, unknown> {
  const c: Record<string, unknown> = {
    cniVersion: '1.0.0',
    name: network(),
    type: 'portmap',
    capabilities: { portMappings: true },
    runtimeConfig: { portMappings: s.mappings },
    ...s.extra,
  };
  if (withPrev) c.prevResult = prevResultFor(net, net.pods[0]!, s.dual);
  return c;
}

async function podLines(cid: string): Promise<string[]> {
  const chain = dnatChainName(network(), cid);
  return [...(await natLinesMentioning(4, [chain])), '--- v6', ...(await natLinesMentioning(6, [chain]))];
}
const EMPTY = ['--- v6'];

/** ADD, CHECK, DEL with one implementation; returns what ADD printed and left, and CHECK's outcome. */
async function cycle(impl: Impl, s: Scenario, cid: string) {
  if (!cids.includes(cid)) cids.push(cid);
  const env = { containerId: cid, netns: net.pods[0]!.nsPath };
  const add = await callPortmap(impl, 'ADD', conf(s), env);
  assert.is(add.code, 0, `${impl} ADD: ${add.stdout}`);
  const lines = await podLines(cid);
  const check = await callPortmap(impl, 'CHECK', conf(s), env);
  const del = await callPortmap(impl, 'DEL', conf(s), env);
  assert.is(del.code, 0, `${impl} DEL: ${del.stdout}`);
  assert.equal(await podLines(cid), EMPTY, `${impl} DEL left rules`);
  return { result: JSON.parse(add.stdout) as unknown, lines, check };
}

function withoutEmptyDns(r: unknown): unknown {
  const o = { ...(r as Record<string, unknown>) };
  if (o.dns && Object.keys(o.dns as object).length === 0) delete o.dns;
  return o;
}

async function same(label: string, s: Scenario) {
  const cid = `${label}-${sb.prefix}`;
  const ref = await cycle('reference', s, cid);
  const ours = await cycle('ours', s, cid);
  // Debian 1.1.1 prints an empty `dns: {}` in 1.0.0 results; v1.9.1 (cni v1.3) omits it, as we do
  assert.equal(ours.result, withoutEmptyDns(ref.result), 'ADD prints prevResult unchanged');
  assert.equal(ours.lines, ref.lines);
  assert.ok(ours.lines.length > 2, 'rules were made');
  assert.is(ours.check.code, 0, `our CHECK: ${ours.check.stdout}`);
  // Debian 1.1.1 CHECK also checks the other family with this family's rules (upstream #819), fixed upstream
  if (ref.check.code !== 0)
    assert.match(ref.check.stdout, /could not check ipv6 dnat: (rule .* not found|chain CNI-DN-\w+ not found)/);
  return ours.lines;
}

test('TCP + UDP mappings, snat default (the observed reference pod)', async () => {
  const lines = await same('basic', {
    mappings: [
      { hostPort: 18080, containerPort: 8080, protocol: 'tcp' },
      { hostPort: 15353, containerPort: 5353, protocol: 'udp' },
    ],
  });
  assert.ok(
    lines.some((l) => l.includes(`-s ${net.prefix4} -p tcp -m tcp --dport 18080 -j CNI-HOSTPORT-SETMARK`)),
    'hairpin match is the whole subnet',
  );
  // the shared skeleton: hooks appended, the masquerade jump first in POSTROUTING, mark 0x2000
  const v4 = await natSave(4);
  assert.ok(v4.includes('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
  assert.ok(v4.includes('-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
  assert.ok(v4.includes('-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE'));
  assert.ok(
    v4.includes(
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
    ),
  );
  assert.is(
    (await natChainRules(4, 'POSTROUTING'))[0],
    '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
  );
});

test('dual stack with hostIPs of both families, unspecified hostIPs and duplicate ports', async () => {
  await same('dual', {
    dual: true,
    mappings: [
      { hostPort: 18080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 18081, containerPort: 80, protocol: 'tcp' },
      { hostPort: 18080, containerPort: 81, protocol: 'udp' },
      { hostPort: 18083, containerPort: 83, protocol: 'tcp', hostIP: net.gw4 },
      { hostPort: 18084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
      { hostPort: 18085, containerPort: 85, protocol: 'tcp', hostIP: net.gw6 },
      { hostPort: 18086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
      { hostPort: 18081, containerPort: 80, protocol: 'tcp' },
    ],
  });
});

test('more than 15 ports of a protocol are split into multiport chunks', async () => {
  const mappings = Array.from({ length: 17 }, (_, i) => ({
    hostPort: 18100 + i,
    containerPort: 100 + i,
    protocol: 'tcp',
  }));
  const lines = await same('chunks', {
    mappings: [...mappings, { hostPort: 18200, containerPort: 53, protocol: 'udp' }],
  });
  assert.is(lines.filter((l) => l.includes('-m multiport --dports')).length, 3, 'two tcp chunks (15 + 2) and one udp');
});

test('snat: false makes only DNAT rules', async () => {
  const lines = await same('nosnat', {
    extra: { snat: false },
    mappings: [{ hostPort: 18090, containerPort: 90, protocol: 'tcp' }],
  });
  assert.not.ok(lines.some((l) => l.includes('SETMARK')));
});

test('externalSetMarkChain and iptables conditions', async () => {
  await runRestore(4, [`-N ${extMark()}`]);
  await runRestore(6, [`-N ${extMark()}`]);
  const lines = await same('ext', {
    dual: true,
    extra: {
      externalSetMarkChain: extMark(),
      conditionsV4: ['-s', '10.200.0.0/16'],
      conditionsV6: ['!', '-s', 'fd00:200:51::99'],
    },
    mappings: [{ hostPort: 18091, containerPort: 91, protocol: 'tcp' }],
  });
  assert.ok(lines.some((l) => l.endsWith(`-j ${extMark()}`)));
  assert.ok(
    lines.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT -s 10.200.0.0/16 -p tcp')),
    lines.join('\n'),
  );
});

test('markMasqBit 5 marks 0x20/0x20', async () => {
  await same('bit5', {
    extra: { markMasqBit: 5 },
    mappings: [{ hostPort: 18092, containerPort: 92, protocol: 'tcp' }],
  });
  assert.ok((await natSave(4)).includes('-A CNI-HOSTPORT-MASQ -m mark --mark 0x20/0x20 -j MASQUERADE'));
});

test('interoperable: the reference removes what we made and we remove what the reference made', async () => {
  const s: Scenario = { dual: true, mappings: [{ hostPort: 18093, containerPort: 93, protocol: 'tcp' }] };
  const cid = `interop-${sb.prefix}`;
  cids.push(cid);
  const env = { containerId: cid, netns: net.pods[0]!.nsPath };
  for (const [adder, deleter] of [
    ['ours', 'reference'],
    ['reference', 'ours'],
  ] as const) {
    assert.is((await callPortmap(adder, 'ADD', conf(s), env)).code, 0);
    assert.ok((await podLines(cid)).length > 2);
    assert.is((await callPortmap(deleter, 'DEL', conf(s), env)).code, 0);
    assert.equal(await podLines(cid), EMPTY, `${deleter} DEL after ${adder} ADD`);
  }
});

test('ADD twice adds nothing new (like the reference); DEL twice succeeds', async () => {
  const s: Scenario = {
    mappings: [
      { hostPort: 18094, containerPort: 94, protocol: 'tcp' },
      { hostPort: 18095, containerPort: 95, protocol: 'udp' },
    ],
  };
  const cid = `twice-${sb.prefix}`;
  cids.push(cid);
  const env = { containerId: cid, netns: net.pods[0]!.nsPath };
  const after: string[][] = [];
  for (const impl of ['reference', 'ours'] as const) {
    await callPortmap(impl, 'ADD', conf(s), env);
    await callPortmap(impl, 'ADD', conf(s), env);
    after.push(await podLines(cid));
    for (let i = 0; i < 2; i++) assert.is((await callPortmap(impl, 'DEL', conf(s), env)).code, 0);
    assert.equal(await podLines(cid), EMPTY);
  }
  assert.equal(after[1], after[0]);
});

test('DEL without runtimeConfig.portMappings is a silent no-op (both); DEL with a vanished netns removes the rules', async () => {
  const s: Scenario = { mappings: [{ hostPort: 18096, containerPort: 96, protocol: 'tcp' }] };
  const cid = `nomap-${sb.prefix}`;
  cids.push(cid);
  for (const impl of ['reference', 'ours'] as const) {
    const env = { containerId: cid, netns: net.pods[0]!.nsPath };
    await callPortmap(impl, 'ADD', conf(s), env);
    const before = await podLines(cid);
    const noMappings = conf({ mappings: [] }, false);
    delete noMappings.runtimeConfig;
    const del = await callPortmap(impl, 'DEL', noMappings, env);
    assert.equal([del.code, del.stdout], [0, '']);
    assert.equal(await podLines(cid), before, `${impl}: rules stay`);
    const gone = await callPortmap(impl, 'DEL', conf(s, false), {
      containerId: cid,
      netns: `/var/run/netns/${sb.prefix}-vanished`,
    });
    assert.is(gone.code, 0, gone.stdout);
    assert.equal(await podLines(cid), EMPTY);
  }
});

test('GC (1.1, beyond the reference) removes the pods of this network that are not valid attachments', async () => {
  const s: Scenario = { dual: true, mappings: [{ hostPort: 18098, containerPort: 98, protocol: 'tcp' }] };
  const [keep, drop] = [`gckeep-${sb.prefix}`, `gcdrop-${sb.prefix}`];
  cids.push(keep, drop);
  for (const cid of [keep, drop])
    assert.is((await callPortmap('ours', 'ADD', conf(s), { containerId: cid, netns: net.pods[0]!.nsPath })).code, 0);
  const gcConf = {
    cniVersion: '1.1.0',
    name: network(),
    type: 'portmap',
    'cni.dev/valid-attachments': [{ containerID: keep, ifname: 'eth0' }],
  };
  const gc = await callPortmap('ours', 'GC', gcConf, { containerId: '', netns: '' });
  assert.is(gc.code, 0, gc.stdout);
  assert.equal(await podLines(drop), EMPTY);
  assert.ok((await podLines(keep)).length > 4);
  assert.is((await callPortmap('ours', 'DEL', conf(s), { containerId: keep, netns: net.pods[0]!.nsPath })).code, 0);
});

test('parallel ADDs then parallel DELs of many pods: every chain made, nothing left', async () => {
  const s: Scenario = { mappings: [{ hostPort: 18097, containerPort: 97, protocol: 'tcp' }] };
  const ids = Array.from({ length: 12 }, (_, i) => `par${i}-${sb.prefix}`);
  cids.push(...ids);
  const env = (cid: string) => ({ containerId: cid, netns: net.pods[0]!.nsPath });
  const adds = await Promise.all(
    ids.map((cid, i) => callPortmap(i % 3 === 0 ? 'reference' : 'ours', 'ADD', conf(s), env(cid))),
  );
  assert.equal(
    adds.map((a) => a.code),
    ids.map(() => 0),
    adds.map((a) => a.stdout).join('\n'),
  );
  for (const cid of ids) assert.is((await natChainRules(4, dnatChainName(network(), cid))).length, 3, cid);
  const dels = await Promise.all(ids.map((cid) => callPortmap('ours', 'DEL', conf(s), env(cid))));
  assert.equal(
    dels.map((d) => d.code),
    ids.map(() => 0),
  );
  for (const cid of ids) assert.equal(await podLines(cid), EMPTY);
});

test.run();

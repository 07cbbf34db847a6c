// bridge: v1.9.1 features Debian's 1.1.1 lacks, and where we intentionally do better than the reference.
// Each test that differs from the reference names the reference's behaviour. Subnets: 10.200.76-78.0/24.
import { removeUnusedBridgeNftTables } from '../../_lib/firewall.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { OracleRun, referenceNames, type OracleCase } from '../../_lib/oracle.ts';
import { cleanEnv, run } from '../../_lib/run.ts';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Sandbox } from '../../_lib/sandbox.ts';
import { bridgeConf } from './scenarios.ts';

const test = suite('bridge: beyond the reference');
let sb: Sandbox;
test.before(() => {
  sb = new Sandbox();
});
test.after(async () => {
  await sb.cleanup();
  await removeUnusedBridgeNftTables();
});
// Bridges outlive DEL (as in the reference); drop each test's bridges so a subnet's gateway is never on two.
const bridgesMade: string[] = [];
test.after.each(async () => {
  for (const b of bridgesMade.splice(0)) await run('ip', ['link', 'delete', b]);
});

let n = 0;
/** A fresh case on its own bridge/netns/dataDir, for `impl`. */
async function makeCase(
  extra: Record<string, unknown>,
  subnets?: string[],
  opts: { cniVersion?: string } = {},
): Promise<OracleCase & { dataDir: string; bridge: string }> {
  n++;
  const bridge = sb.name(`b${n}`);
  bridgesMade.push(bridge);
  const pod = await sb.netns(`p${n}`);
  const dataDir = sb.dir('ipam');
  const network = `brx-${sb.prefix}-${n}`;
  const c = {
    config: bridgeConf({ bridge, network, subnets, dataDir, extra, cniVersion: opts.cniVersion }),
    netns: pod.path,
    containerId: `cid-${sb.prefix}-${n}`,
    ifName: 'eth0',
    dataDir,
    bridge,
  };
  sb.defer(async () => {
    await new OracleRun('reference', sb).sweep({
      ...c,
      scope: { nftTables: ['bridge nat', 'inet cni_plugins_masquerade'] },
    });
  });
  return c;
}

/** The fields of `ip -j [-d] link show` these tests read. */
interface IpLinkJson {
  ifname: string;
  address: string;
  linkinfo: { info_data: { vlan_filtering?: number }; info_slave_data: { isolated?: boolean } };
}

async function ipJson(args: string[]): Promise<IpLinkJson[]> {
  const r = await run('ip', ['-j', ...args]);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

async function portOf(bridge: string): Promise<IpLinkJson> {
  return (await ipJson(['-d', 'link', 'show', 'master', bridge]))[0];
}

async function portVlans(port: string): Promise<Array<{ vlan: number; flags?: string[] }>> {
  const r = await run('bridge', ['-j', 'vlan', 'show', 'dev', port]);
  const all = r.stdout.trim() ? JSON.parse(r.stdout) : [];
  return all[0]?.vlans ?? [];
}

async function natChainExists(chain: string): Promise<boolean> {
  const r = await run('iptables-save', ['-t', 'nat']);
  return r.stdout.split('\n').some((l) => l.startsWith(`:${chain} `));
}

async function nftChainExists(chain: string): Promise<boolean> {
  return (await run('nft', ['list', 'chain', 'bridge', 'nat', chain])).code === 0;
}

function ipFiles(c: { dataDir: string; config: Record<string, unknown> }): string[] {
  const dir = `${c.dataDir}/${String(c.config.name)}`;
  return existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')) : [];
}

let vlanFiltering: boolean | undefined;
/** Whether this kernel has bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING); this project's VM has not. */
async function kernelHasVlanFiltering(): Promise<boolean> {
  if (vlanFiltering === undefined) {
    const name = sb.name('vf');
    vlanFiltering = (await run('ip', ['link', 'add', name, 'type', 'bridge', 'vlan_filtering', '1'])).code === 0;
    await run('ip', ['link', 'delete', name]);
  }
  return vlanFiltering;
}

/**
 * ADD with VLAN settings: where the kernel can filter VLANs, `verify` inspects the port; elsewhere the ADD must
 * fail as the reference does (creating the bridge with vlan_filtering) and leave nothing behind.
 */
async function addWithVlans(
  extra: Record<string, unknown>,
  verify: (c: OracleCase & { bridge: string }) => Promise<void>,
): Promise<void> {
  const c = await makeCase(extra);
  const ours = new OracleRun('ours', sb);
  const add = await ours.exec('ADD', c);
  if (!(await kernelHasVlanFiltering())) {
    assert.is(
      add.error?.msg,
      `failed to create bridge "${c.bridge}": could not add "${c.bridge}": operation not supported`,
    );
    assert.is((await ipJson(['link', 'show', c.bridge])).length, 0);
    assert.is((await run('ip', ['-n', c.netns.split('/').pop()!, 'link', 'show', 'eth0'])).code !== 0, true);
    return;
  }
  assert.is(add.exitCode, 0, JSON.stringify(add.error));
  await verify(c);
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
}

test('vlanTrunk: tagged trunk VLANs sorted and de-duplicated plus native VLAN 1 (not in 1.1.1)', async () => {
  await addWithVlans({ vlanTrunk: [{ id: 101 }, { minID: 200, maxID: 203 }, { id: 201 }] }, async (c) => {
    const vlans = await portVlans((await portOf(c.bridge)).ifname);
    assert.equal(
      vlans.map((v) => v.vlan),
      [1, 101, 200, 201, 202, 203],
    );
    assert.equal(vlans.find((v) => v.vlan === 1)?.flags?.sort(), ['Egress Untagged', 'PVID']);
    assert.is(vlans.find((v) => v.vlan === 101)?.flags, undefined);
    assert.is((await ipJson(['-d', 'link', 'show', c.bridge]))[0].linkinfo.info_data.vlan_filtering, 1);
  });
});

test('vlan + vlanTrunk with preserveDefaultVlan keeps VLAN 1 on the port', async () => {
  await addWithVlans({ vlan: 100, vlanTrunk: [{ id: 300 }], preserveDefaultVlan: true }, async (c) => {
    const vlans = await portVlans((await portOf(c.bridge)).ifname);
    assert.equal(
      vlans.map((v) => v.vlan),
      [1, 100, 300],
    );
    assert.equal(vlans.find((v) => v.vlan === 100)?.flags?.sort(), ['Egress Untagged', 'PVID']);
  });
});

test('vlanTrunk: [] still turns on vlan_filtering of a new bridge, port keeps default VLAN', async () => {
  await addWithVlans({ vlanTrunk: [] }, async (c) => {
    assert.is((await ipJson(['-d', 'link', 'show', c.bridge]))[0].linkinfo.info_data.vlan_filtering, 1);
    assert.equal(
      (await portVlans((await portOf(c.bridge)).ifname)).map((v) => v.vlan),
      [1],
    );
  });
});

test('trunk and config validation errors (reference wording, no state change)', async () => {
  const ours = new OracleRun('ours', sb);
  const cases: Array<[Record<string, unknown>, string, string[]?]> = [
    [{ vlanTrunk: [{ maxID: 10 }] }, 'minID and maxID should be configured simultaneously, minID is missing'],
    [{ vlanTrunk: [{ minID: 10 }] }, 'minID and maxID should be configured simultaneously, maxID is missing'],
    [{ vlanTrunk: [{ minID: 0, maxID: 10 }] }, 'incorrect trunk minID parameter'],
    [{ vlanTrunk: [{ minID: 1, maxID: 4095 }] }, 'incorrect trunk maxID parameter'],
    [{ vlanTrunk: [{ minID: 20, maxID: 10 }] }, 'minID is greater than maxID in trunk parameter'],
    [{ vlanTrunk: [{ id: 4095 }] }, 'incorrect trunk id parameter'],
    [{ vlanTrunk: [{ id: -1 }] }, 'incorrect trunk id parameter'],
    [{ hairpinMode: true, promiscMode: true }, 'cannot set hairpin mode and promiscuous mode at the same time'],
    [
      { disableContainerInterface: true },
      'cannot use IPAM when DisableContainerInterface flag is set',
      ['10.200.76.0/24'],
    ],
    [{ ipMasq: true, ipMasqBackend: 'pf' }, 'unknown ipmasq backend "pf"', ['10.200.76.0/24']],
    [
      { vlanTrunk: [{ id: 'x' }] },
      'failed to load netconf: json: cannot unmarshal string into Go struct field VlanTrunk.vlanTrunk.id of type int',
    ],
  ];
  for (const [extra, msg, subnets] of cases) {
    const c = await makeCase(extra, subnets);
    const o = await ours.exec('ADD', c);
    assert.is(o.error?.msg, msg, JSON.stringify(extra));
    assert.is(o.error?.code, 999);
    assert.not.ok((await ipJson(['link', 'show', c.bridge])).length, `no bridge made for ${JSON.stringify(extra)}`);
    assert.equal(ipFiles(c), []);
  }
});

test('disableContainerInterface: container end stays down, ADD does not wait for the port', async () => {
  const c = await makeCase({ disableContainerInterface: true });
  const ours = new OracleRun('ours', sb);
  const t0 = Date.now();
  const add = await ours.exec('ADD', c);
  assert.is(add.exitCode, 0, JSON.stringify(add.error));
  assert.ok(Date.now() - t0 < 2000);
  const eth0 = (await run('ip', ['-n', c.netns.split('/').pop()!, '-j', 'link', 'show', 'eth0'])).stdout;
  assert.not.ok(JSON.parse(eth0)[0].flags.includes('UP'));
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
});

test('portIsolation sets the host port isolated (not in 1.1.1)', async () => {
  const c = await makeCase({ portIsolation: true });
  const ours = new OracleRun('ours', sb);
  assert.is((await ours.exec('ADD', c)).exitCode, 0);
  assert.is((await portOf(c.bridge)).linkinfo.info_slave_data.isolated, true);
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
});

test('enabledad: accept_dad=1 and enhanced_dad=1 in the container', async () => {
  const c = await makeCase({ enabledad: true, isGateway: true }, ['10.200.76.0/24']);
  const ours = new OracleRun('ours', sb);
  assert.is((await ours.exec('ADD', c)).exitCode, 0);
  const ns = c.netns.split('/').pop()!;
  const read = async (k: string) => (await run('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${k}`])).stdout.trim();
  assert.is(await read('net/ipv6/conf/eth0/accept_dad'), '1');
  assert.is(await read('net/ipv6/conf/eth0/enhanced_dad'), '1');
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
});

test('ipMasqBackend nftables: one rule in inet cni_plugins_masquerade, removed by DEL', async () => {
  const c = await makeCase({ isGateway: true, ipMasq: true, ipMasqBackend: 'nftables' }, ['10.200.77.0/24']);
  const ours = new OracleRun('ours', sb);
  assert.is((await ours.exec('ADD', c)).exitCode, 0);
  const list = async () =>
    (await run('nft', ['list', 'chain', 'inet', 'cni_plugins_masquerade', 'masq_checks'])).stdout;
  const rules = (await list()).split('\n').filter((l) => l.includes(c.containerId));
  assert.is(rules.length, 1, await list());
  assert.match(rules[0]!, /ip saddr 10\.200\.77\.2 ip daddr != 10\.200\.77\.0\/24 masquerade/);
  assert.not.ok(await natChainExists(referenceNames(String(c.config.name), c.containerId).masqChain));
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
  assert.not.ok((await list()).includes(c.containerId));
});

test('DEL with the netns gone releases the IP and removes the ipMasq and spoof-check rules (reference leaks both)', async () => {
  for (const impl of ['reference', 'ours'] as const) {
    const c = await makeCase({ isGateway: true, ipMasq: true, macspoofchk: true }, ['10.200.77.0/24']);
    const r = new OracleRun(impl, sb);
    assert.is((await r.exec('ADD', c)).exitCode, 0);
    const chain = referenceNames(String(c.config.name), c.containerId).masqChain;
    const spoofChain = `cni-br-iface-${c.containerId}-eth0`;
    assert.ok(await natChainExists(chain));
    assert.ok(await nftChainExists(spoofChain));
    await run('ip', ['netns', 'delete', c.netns.split('/').pop()!]);
    assert.is((await r.exec('DEL', c)).exitCode, 0);
    assert.equal(ipFiles(c), [], `${impl} released the IP`);
    // The reference's DEL returns early on a vanished netns (bridge.go cmdDel, v1.9.1): both stay behind.
    assert.is(await natChainExists(chain), impl === 'reference', `${impl}: chain ${chain}`);
    assert.is(await nftChainExists(spoofChain), impl === 'reference', `${impl}: nft chain ${spoofChain}`);
    if (impl === 'reference')
      await new OracleRun('reference', sb).sweep({ ...c, scope: { nftTables: ['bridge nat'] } });
  }
});

test("DEL with a wrong container ID leaves the other pod's interface alone (reference deletes it)", async () => {
  for (const impl of ['reference', 'ours'] as const) {
    const c = await makeCase({ isGateway: true, ipMasq: true }, ['10.200.78.0/24']);
    const r = new OracleRun(impl, sb);
    assert.is((await r.exec('ADD', c)).exitCode, 0);
    const wrong = { ...c, containerId: `${c.containerId}-other` };
    await r.exec('DEL', wrong);
    const ns = c.netns.split('/').pop()!;
    const still = (await run('ip', ['-n', ns, 'link', 'show', 'eth0'])).code === 0;
    assert.is(still, impl === 'ours', `${impl}: eth0 still there`);
    assert.is((await r.exec('DEL', c)).exitCode, 0);
    // The reference's real DEL then finds no link, so its masquerade teardown has no addresses: the chain leaks.
    const chain = referenceNames(String(c.config.name), c.containerId).masqChain;
    assert.is(await natChainExists(chain), impl === 'reference', `${impl}: chain ${chain} left`);
  }
});

test("a failed ADD rolls back the veth and the IP (reference leaves the veth for the runtime's DEL)", async () => {
  for (const impl of ['reference', 'ours'] as const) {
    // The bridge already has another IPv4 address: the gateway step fails after IPAM and addressing.
    const c = await makeCase({ isGateway: true, ipMasq: true }, ['10.200.78.0/24']);
    await run('ip', ['link', 'add', c.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', '10.200.78.250/24', 'dev', c.bridge]);
    const add = await new OracleRun(impl, sb).exec('ADD', c);
    assert.is(
      add.error?.msg,
      `failed to set bridge addr: "${c.bridge}" already has an IP address different from 10.200.78.1/24`,
    );
    assert.equal(ipFiles(c), [], `${impl} released the IP`);
    const ns = c.netns.split('/').pop()!;
    const vethLeft = (await run('ip', ['-n', ns, 'link', 'show', 'eth0'])).code === 0;
    assert.is(vethLeft, impl === 'reference', `${impl}: veth left behind`);
    assert.is((await ipJson(['link', 'show', 'master', c.bridge])).length, impl === 'reference' ? 1 : 0);
  }
});

test('a failed IPAM ADD leaves no veth (reference leaves it)', async () => {
  const c = await makeCase({}, ['10.200.78.0/33']);
  const add = await new OracleRun('ours', sb).exec('ADD', c);
  assert.is(add.error?.msg, 'invalid CIDR address: 10.200.78.0/33');
  assert.is((await run('ip', ['-n', c.netns.split('/').pop()!, 'link', 'show', 'eth0'])).code !== 0, true);
});

test('CHECK of an L2 bridge works (reference fails: it delegates CHECK to an empty IPAM type)', async () => {
  const c = await makeCase({});
  const ref = new OracleRun('reference', sb);
  assert.is((await ref.exec('ADD', c)).exitCode, 0);
  const refCheck = await ref.exec('CHECK', c);
  assert.is(refCheck.exitCode, 1);
  assert.is((await ref.exec('DEL', c)).exitCode, 0);
  const ours = new OracleRun('ours', sb);
  assert.is((await ours.exec('ADD', c)).exitCode, 0);
  const check = await ours.exec('CHECK', c);
  assert.is(check.exitCode, 0, JSON.stringify(check.error));
  await run('ip', ['-n', c.netns.split('/').pop()!, 'link', 'set', 'eth0', 'address', '0a:58:00:00:00:01']);
  const bad = await ours.exec('CHECK', c);
  assert.match(bad.error?.msg ?? '', /^Interface eth0 Mac .* doesn't match container Mac: 0a:58:00:00:00:01$/);
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
});

test('CHECK notices a missing address and a missing route', async () => {
  const c = await makeCase({ isDefaultGateway: true }, ['10.200.76.0/24']);
  const ours = new OracleRun('ours', sb);
  assert.is((await ours.exec('ADD', c)).exitCode, 0);
  assert.is((await ours.exec('CHECK', c)).exitCode, 0);
  const ns = c.netns.split('/').pop()!;
  await run('ip', ['-n', ns, 'route', 'del', 'default']);
  assert.match(
    (await ours.exec('CHECK', c)).error?.msg ?? '',
    /^Expected Route \{Dst:\{IP:0\.0\.0\.0 Mask:00000000\} GW:10\.200\.76\.1 .* not found in routing table$/,
  );
  await run('ip', ['-n', ns, 'addr', 'flush', 'dev', 'eth0']);
  assert.is((await ours.exec('CHECK', c)).error?.msg, 'Failed to match addr 10.200.76.2/24 on interface eth0');
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
});

test('second ADD of the same container interface fails and keeps the first (v1.9.1 wording)', async () => {
  const c = await makeCase({});
  const ours = new OracleRun('ours', sb);
  assert.is((await ours.exec('ADD', c)).exitCode, 0);
  const again = await ours.exec('ADD', c);
  // Debian 1.1.1 says `container veth name provided (eth0) already exists`.
  assert.match(
    again.error?.msg ?? '',
    /^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/,
  );
  assert.is((await run('ip', ['-n', c.netns.split('/').pop()!, 'link', 'show', 'eth0'])).code, 0);
  assert.is((await ipJson(['link', 'show', 'master', c.bridge])).length, 1);
  assert.is((await ours.exec('DEL', c)).exitCode, 0);
});

test('missing netns: reference wording, and no bridge is made (the reference creates it first)', async () => {
  const c = await makeCase({});
  const gone = { ...c, netns: `${c.netns}-gone` };
  const o = await new OracleRun('ours', sb).exec('ADD', gone);
  assert.is(
    o.error?.msg,
    `failed to open netns "${gone.netns}": failed to Statfs "${gone.netns}": no such file or directory`,
  );
  assert.is((await ipJson(['link', 'show', c.bridge])).length, 0);
});

test('IPAM DNS (host-local resolvConf) reaches the result (v1.9.1; Debian 1.1.1 drops it)', async () => {
  for (const impl of ['reference', 'ours'] as const) {
    const c = await makeCase({}, ['10.200.79.0/24']);
    const resolv = `${c.dataDir}/resolv.conf`;
    writeFileSync(resolv, 'nameserver 10.200.79.53\nsearch example.test\n');
    const conf = { ...c, config: { ...c.config, ipam: { ...(c.config.ipam as object), resolvConf: resolv } } };
    const add = await new OracleRun(impl, sb).exec('ADD', conf);
    assert.is(add.exitCode, 0, JSON.stringify(add.error));
    const dns = (add.result as { dns?: Record<string, unknown> }).dns ?? {};
    assert.equal(dns, impl === 'ours' ? { nameservers: ['10.200.79.53'], search: ['example.test'] } : {});
    assert.is((await new OracleRun(impl, sb).exec('DEL', conf)).exitCode, 0);
  }
});

test('the bridge keeps its own MAC as ports come and go (pinned when the gateway address is set)', async () => {
  const a = await makeCase({ isGateway: true }, ['10.200.79.0/24']);
  const ours = new OracleRun('ours', sb);
  const ra = await ours.exec('ADD', a);
  assert.is(ra.exitCode, 0);
  const b = { ...a, netns: (await sb.netns('pm')).path, containerId: `${a.containerId}-b` };
  const rb = await ours.exec('ADD', b);
  const macs = (r: unknown) => (r as { interfaces: Array<{ mac: string }> }).interfaces.map((i) => i.mac);
  const [brA, vethA] = macs(ra.result);
  const [brB, vethB] = macs(rb.result);
  assert.is(brA, brB);
  assert.ok(brA !== vethA && brA !== vethB);
  assert.is((await ours.exec('DEL', a)).exitCode, 0);
  assert.is((await ipJson(['link', 'show', a.bridge]))[0].address, brA);
  assert.is((await ours.exec('DEL', b)).exitCode, 0);
});

/** Connects from inside `ns` to host:port and returns what the server sent (or the error). */
async function tcpProbe(ns: string, host: string, port: number): Promise<string> {
  const script =
    `const s=require('net').connect(${port},'${host}');s.setTimeout(3000,()=>{console.log('timeout');process.exit(1)});` +
    `s.on('data',d=>{console.log(String(d));process.exit(0)});s.on('error',e=>{console.log(e.message);process.exit(1)})`;
  const r = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeoutMs: 10000 });
  return r.stdout.trim();
}

/** A TCP server inside `ns` answering `reply` on port; resolves once listening, stop() kills it. */
async function tcpServerIn(ns: string, port: number, reply: string): Promise<{ stop(): void }> {
  const script = `require('net').createServer(s=>s.end('${reply}')).listen(${port},()=>console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      if (String(b).includes('ready')) resolve();
    });
    child.on('error', reject);
    child.on('exit', () => reject(new Error('server exited')));
  });
  return {
    stop: () => {
      child.kill('SIGKILL');
    },
  };
}

test('pod to pod and pod to gateway connectivity on one bridge (TCP)', async () => {
  const a = await makeCase({ isGateway: true }, ['10.200.76.0/24']);
  const ours = new OracleRun('ours', sb);
  const b = { ...a, netns: (await sb.netns('pb')).path, containerId: `${a.containerId}-b` };
  assert.is((await ours.exec('ADD', a)).exitCode, 0);
  const rb = await ours.exec('ADD', b);
  assert.is(rb.exitCode, 0);
  const ipB = (rb.result as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
  const nsA = a.netns.split('/').pop()!;
  const server = await tcpServerIn(b.netns.split('/').pop()!, 7070, 'pong-b');
  const gateway = createServer((s) => s.end('pong-gw'));
  try {
    await new Promise<void>((resolve) => gateway.listen(7071, '10.200.76.1', resolve));
    assert.is(await tcpProbe(nsA, ipB, 7070), 'pong-b');
    assert.is(await tcpProbe(nsA, '10.200.76.1', 7071), 'pong-gw');
  } finally {
    server.stop();
    await new Promise((resolve) => gateway.close(resolve));
  }
  assert.is((await ours.exec('DEL', b)).exitCode, 0);
  assert.is((await ours.exec('DEL', a)).exitCode, 0);
});

test.run();

// bridge GC (spec 1.1; the reference has none, and Debian's 1.1.1 stops at spec 1.0.0): attachments not in
// cni.dev/valid-attachments lose their host-local reservation, masquerade chain and spoof check; valid ones and
// other networks' keep theirs. Subnet 10.200.78.0/24 (ranges split per network so pods never share an address).
import { removeUnusedBridgeNftTables } from '../../_lib/firewall.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetHandle } from '../../../host/net/index.ts';
import { cniBinDir } from '../../../host/paths.ts';
import { OracleRun, oursMode, referenceNames, type Impl, type OracleCase } from '../../_lib/oracle.ts';
import { run, sh } from '../../_lib/run.ts';
import { Sandbox } from '../../_lib/sandbox.ts';

const test = suite('bridge: GC');
let sb: Sandbox;
let bridge: string;
test.before(() => {
  sb = new Sandbox();
  bridge = sb.name('gc');
});
test.after(async () => {
  await sb.cleanup();
  await removeUnusedBridgeNftTables();
});

type Pod = OracleCase & { dataDir: string; network: string };

/** A pod of `network` on the shared test bridge, with ipMasq and macspoofchk; its rules are swept at cleanup. */
async function pod(
  network: string,
  label: string,
  dataDir: string,
  rangeStart: string,
  cniVersion = '1.1.0',
): Promise<Pod> {
  const ns = await sb.netns(label);
  const config = {
    cniVersion,
    name: network,
    type: 'bridge',
    bridge,
    isGateway: true,
    ipMasq: true,
    macspoofchk: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.78.0/24', rangeStart }]] },
  };
  const c: Pod = { config, netns: ns.path, containerId: `cid-${sb.prefix}-${label}`, ifName: 'eth0', dataDir, network };
  sb.defer(async () => {
    await new OracleRun('reference', sb).sweep({
      ...c,
      scope: { nftTables: ['bridge nat', 'inet cni_plugins_masquerade'] },
    });
  });
  return c;
}

async function add(impl: Impl, c: Pod): Promise<void> {
  const r = await new OracleRun(impl, sb).exec('ADD', c);
  assert.is(r.exitCode, 0, JSON.stringify(r.error));
}

/** GC of `c`'s network with these valid attachments. */
function gc(c: Pod, valid: Pod[]): Promise<{ code: number; stdout: string }> {
  return gcRaw(
    c,
    valid.map((v) => ({ containerID: v.containerId, ifname: v.ifName })),
  );
}

/** GC at spec 1.1.0, through the built executable when it is fresh (as the oracle's "ours"), else in-process. */
async function gcRaw(c: Pod, validAttachments: unknown): Promise<{ code: number; stdout: string }> {
  const stdin = JSON.stringify({ ...c.config, cniVersion: '1.1.0', 'cni.dev/valid-attachments': validAttachments });
  const env = { CNI_COMMAND: 'GC', CNI_PATH: cniBinDir };
  if (oursMode() === 'exec') return run(join(cniBinDir, 'bridge'), [], { env, input: stdin });
  const { callPlugin } = await import('../../../host/plugins/dispatch.ts');
  const r = await callPlugin('bridge', { env, stdin: Buffer.from(stdin) });
  return { code: r.exitCode, stdout: r.stdout };
}

/** What a pod has on the machine: masquerade chain + its POSTROUTING jump, spoof-check chains + PREROUTING jump, reservation. */
async function stateOf(
  c: Pod,
): Promise<{ masqChain: boolean; masqJump: boolean; spoofChains: number; spoofJump: boolean; reservation: boolean }> {
  const chain = referenceNames(c.network, c.containerId).masqChain;
  const nat = (await sh('iptables-save', ['-t', 'nat'])).split('\n');
  const nft = await sh('nft', ['list', 'table', 'bridge', 'nat']);
  const spoof = `cni-br-iface-${c.containerId}-eth0`;
  const dir = join(c.dataDir, c.network);
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'))
    : [];
  return {
    masqChain: nat.some((l) => l.startsWith(`:${chain} `)),
    masqJump: nat.some((l) => l.startsWith('-A POSTROUTING ') && l.endsWith(`-j ${chain}`)),
    spoofChains: [spoof, `${spoof}-mac`].filter((ch) => nft.includes(`chain ${ch} {`)).length,
    spoofJump: nft.split('\n').some((l) => l.includes(`jump ${spoof} `) && l.includes('iifname')),
    reservation: files.some((f) => readFileSync(join(dir, f), 'utf8') === `${c.containerId}\r\neth0`),
  };
}

const present = { masqChain: true, masqJump: true, spoofChains: 2, spoofJump: true, reservation: true };
const gone = { masqChain: false, masqJump: false, spoofChains: 0, spoofJump: false, reservation: false };

/**
 * The pod's host veth as `ip -j link show dev` shows it (name, ifalias). Found by the peer's index (not by dumping
 * every host link, which other suites' link churn can interrupt).
 */
async function hostVethOf(c: Pod): Promise<{ ifname: string; ifalias?: string } | undefined> {
  const ns = c.netns.split('/').pop()!;
  const peer = (
    JSON.parse(await sh('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])) as Array<{ link_index?: number }>
  )[0]?.link_index;
  if (peer === undefined) return undefined;
  const host = await NetHandle.open();
  let name: string | undefined;
  try {
    name = (await host.link.find(peer))?.name;
  } finally {
    host.close();
  }
  if (name === undefined) return undefined;
  const l = (
    JSON.parse(await sh('ip', ['-j', 'link', 'show', 'dev', name])) as Array<{ ifname: string; ifalias?: string }>
  )[0]!;
  return { ifname: l.ifname, ifalias: l.ifalias };
}

test('GC removes the masquerade chain, spoof check and reservation of an attachment not valid; the valid one keeps all', async () => {
  const dataDir = sb.dir('ipam');
  const network = `brgc-${sb.prefix}`;
  const a = await pod(network, 'a', dataDir, '10.200.78.10');
  const b = await pod(network, 'b', dataDir, '10.200.78.10');
  await add('ours', a);
  await add('ours', b);
  assert.equal(await stateOf(a), present);
  assert.equal(await stateOf(b), present);
  const bVeth = await hostVethOf(b);
  assert.is(bVeth?.ifalias, `wasm-cni:${network}:${b.containerId}`, 'ADD tags the host veth with its owner');

  const r = await gc(a, [a]);
  assert.is(r.code, 0, r.stdout);
  assert.is(r.stdout, '');
  assert.equal(await stateOf(a), present, 'valid attachment intact');
  assert.equal(await stateOf(b), gone, 'invalid attachment cleaned');
  assert.equal(await hostVethOf(b), bVeth, 'the veth pair is left for DEL (GC is no substitute for DEL)');

  assert.is((await gc(a, [a])).code, 0, 'a second GC finds nothing to do');
  assert.equal(await stateOf(a), present);
  for (const c of [a, b]) assert.is((await new OracleRun('ours', sb).exec('DEL', c)).exitCode, 0);
  assert.equal(await stateOf(a), gone);
});

test('other networks are left alone; an untagged live veth keeps its spoof check until its pod is gone', async () => {
  const ours = await pod(`brgc1-${sb.prefix}`, 'o', sb.dir('ipam'), '10.200.78.20');
  // made by the reference (no owner tag on the host veth; Debian's 1.1.1 speaks 1.0.0 at most)
  const theirs = await pod(`brgc2-${sb.prefix}`, 'r', sb.dir('ipam'), '10.200.78.30', '1.0.0');
  await add('ours', ours);
  await add('reference', theirs);
  assert.equal(await stateOf(theirs), present);

  assert.is((await gc(ours, [])).code, 0);
  assert.equal(await stateOf(ours), gone, "everything of the GC'd network goes");
  assert.equal(await stateOf(theirs), present, 'another network keeps everything');

  assert.is((await gc(theirs, [])).code, 0);
  // masquerade rules name their network; a spoof check does not, and its live veth carries no tag of ours
  assert.equal(await stateOf(theirs), { ...gone, spoofChains: 2, spoofJump: true });
  await run('ip', ['netns', 'delete', theirs.netns.split('/').pop()!]);
  assert.is((await gc(ours, [])).code, 0);
  assert.equal(await stateOf(theirs), gone, 'its host veth is gone: the dead spoof check goes, whoever made it');
  for (const c of [ours, theirs]) assert.is((await new OracleRun('ours', sb).exec('DEL', c)).exitCode, 0);
});

test('bad valid-attachments: decode error, nothing removed', async () => {
  const c = await pod(`brgc3-${sb.prefix}`, 'x', sb.dir('ipam'), '10.200.78.40');
  await add('ours', c);
  const r = await gcRaw(c, 'not-a-list');
  assert.is(r.code, 1);
  assert.match(
    JSON.parse(r.stdout).msg,
    /cannot unmarshal string into Go struct field NetConf\.cni\.dev\/valid-attachments/,
  );
  assert.equal(await stateOf(c), present);
  assert.is((await new OracleRun('ours', sb).exec('DEL', c)).exitCode, 0);
});

test.run();

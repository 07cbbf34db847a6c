// The iptables backend starts only what it must when iptables is iptables-nft (read over netlink instead): portmap
// ADD = one restore per family, CHECK = none, DEL = one restore per family with rules, a repeated DEL = none.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { iptablesOnNfTables } from '../../host/firewall/iptview.ts';
import { projectRoot } from '../../host/paths.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const test = suite('firewall: iptables spawns only what it must');
const sb = new Sandbox();
test.after(() => sb.cleanup());

/** Runs _ipt-spawn-child.ts in a fresh namespace (its own iptables) against a fresh pod; its stdout, parsed. */
async function inFreshNamespace(
  suffix: string,
  id: string,
  ...extra: string[]
): Promise<{ ns: TestNetns; out: unknown }> {
  const ns = await sb.netns(`ip${suffix}`);
  const pod = await sb.netns(`pod${suffix}`);
  const child = join(projectRoot, 'tests', 'firewall', '_ipt-spawn-child.ts');
  const r = await run('ip', [
    'netns',
    'exec',
    ns.name,
    process.execPath,
    '--import',
    'tsx',
    child,
    pod.path,
    id,
    ...extra,
  ]);
  assert.is(r.code, 0, r.stderr);
  return { ns, out: JSON.parse(r.stdout) };
}

test('portmap iptables ADD, CHECK, DEL, DEL again in a fresh namespace', async () => {
  assert.ok(await iptablesOnNfTables(4), 'this host runs iptables-nft (scripts/setup.sh installs it)');
  const { ns, out } = await inFreshNamespace('t', `${sb.prefix}-c`);
  const steps = out as Record<string, Record<string, number>>;
  assert.equal(steps, {
    ADD: { 'iptables-restore': 1, 'ip6tables-restore': 1 },
    CHECK: {},
    DEL: { 'iptables-restore': 1, 'ip6tables-restore': 1 },
    'DEL again': {},
  });
  const left = await run('ip', ['netns', 'exec', ns.name, 'iptables-save', '-t', 'nat']);
  assert.not.match(left.stdout, 'CNI-DN-');
});

test('portmap iptables CHECK read over netlink names a flushed pod chain and a missing one', async () => {
  const { out } = await inFreshNamespace('c', `${sb.prefix}-d`, 'damaged');
  const [flushed, gone] = out as [string, string];
  assert.match(
    flushed,
    /^could not check ipv4 dnat: rule \[\[-p tcp --dport 18950 -s 10\.200\.218\.5\/24 -j CNI-HOSTPORT-SETMARK\] .*\] in chain CNI-DN-[0-9a-f]+ not found in table nat$/,
  );
  assert.match(gone, /^could not check ipv4 dnat: chain CNI-DN-[0-9a-f]+ not found in iptables table nat$/);
});

test.run();

// host-local bad input: every config field with a wrong JSON type or an invalid value gives the reference's
// error (code and message), and neither implementation writes anything (the data directory is not even created).
// Validation also runs on DEL and CHECK, so a sample of the cases is repeated for those.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';
import { callPlugin, impls, parsedOutput, type Impl } from './harness.ts';

const test = suite('host-local bad input');
const sb = new Sandbox();
let pod: TestNetns;

test.before(async () => {
  pod = await sb.netns('hlbad');
});
test.after(async () => {
  await sb.cleanup();
});

type Conf = Record<string, unknown>;
const subnet = '10.200.67.0/24';
const good = { type: 'host-local', subnet };

/** [label, ipam (dataDir added), top-level extras, CNI_ARGS]; cniVersion 1.0.0 unless the extras say otherwise. */
type Case = [string, Conf | undefined, Conf?, string?];

const cases: Case[] = [
  ['no ipam key', undefined],
  ['ipam is a number', undefined, { ipam: 5 }],
  ['ipam is a string', undefined, { ipam: 'host-local' }],
  ['ipam is an array', undefined, { ipam: [] }],
  ['ipam.type is a number', { ...good, type: 5 }],
  ['ipam.type is an object', { ...good, type: {} }],
  ['ipam.name is a number', { ...good, name: 5 }],
  ['ranges is a string', { type: 'host-local', ranges: 'x' }],
  ['a range set is a string', { type: 'host-local', ranges: ['x'] }],
  ['a range is a string', { type: 'host-local', ranges: [['x']] }],
  ['range without subnet', { type: 'host-local', ranges: [[{ rangeStart: '10.200.67.5' }]] }],
  ['range subnet is empty', { type: 'host-local', ranges: [[{ subnet: '' }]] }],
  ['a range is null', { type: 'host-local', ranges: [[null]] }],
  ['a range set is null', { type: 'host-local', ranges: [[{ subnet }], null] }],
  [
    'second range of a later set without subnet',
    { type: 'host-local', ranges: [[{ subnet }], [{ subnet: '10.200.68.0/24' }, { gateway: '10.200.68.1' }]] },
  ],
  ['range without subnet after a bad one', { type: 'host-local', ranges: [[{ subnet: '10.200.68.1/24' }, {}]] }],
  [
    'range subnet is IPv4-mapped IPv6 with host bits',
    { type: 'host-local', ranges: [[{ subnet: '::ffff:10.200.67.1/120' }]] },
  ],
  ['range subnet is a number', { type: 'host-local', ranges: [[{ subnet: 5 }]] }],
  ['range subnet is not a CIDR', { type: 'host-local', ranges: [[{ subnet: 'x' }]] }],
  ['range subnet prefix /33', { type: 'host-local', ranges: [[{ subnet: '10.200.67.0/33' }]] }],
  ['range subnet has host bits', { type: 'host-local', ranges: [[{ subnet: '10.200.67.5/24' }]] }],
  ['range subnet /31 too small', { type: 'host-local', ranges: [[{ subnet: '10.200.67.0/31' }]] }],
  ['range subnet /32 too small', { type: 'host-local', ranges: [[{ subnet: '10.200.67.0/32' }]] }],
  ['IPv6 /127 too small', { type: 'host-local', ranges: [[{ subnet: 'fd00:200:60::/127' }]] }],
  ['IPv6 /128 too small', { type: 'host-local', ranges: [[{ subnet: 'fd00:200:60::/128' }]] }],
  ['IPv6 host bits', { type: 'host-local', ranges: [[{ subnet: 'fd00:200:60::5/64' }]] }],
  ['rangeStart is a number', { type: 'host-local', ranges: [[{ subnet, rangeStart: 5 }]] }],
  ['rangeStart is not an IP', { type: 'host-local', ranges: [[{ subnet, rangeStart: 'x' }]] }],
  ['rangeStart outside the subnet', { type: 'host-local', ranges: [[{ subnet, rangeStart: '10.200.68.5' }]] }],
  ['rangeEnd outside the subnet', { type: 'host-local', ranges: [[{ subnet, rangeEnd: '10.200.68.5' }]] }],
  ['rangeEnd is not an IP', { type: 'host-local', ranges: [[{ subnet, rangeEnd: '10.200.67.300' }]] }],
  ['gateway is a number', { type: 'host-local', ranges: [[{ subnet, gateway: 5 }]] }],
  ['gateway is not an IP', { type: 'host-local', ranges: [[{ subnet, gateway: 'x' }]] }],
  ['empty range set', { type: 'host-local', ranges: [[]] }],
  ['no ranges at all', { type: 'host-local', ranges: [] }],
  ['mixed families in a set', { type: 'host-local', ranges: [[{ subnet }, { subnet: 'fd00:200:60::/64' }]] }],
  ['overlap within a set', { type: 'host-local', ranges: [[{ subnet }, { subnet: '10.200.67.128/25' }]] }],
  ['overlap between sets', { type: 'host-local', ranges: [[{ subnet }], [{ subnet: '10.200.67.0/25' }]] }],
  [
    'overlap of a later set with an earlier one',
    { type: 'host-local', ranges: [[{ subnet: '10.200.68.0/24' }], [{ subnet }], [{ subnet: '10.200.67.64/26' }]] },
  ],
  [
    'second set invalid after a valid one',
    { type: 'host-local', ranges: [[{ subnet }], [{ subnet: '10.200.68.1/24' }]] },
  ],
  ['legacy subnet is a number', { type: 'host-local', subnet: 5 }],
  ['legacy subnet not a CIDR', { type: 'host-local', subnet: '10.200.67.0' }],
  ['legacy rangeStart is a number', { ...good, rangeStart: 5 }],
  ['legacy rangeEnd outside', { ...good, rangeEnd: '10.200.66.1' }],
  ['legacy gateway is not an IP', { ...good, gateway: '10.200.67' }],
  ['legacy subnet overlaps ranges', { ...good, ranges: [[{ subnet: '10.200.67.0/25' }]] }],
  ['dataDir is a number', { ...good, dataDir: 5 }],
  ['resolvConf is a number', { ...good, resolvConf: 5 }],
  ['routes is a string', { ...good, routes: 'x' }],
  ['routes is an object', { ...good, routes: {} }],
  ['a route is a number', { ...good, routes: [5] }],
  ['route dst is a number', { ...good, routes: [{ dst: 5 }] }],
  ['route dst is not a CIDR', { ...good, routes: [{ dst: 'x' }] }],
  ['route gw is a number', { ...good, routes: [{ dst: '0.0.0.0/0', gw: 5 }] }],
  ['route gw is not an IP', { ...good, routes: [{ dst: '0.0.0.0/0', gw: 'y' }] }],
  [
    'two IPv4 sets with cniVersion 0.2.0',
    { type: 'host-local', ranges: [[{ subnet }], [{ subnet: '10.200.68.0/24' }]] },
    { cniVersion: '0.2.0' },
  ],
  [
    'two IPv6 sets with cniVersion 0.1.0',
    { type: 'host-local', ranges: [[{ subnet: 'fd00:200:60::/64' }], [{ subnet: 'fd00:200:61::/64' }]] },
    { cniVersion: '0.1.0' },
  ],
  [
    'two IPv4 sets without cniVersion',
    { type: 'host-local', ranges: [[{ subnet }], [{ subnet: '10.200.68.0/24' }]] },
    { cniVersion: undefined },
  ],
  ['runtimeConfig.ips is a number', good, { runtimeConfig: { ips: 5 } }],
  ['runtimeConfig.ips element is a number', good, { runtimeConfig: { ips: [5] } }],
  ['runtimeConfig.ips element is not an IP', good, { runtimeConfig: { ips: ['x'] } }],
  ['runtimeConfig.ips element is empty', good, { runtimeConfig: { ips: [''] } }],
  ['runtimeConfig.ipRanges is a string', good, { runtimeConfig: { ipRanges: 'x' } }],
  ['runtimeConfig.ipRanges subnet invalid', good, { runtimeConfig: { ipRanges: [[{ subnet: '10.200.68.0/33' }]] } }],
  ['runtimeConfig.ipRanges subnet is a number', good, { runtimeConfig: { ipRanges: [[{ subnet: 5 }]] } }],
  ['runtimeConfig.ipRanges overlaps the config', good, { runtimeConfig: { ipRanges: [[{ subnet }]] } }],
  ['runtimeConfig is a number', good, { runtimeConfig: 5 }],
  ['runtimeConfig is an array', good, { runtimeConfig: [] }],
  ['args is a string', good, { args: 'x' }],
  ['args.cni is a number', good, { args: { cni: 5 } }],
  ['args.cni.ips is a number', good, { args: { cni: { ips: 5 } } }],
  ['args.cni.ips element is a number', good, { args: { cni: { ips: [5] } } }],
  ['args.cni.ips element is not an IP', good, { args: { cni: { ips: ['10.200.67.1/40'] } } }],
  ['CNI_ARGS IP is not an IP', good, {}, 'IP=x'],
  ['CNI_ARGS lowercase ip is unknown', good, {}, 'ip=10.200.67.5'],
  ['CNI_ARGS piece without =', good, {}, 'IP'],
  ['CNI_ARGS value with =', good, {}, 'IP=a=b'],
  ['CNI_ARGS bad IgnoreUnknown', good, {}, 'IgnoreUnknown=maybe;IP=10.200.67.5'],
  ['CNI_ARGS trailing ;', good, {}, 'IP=10.200.67.5;'],
];

async function compare(
  label: string,
  command: 'ADD' | 'DEL' | 'CHECK',
  ipam: Conf | undefined,
  extras: Conf = {},
  cniArgs = '',
): Promise<void> {
  const r: Partial<Record<Impl, { code: number; stdout: string }>> = {};
  for (const impl of impls) {
    const dataDir = join(sb.dir(`bad-${impl}`), 'data');
    const c: Conf = { cniVersion: '1.0.0', name: 'badnet', type: 'bridge', ...extras };
    if (ipam !== undefined) c.ipam = typeof ipam === 'object' && !Array.isArray(ipam) ? { dataDir, ...ipam } : ipam;
    r[impl] = await callPlugin(impl, { command, containerId: 'c1', ifName: 'eth0', netns: pod.path, conf: c, cniArgs });
    assert.not.ok(existsSync(dataDir), `${label} (${command}, ${impl}): the data directory was created`);
  }
  assert.is(r.reference!.code, 1, `${label} (${command}): the reference accepted it: ${r.reference!.stdout}`);
  assert.is(r.ours!.code, 1, `${label} (${command}): ours accepted it: ${r.ours!.stdout}`);
  assert.equal(parsedOutput(r.ours!.stdout), parsedOutput(r.reference!.stdout), `${label} (${command})`);
}

for (const [label, ipam, extras, cniArgs] of cases) {
  test(`ADD: ${label}`, async () => {
    await compare(label, 'ADD', ipam, extras, cniArgs);
  });
}

const alsoOnDelCheck = new Set([
  'no ipam key',
  'ipam is a number',
  'ipam.type is a number',
  'range subnet has host bits',
  'overlap between sets',
  'route dst is not a CIDR',
  'CNI_ARGS IP is not an IP',
  'runtimeConfig.ips element is empty',
]);
for (const [label, ipam, extras, cniArgs] of cases.filter((c) => alsoOnDelCheck.has(c[0]))) {
  test(`DEL: ${label}`, async () => {
    await compare(label, 'DEL', ipam, extras, cniArgs);
  });
  test(`CHECK: ${label}`, async () => {
    await compare(label, 'CHECK', ipam, extras, cniArgs);
  });
}

test('ADD: resolvConf that does not exist fails before the store is touched', async () => {
  const missing = join(sb.dir('noresolv'), 'nope.conf');
  await compare('missing resolvConf', 'ADD', { ...good, resolvConf: missing });
});

test('ADD: resolvConf that is a directory', async () => {
  const dir = sb.dir('resolvdir');
  writeFileSync(join(dir, 'x'), '');
  await compare('resolvConf directory', 'ADD', { ...good, resolvConf: dir });
});

test.run();

// bandwidth, ours against the reference (/usr/lib/cni/bandwidth, Debian 1.1.1) on the same veth plumbing and
// prevResult: tc qdiscs/filters, links, result and errors equal after ADD, CHECK and DEL; then what we do on purpose
// differently (each test names the reference bug).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sh } from '../../_lib/run.ts';
import type { Sandbox } from '../../_lib/sandbox.ts';
import {
  compareWithReference,
  diffSnapshots,
  referenceNames,
  runScenario,
  type OracleCase,
  type Step,
  type StepRecord,
} from '../../_lib/oracle.ts';

const test = suite('bandwidth differential');

interface Plumbing {
  hostVeth: string;
  podPath: string;
}

/** A pod netns with eth0 whose host-side peer is `<prefix>h` (MTU 1400, so the ifb's MTU is visible). */
async function plumb(sb: Sandbox): Promise<Plumbing> {
  const pod = await sb.netns('pod');
  const hostVeth = sb.name('h');
  await sh('ip', ['link', 'add', hostVeth, 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name]);
  // no IPv6 link-local addresses: they appear asynchronously and would make snapshots racy
  await sh('ip', ['link', 'set', hostVeth, 'addrgenmode', 'none', 'up']);
  await sh('ip', ['-n', pod.name, 'link', 'set', 'eth0', 'addrgenmode', 'none', 'up']);
  return { hostVeth, podPath: pod.path };
}

function prevResult(p: Plumbing, cniVersion: string): Record<string, unknown> {
  const v4 = cniVersion.startsWith('0.') ? { version: '4' } : {};
  return {
    cniVersion,
    interfaces: [{ name: p.hostVeth }, { name: 'eth0', sandbox: p.podPath }],
    ips: [{ ...v4, address: '10.200.80.2/24', gateway: '10.200.80.1', interface: 1 }],
  };
}

interface BwCase {
  cniVersion?: string;
  conf?: Record<string, unknown>;
  capabilityArgs?: Record<string, unknown>;
}

/** A single-plugin .conf with its prevResult, as a chained runtime would pass it on ADD. */
function bandwidthCase(token: string, p: Plumbing, c: BwCase): OracleCase {
  const cniVersion = c.cniVersion ?? '1.0.0';
  return {
    config: { cniVersion, name: `bw-${token}`, type: 'bandwidth', ...c.conf, prevResult: prevResult(p, cniVersion) },
    netns: p.podPath,
    containerId: `bw-${token}`,
    ifName: 'eth0',
    capabilityArgs: c.capabilityArgs,
  };
}

async function compare(
  c: BwCase,
  steps?: Step[],
): Promise<{ diff: string; ref: StepRecord[]; ours: StepRecord[]; token: string }> {
  const cmp = await compareWithReference({
    prepare: async ({ sb, token }) => bandwidthCase(token, await plumb(sb), c),
    steps,
  });
  return { diff: cmp.diff, ref: cmp.records.reference, ours: cmp.records.ours, token: cmp.token };
}

test('ingress + egress, static config, 1.0.0: ADD, CHECK, DEL equal', async () => {
  const cmp = await compare({
    conf: { ingressRate: 8000000, ingressBurst: 800000, egressRate: 16000000, egressBurst: 1600000 },
  });
  assert.is(cmp.diff, '', cmp.diff);
  const [add, check, del] = cmp.ours;
  assert.is(add!.outcome.exitCode, 0, JSON.stringify(add!.outcome.error));
  assert.is(check!.outcome.exitCode, 0, JSON.stringify(check!.outcome.error));
  assert.is(del!.outcome.exitCode, 0, JSON.stringify(del!.outcome.error));
  const ifb = referenceNames(`bw-${cmp.token}`, `bw-${cmp.token}`).ifb;
  const result = add!.outcome.result as { interfaces: Array<{ name: string; mac?: string }> };
  assert.is(result.interfaces.length, 3);
  assert.is(result.interfaces[2]!.name, ifb);
  const host = JSON.stringify(add!.snapshot.host);
  for (const needle of ['"tbf"', '"ingress"', '"mirred"', ifb, '"rate":1000000', '"rate":2000000', '"mtu":1400'])
    assert.ok(host.includes(needle), needle);
  assert.not.ok(JSON.stringify(del!.snapshot.host).includes(ifb), 'DEL removes the ifb');
});

test("ingress only from runtimeConfig with containerd's capitalised keys, 0.4.0", async () => {
  const cmp = await compare({
    cniVersion: '0.4.0',
    conf: { capabilities: { bandwidth: true } },
    capabilityArgs: { bandwidth: { IngressRate: 2000000, IngressBurst: 400000 } },
  });
  assert.is(cmp.diff, '', cmp.diff);
  assert.is(cmp.ours[0]!.outcome.exitCode, 0, JSON.stringify(cmp.ours[0]!.outcome.error));
  assert.is(
    (cmp.ours[0]!.outcome.result as { interfaces: unknown[] }).interfaces.length,
    2,
    'no ifb without egress limits',
  );
});

test('egress only, 0.3.0 (ADD, DEL); static config beats runtimeConfig', async () => {
  const cmp = await compare(
    {
      cniVersion: '0.3.0',
      conf: { capabilities: { bandwidth: true }, egressRate: 4000000, egressBurst: 400000 },
      capabilityArgs: { bandwidth: { ingressRate: 2000000, ingressBurst: 400000 } },
    },
    ['ADD', 'DEL'],
  );
  assert.is(cmp.diff, '', cmp.diff);
  const hostTc = JSON.stringify((cmp.ours[0]!.snapshot.host as { tc: unknown }).tc);
  assert.ok(hostTc.includes('"rate":500000'), 'egress tbf on the ifb');
  assert.not.ok(hostTc.includes('"rate":250000'), 'runtimeConfig ingress ignored');
});

test('Kubernetes burst (4294967295 bits) at 1 Mbit/s: the same wrapped buffer as the Go plugin, CHECK passes', async () => {
  const cmp = await compare({ conf: { ingressRate: 1000000, ingressBurst: 4294967295 } });
  assert.is(cmp.diff, '', cmp.diff);
  assert.is(cmp.ours[1]!.outcome.exitCode, 0, JSON.stringify(cmp.ours[1]!.outcome.error));
  assert.ok(
    JSON.stringify(cmp.ours[0]!.snapshot.host).includes('"burst":21474835'),
    'buffer 2684354435 ticks (wrapped like Go on amd64)',
  );
});

test("bad input: the reference's errors and no state change", async () => {
  const bad = (label: string, change: (c: OracleCase) => OracleCase): Step => ({ command: 'ADD', label, change });
  const conf = (c: OracleCase, extra: Record<string, unknown>): OracleCase => ({
    ...c,
    config: { ...c.config, ...extra },
  });
  const prev = (c: OracleCase): Record<string, unknown> => c.config.prevResult as Record<string, unknown>;
  const steps: Step[] = [
    bad('rate without burst', (c) => conf(c, { ingressRate: 8000 })),
    bad('burst without rate', (c) => conf(c, { egressBurst: 8000 })),
    bad('burst over 4GB', (c) => conf(c, { egressRate: 8000, egressBurst: 34359738368 })),
    bad('string rate', (c) => conf(c, { ingressRate: '10M', ingressBurst: 8000 })),
    bad('negative burst', (c) => conf(c, { ingressRate: 8000, ingressBurst: -8 })),
    bad('runtimeConfig not an object', (c) =>
      conf(c, { capabilities: { bandwidth: true }, runtimeConfig: { bandwidth: [1] } }),
    ),
    bad('no interfaces in prevResult', (c) =>
      conf(c, { ingressRate: 8000, ingressBurst: 8000, prevResult: { ...prev(c), interfaces: [] } }),
    ),
    bad('host veth not in prevResult', (c) =>
      conf(c, {
        ingressRate: 8000,
        ingressBurst: 8000,
        prevResult: { ...prev(c), interfaces: [{ name: 'other' }, { name: 'eth0', sandbox: c.netns }] },
      }),
    ),
    bad('container interface missing', (c) => ({
      ...conf(c, { ingressRate: 8000, ingressBurst: 8000 }),
      ifName: 'eth9',
    })),
    bad('container interface not a veth', (c) => ({
      ...conf(c, { ingressRate: 8000, ingressBurst: 8000 }),
      ifName: 'lo',
    })),
    bad('limits without prevResult', (c) => ({
      ...c,
      config: { ...c.config, ingressRate: 8000, ingressBurst: 8000, prevResult: undefined },
    })),
  ];
  const cmp = await compare({}, steps);
  assert.is(cmp.diff, '', cmp.diff);
  for (const r of cmp.ours) {
    assert.is(r.outcome.exitCode, 1, r.label);
    assert.is(r.outcome.error?.code, 999, r.label);
    assert.not.ok(JSON.stringify(r.snapshot.host).includes('"tbf"'), `${r.label}: nothing shaped`);
  }
  assert.match(cmp.ours[6]!.outcome.error!.msg, /^no interfaces provided$/);
  assert.match(
    cmp.ours[8]!.outcome.error!.msg,
    /^container interface eth9 has no veth peer: could not look up "eth9": Link not found$/,
  );
});

// ---- on purpose unlike the reference -------------------------------------------------------------------------

async function ours(c: BwCase, steps: Step[]): Promise<StepRecord[]> {
  return runScenario('ours', Math.random().toString(16).slice(2, 8), {
    prepare: async ({ sb, token }) => bandwidthCase(token, await plumb(sb), c),
    steps,
  });
}
async function reference(c: BwCase, steps: Step[]): Promise<StepRecord[]> {
  return runScenario('reference', Math.random().toString(16).slice(2, 8), {
    prepare: async ({ sb, token }) => bandwidthCase(token, await plumb(sb), c),
    steps,
  });
}

test('ADD again on the same veth re-applies the limits (reference: "create qdisc: file exists")', async () => {
  const limits = { ingressRate: 8000000, ingressBurst: 800000, egressRate: 16000000, egressBurst: 1600000 };
  const faster = { ingressRate: 24000000, ingressBurst: 800000, egressRate: 32000000, egressBurst: 1600000 };
  const steps: Step[] = [
    'ADD',
    'ADD',
    { command: 'ADD', label: 'ADD faster', change: (c) => ({ ...c, config: { ...c.config, ...faster } }) },
    { command: 'CHECK', label: 'CHECK faster', change: (c) => ({ ...c, config: { ...c.config, ...faster } }) },
  ];
  const ref = await reference({ conf: limits }, steps.slice(0, 2));
  assert.is(ref[1]!.outcome.error?.msg, 'create qdisc: file exists');
  const [first, again, changed, check] = await ours({ conf: limits }, steps);
  for (const r of [first, again, changed, check])
    assert.is(r!.outcome.exitCode, 0, `${r!.label}: ${JSON.stringify(r!.outcome.error)}`);
  assert.is(diffSnapshots(first!.snapshot, again!.snapshot, ['first ADD', 'second ADD']), '');
  const tc = JSON.stringify((changed!.snapshot.host as { tc: unknown }).tc);
  assert.ok(tc.includes('"rate":3000000') && tc.includes('"rate":4000000'), tc);
  assert.not.ok(tc.includes('"rate":1000000'), 'old limits gone');
});

test('CHECK without limits succeeds (Debian 1.1.1 panics: containernetworking/plugins#1221)', async () => {
  const ref = await reference({}, ['ADD', 'CHECK']);
  assert.is(ref[1]!.outcome.exitCode, 2);
  const [add, check] = await ours({}, ['ADD', 'CHECK']);
  assert.is(add!.outcome.exitCode, 0);
  assert.is(check!.outcome.exitCode, 0, JSON.stringify(check!.outcome.error));
});

test('ADD without limits and without prevResult is an error, not a crash (the reference panics)', async () => {
  const drop: Step = { command: 'ADD', change: (c) => ({ ...c, config: { ...c.config, prevResult: undefined } }) };
  const ref = await reference({}, [drop]);
  assert.is(ref[0]!.outcome.exitCode, 2);
  const [add] = await ours({}, [drop]);
  assert.equal(add!.outcome.error, { code: 999, msg: 'must be called as chained plugin' });
});

test('a failed ADD leaves nothing behind (the reference keeps the ingress tbf it made)', async () => {
  const steps: Step[] = [
    {
      command: 'ADD',
      label: 'ADD with the ifb name taken',
      before: async ({ case: c }) => {
        const ifb = referenceNames(String(c.config.name), c.containerId).ifb;
        await sh('ip', ['link', 'add', ifb, 'type', 'bridge']);
      },
    },
  ];
  const conf = { ingressRate: 8000000, ingressBurst: 800000, egressRate: 16000000, egressBurst: 1600000 };
  const ref = await reference({ conf }, steps);
  const [add] = await ours({ conf }, steps);
  assert.is(ref[0]!.outcome.error?.msg, 'adding link: file exists');
  assert.is(add!.outcome.error?.msg, 'adding link: file exists');
  assert.ok(JSON.stringify((ref[0]!.snapshot.host as { tc: unknown }).tc).includes('"tbf"'), 'reference half-applied');
  assert.not.ok(JSON.stringify((add!.snapshot.host as { tc: unknown }).tc).includes('"tbf"'), 'ours rolled back');
  assert.ok(JSON.stringify(add!.snapshot.host).includes('"kind":"bridge"'), 'the foreign link is untouched');
});

test('DEL with the pod netns gone removes the ifb; a second DEL succeeds', async () => {
  const conf = { egressRate: 16000000, egressBurst: 1600000 };
  const gone: Step = {
    command: 'DEL',
    label: 'DEL, netns gone',
    before: async ({ case: c }) => {
      await sh('ip', ['netns', 'delete', c.netns.split('/').pop()!]);
    },
  };
  const [add, del, again] = await ours({ conf }, ['ADD', gone, { command: 'DEL', label: 'DEL again' }]);
  const ifb = (add!.outcome.result as { interfaces: Array<{ name: string }> }).interfaces[2]!.name;
  assert.ok(ifb.startsWith('bwp'));
  assert.is(del!.outcome.exitCode, 0, JSON.stringify(del!.outcome.error));
  assert.not.ok(JSON.stringify(del!.snapshot.host).includes(ifb));
  assert.is(again!.outcome.exitCode, 0);
});

test('a rate below 8 bits/s is refused before anything changes (the reference makes a 0 B/s qdisc)', async () => {
  const [add] = await ours({ conf: { ingressRate: 7, ingressBurst: 8000 } }, ['ADD']);
  assert.is(add!.outcome.exitCode, 1);
  assert.match(add!.outcome.error!.msg, /invalid rate: 7/);
  assert.not.ok(JSON.stringify((add!.snapshot.host as { tc: unknown }).tc).includes('"tbf"'));
});

test.run();

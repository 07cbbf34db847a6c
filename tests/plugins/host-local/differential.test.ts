// host-local, ours against the reference (/usr/lib/cni/host-local), scenario by scenario from the reference
// test inventory (plugins/ipam/host-local/*_test.go v1.9.1; the ids in INVENTORY.md). Each scenario runs the same calls
// on two private data directories, one per implementation, and after every call compares the exit code, the
// printed result or error, and every file of the data directory.
// Subnets: 10.200.60-63.0/24 and fd00:200:60::/64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';
import {
  callPlugin,
  impls,
  parsedOutput,
  referenceStateAsV191,
  stateOf,
  type Call,
  type CallResult,
  type Impl,
} from './harness.ts';

const test = suite('host-local differential');
const sb = new Sandbox();
let pod: TestNetns;

test.before(async () => {
  pod = await sb.netns('hl');
});
test.after(async () => {
  await sb.cleanup();
});

type Conf = Record<string, unknown>;
interface Step {
  command: Call['command'];
  id?: string;
  ifName?: string;
  cniArgs?: string;
  conf: (dataDir: string) => Conf;
  /** Only the error message's start is compared (the reference picks among requested IPs in Go map order). */
  errorPrefix?: string;
  /** Files whose content is not compared (for the same reason). */
  ignoreFiles?: string[];
}
interface StepOutcome {
  ref: CallResult;
  ours: CallResult;
  state: Record<string, string>;
}

/** Runs the steps on both implementations (own data dir each, same files prepared) and compares after each. */
async function differential(label: string, steps: Step[], prepare?: (netDir: string) => void): Promise<StepOutcome[]> {
  const dirs = Object.fromEntries(impls.map((i) => [i, sb.dir(`${i}-data`)])) as Record<Impl, string>;
  if (prepare)
    for (const i of impls) {
      mkdirSync(join(dirs[i], 'net'), { recursive: true });
      prepare(join(dirs[i], 'net'));
    }
  const out: StepOutcome[] = [];
  for (const [n, s] of steps.entries()) {
    const r: Partial<Record<Impl, CallResult>> = {};
    for (const i of impls) {
      r[i] = await callPlugin(i, {
        command: s.command,
        containerId: s.id ?? 'dummy',
        ifName: s.ifName ?? 'eth0',
        netns: pod.path,
        cniArgs: s.cniArgs,
        conf: s.conf(dirs[i]),
      });
    }
    const ref = r.reference!,
      ours = r.ours!;
    const where = `${label}, step ${n + 1} (${s.command} ${s.id ?? 'dummy'}/${s.ifName ?? 'eth0'})`;
    assert.is(ours.code, ref.code, `${where}: exit code; reference printed ${ref.stdout}, ours ${ours.stdout}`);
    if (s.errorPrefix) {
      for (const x of [ref, ours])
        assert.ok((JSON.parse(x.stdout) as { msg: string }).msg.startsWith(s.errorPrefix), `${where}: ${x.stdout}`);
    } else {
      assert.equal(parsedOutput(ours.stdout), parsedOutput(ref.stdout), `${where}: output`);
      const v = (s.conf('').cniVersion as string | undefined) ?? '';
      if (ref.code === 0 && s.command === 'ADD' && v.startsWith('0.'))
        assert.is(ours.stdout, ref.stdout, `${where}: result bytes`);
    }
    assert.is(ours.stderr, '', `${where}: our stderr`);
    const strip = (st: Record<string, string>) => {
      for (const f of s.ignoreFiles ?? []) if (st[f] !== undefined) st[f] = '<ignored>';
      return st;
    };
    const refState = strip(referenceStateAsV191(stateOf(dirs.reference)));
    const ourState = strip(stateOf(dirs.ours));
    assert.equal(ourState, refState, `${where}: data dir`);
    out.push({ ref, ours, state: ourState });
  }
  return out;
}

function conf(version: string, ipam: Conf, extra: Conf = {}): (dataDir: string) => Conf {
  return (dataDir) => ({
    cniVersion: version,
    name: 'net',
    type: 'ipvlan',
    master: 'foo0',
    ...extra,
    ipam: { type: 'host-local', dataDir, ...ipam },
  });
}

const versions = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];
const withCheck = (v: string) => v === '0.4.0' || v === '1.0.0';

// A1 -------------------------------------------------------------------------------------------------------
for (const v of versions) {
  test(`A1 [${v}] allocates and releases addresses with ADD/DEL (two range sets, routes, resolvConf)`, async () => {
    const resolv = join(sb.dir('resolv'), 'resolv.conf');
    writeFileSync(
      resolv,
      'nameserver 192.0.2.1\nnameserver 192.0.2.2\n# comment\n; other\nsearch example.com example.net\ndomain example.org\noptions ndots:2 edns0\n',
    );
    const c = conf(v, {
      ranges: [[{ subnet: '10.200.60.0/24' }, { subnet: '10.200.61.0/24' }], [{ subnet: 'fd00:200:60::/64' }]],
      routes: [
        { dst: '0.0.0.0/0' },
        { dst: '::/0' },
        { dst: '192.168.0.0/16', gw: '10.200.60.1' },
        { dst: 'fd00:200:69::/64', gw: 'fd00:200:60::1' },
      ],
      resolvConf: resolv,
    });
    const steps: Step[] = [{ command: 'ADD', conf: c }];
    if (withCheck(v)) steps.push({ command: 'CHECK', conf: c });
    steps.push({ command: 'DEL', conf: c });
    if (withCheck(v)) steps.push({ command: 'CHECK', conf: c });
    const out = await differential(`A1 ${v}`, steps);
    const afterAdd = out[0]!.state;
    assert.is(afterAdd['net/10.200.60.2'], '600 "dummy\\r\\neth0"');
    assert.is(afterAdd['net/fd00:200:60::2'], '600 "dummy\\r\\neth0"');
    assert.is(afterAdd['net/last_reserved_ip.0'], '600 "10.200.60.2"');
    assert.is(afterAdd['net/last_reserved_ip.1'], '600 "fd00:200:60::2"');
    assert.is(out[0]!.ours.stdout.includes('"version":'), v.startsWith('0.3') || v === '0.4.0');
    const afterDel = out[withCheck(v) ? 2 : 1]!.state;
    assert.equal(Object.keys(afterDel).sort(), [
      'net/',
      'net/last_reserved_ip.0',
      'net/last_reserved_ip.1',
      'net/lock',
    ]);
  });
}

// A2, A3 ----------------------------------------------------------------------------------------------------
const v4 = conf('1.0.0', { subnet: '10.200.60.0/24' });

test('A2 allocates and releases addresses on a specific interface (same id, eth0 and eth1)', async () => {
  const out = await differential('A2', [
    { command: 'ADD', ifName: 'eth0', conf: v4 },
    { command: 'ADD', ifName: 'eth1', conf: v4 },
    { command: 'DEL', ifName: 'eth0', conf: v4 },
    { command: 'CHECK', ifName: 'eth0', conf: v4 },
    { command: 'CHECK', ifName: 'eth1', conf: v4 },
    { command: 'DEL', ifName: 'eth1', conf: v4 },
  ]);
  assert.is(out[2]!.state['net/10.200.60.3'], '600 "dummy\\r\\neth1"');
  assert.is(out[2]!.state['net/10.200.60.2'], undefined);
});

test('A3 repeat allocation for the same container ID and ifname fails; another ID gets the next address', async () => {
  const out = await differential('A3', [
    { command: 'ADD', conf: v4 },
    { command: 'ADD', conf: v4 },
    { command: 'ADD', id: 'other', conf: v4 },
  ]);
  assert.is(
    JSON.parse(out[1]!.ours.stdout).msg,
    'failed to allocate for range 0: 10.200.60.2 has been allocated to dummy, duplicate allocation is not allowed',
  );
  assert.ok(out[2]!.ours.stdout.includes('10.200.60.3/24'));
});

// A4-A7 -----------------------------------------------------------------------------------------------------
test('A4 DEL and CHECK honour a backwards-compatible (id-only) reservation file', async () => {
  await differential(
    'A4',
    [
      { command: 'CHECK', conf: v4 },
      { command: 'DEL', conf: v4 },
      { command: 'CHECK', conf: v4 },
    ],
    (dir) => writeFileSync(join(dir, '10.200.60.7'), 'dummy', { mode: 0o600 }),
  );
});

test('A5 DEL of an unknown container ID succeeds and changes nothing but the directory and lock', async () => {
  const out = await differential('A5', [{ command: 'DEL', id: 'unknown', conf: v4 }]);
  assert.equal(Object.keys(out[0]!.state), ['net/', 'net/lock']);
});

test('A6 reservation files are compared with surrounding whitespace trimmed', async () => {
  await differential(
    'A6',
    [
      { command: 'ADD', conf: v4 },
      { command: 'CHECK', conf: v4 },
      { command: 'DEL', conf: v4 },
    ],
    (dir) => writeFileSync(join(dir, '10.200.60.2'), '  \n dummy\r\neth0 \n\t', { mode: 0o600 }),
  );
});

test('A7 the first ADD on a new network prints nothing on stderr', async () => {
  const out = await differential('A7', [{ command: 'ADD', conf: v4 }]);
  assert.is(out[0]!.ref.stderr, '');
  assert.is(out[0]!.ours.stderr, '');
});

// A8-A11: requested addresses -------------------------------------------------------------------------------
test('A8 allocates a custom IP requested by args.cni.ips', async () => {
  const out = await differential('A8', [
    { command: 'ADD', conf: conf('1.0.0', { subnet: '10.200.60.0/24' }, { args: { cni: { ips: ['10.200.60.88'] } } }) },
  ]);
  assert.ok(out[0]!.ours.stdout.includes('10.200.60.88/24'));
});

test('A9 allocates custom IPs from multiple ranges', async () => {
  await differential('A9', [
    {
      command: 'ADD',
      conf: conf(
        '0.3.1',
        { ranges: [[{ subnet: '10.200.60.0/24' }], [{ subnet: '10.200.61.0/24' }]] },
        { args: { cni: { ips: ['10.200.60.9', '10.200.61.9'] } } },
      ),
    },
  ]);
});

test('A10 allocates custom IPs from multiple protocols', async () => {
  await differential('A10', [
    {
      command: 'ADD',
      conf: conf(
        '1.0.0',
        { ranges: [[{ subnet: '10.200.60.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] },
        { args: { cni: { ips: ['10.200.60.9', 'fd00:200:60::9'] } } },
      ),
    },
  ]);
});

test('A11 fails if a requested custom IP is not used (two requests in one range set), leaving no reservation', async () => {
  const out = await differential('A11', [
    {
      command: 'ADD',
      errorPrefix: 'failed to allocate all requested IPs: ',
      ignoreFiles: ['net/last_reserved_ip.0'],
      conf: conf('1.0.0', { subnet: '10.200.60.0/24' }, { args: { cni: { ips: ['10.200.60.9', '10.200.60.10'] } } }),
    },
  ]);
  assert.equal(Object.keys(out[0]!.state).sort(), ['net/', 'net/last_reserved_ip.0', 'net/lock']);
});

// B: the allocator's order, black-box with prepared directories ------------------------------------------------
const taken = (dir: string, ...ips: string[]) => {
  for (const ip of ips) writeFileSync(join(dir, ip), 'other\r\neth0', { mode: 0o600 });
};
const last = (dir: string, ip: string, set = 0) =>
  writeFileSync(join(dir, `last_reserved_ip.${set}`), ip, { mode: 0o600 });
const s29 = conf('1.0.0', { subnet: '10.200.62.0/29' });

const roundRobin: Array<[string, (dir: string) => void]> = [
  ['fresh /29 → .2', () => {}],
  ['last .5 → .6', (d) => last(d, '10.200.62.5')],
  [
    'last .3, .4 and .5 taken → .6',
    (d) => {
      last(d, '10.200.62.3');
      taken(d, '10.200.62.4', '10.200.62.5');
    },
  ],
  [
    'last .5, .6 taken → wraps to .2',
    (d) => {
      last(d, '10.200.62.5');
      taken(d, '10.200.62.6');
    },
  ],
  ['last outside the set → from the start', (d) => last(d, '10.200.62.128')],
  [
    'only the last reserved IP free → it',
    (d) => {
      last(d, '10.200.62.3');
      taken(d, '10.200.62.2', '10.200.62.4', '10.200.62.5', '10.200.62.6');
    },
  ],
  ['unparsable last_reserved_ip → from the start', (d) => last(d, '10.200.62.5\n')],
];
for (const [name, prep] of roundRobin) {
  test(`B1 round robin: ${name}`, async () => {
    await differential(`B1 ${name}`, [{ command: 'ADD', conf: s29 }], prep);
  });
}

test('B1 round robin: fresh /30 → .2', async () => {
  await differential('B1 /30', [{ command: 'ADD', conf: conf('1.0.0', { subnet: '10.200.62.0/30' }) }]);
});

const twoRanges = conf('1.0.0', {
  ranges: [[{ subnet: '10.200.63.0/30' }, { subnet: '10.200.63.4/30' }, { subnet: '10.200.63.8/30' }]],
});
test('B2 several ranges in a set: fresh, after the end of one range, wrap after the last', async () => {
  await differential('B2 fresh', [{ command: 'ADD', conf: twoRanges }]);
  await differential('B2 next range', [{ command: 'ADD', conf: twoRanges }], (d) => last(d, '10.200.63.2'));
  await differential('B2 wrap', [{ command: 'ADD', conf: twoRanges }], (d) => last(d, '10.200.63.10'));
});

test('B3 never allocates the IPv4 broadcast address; exhaustion reports the ranges', async () => {
  const steps: Step[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ command: 'ADD', id, conf: s29 }));
  const out = await differential('B3', steps);
  assert.is(
    JSON.parse(out[5]!.ours.stdout).msg,
    'failed to allocate for range 0: no IP addresses available in range set: 10.200.62.1-10.200.62.6',
  );
});

test('B4 allocate, release, allocate with the same id moves on (.2 then .3)', async () => {
  const out = await differential('B4', [
    { command: 'ADD', conf: s29 },
    { command: 'DEL', conf: s29 },
    { command: 'ADD', conf: s29 },
  ]);
  assert.ok(out[2]!.ours.stdout.includes('10.200.62.3/29'));
});

test('B5 requested IPs: granted, taken, the gateway, outside rangeStart/rangeEnd, IPv4-mapped, empty IP=', async () => {
  const ranged = conf('1.0.0', { subnet: '10.200.62.0/24', rangeStart: '10.200.62.10', rangeEnd: '10.200.62.20' });
  await differential('B5', [
    { command: 'ADD', id: 'a', cniArgs: 'IP=10.200.62.15', conf: ranged },
    { command: 'ADD', id: 'b', cniArgs: 'IP=10.200.62.15/24', conf: ranged },
    { command: 'ADD', id: 'c', cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.200.62.1', conf: ranged },
    { command: 'ADD', id: 'd', cniArgs: 'IP=10.200.62.21', conf: ranged },
    { command: 'ADD', id: 'e', cniArgs: 'IP=10.200.62.9', conf: ranged },
    { command: 'ADD', id: 'f', cniArgs: 'IP=10.200.62.20', conf: ranged },
    { command: 'ADD', id: 'g', cniArgs: 'IP=::ffff:10.200.62.12', conf: ranged },
    { command: 'ADD', id: 'h', cniArgs: 'IP=', conf: ranged },
  ]);
  const gw = conf('1.0.0', { subnet: '10.200.62.0/24', gateway: '10.200.62.15' });
  await differential('B5 gateway', [{ command: 'ADD', cniArgs: 'IP=10.200.62.15', conf: gw }]);
});

test('B6 last reserved IP at the end of one of several ranges continues in the next', async () => {
  await differential('B6', [{ command: 'ADD', conf: twoRanges }], (d) => last(d, '10.200.63.6'));
});

// C: configuration forms ------------------------------------------------------------------------------------
test('C1 old-style config: subnet, rangeStart, rangeEnd, gateway at the ipam level', async () => {
  await differential('C1', [
    {
      command: 'ADD',
      conf: conf('0.3.1', {
        subnet: '10.200.64.0/24',
        rangeStart: '10.200.64.100',
        rangeEnd: '10.200.64.200',
        gateway: '10.200.64.254',
      }),
    },
  ]);
});

test('C2 runtime ipRanges are prepended, shifting the range ids of legacy and configured ranges', async () => {
  const c = conf(
    '1.0.0',
    { subnet: '10.200.64.0/24', ranges: [[{ subnet: 'fd00:200:60::/64' }]] },
    { runtimeConfig: { ipRanges: [[{ subnet: '10.200.65.0/24' }]] } },
  );
  const out = await differential('C2', [
    { command: 'ADD', conf: c },
    { command: 'DEL', conf: c },
  ]);
  assert.is(out[0]!.state['net/last_reserved_ip.0'], '600 "10.200.65.2"');
  assert.is(out[0]!.state['net/last_reserved_ip.1'], '600 "10.200.64.2"');
  assert.is(out[0]!.state['net/last_reserved_ip.2'], '600 "fd00:200:60::2"');
});

test('C3 CNI_ARGS IP with and without prefix; runtimeConfig.ips and args.cni.ips', async () => {
  const c = conf('1.0.0', { ranges: [[{ subnet: '10.200.64.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] });
  await differential('C3', [
    { command: 'ADD', id: 'a', cniArgs: 'IP=10.200.64.50', conf: c },
    { command: 'ADD', id: 'b', cniArgs: 'IP=10.200.64.51/24', conf: c },
    {
      command: 'ADD',
      id: 'c',
      conf: conf(
        '1.0.0',
        { ranges: [[{ subnet: '10.200.64.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] },
        { runtimeConfig: { ips: ['10.200.64.52/24', 'fd00:200:60::52/64'] } },
      ),
    },
    {
      command: 'ADD',
      id: 'd',
      conf: conf(
        '1.0.0',
        { ranges: [[{ subnet: '10.200.64.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] },
        { args: { cni: { ips: ['fd00:200:60::53'] } } },
      ),
    },
  ]);
});

test('C4 0.2.0 allows one IPv4 and one IPv6 range set (ip4 + ip6 result)', async () => {
  await differential('C4', [
    {
      command: 'ADD',
      conf: conf('0.2.0', { ranges: [[{ subnet: '10.200.64.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] }),
    },
  ]);
});

test('C5 case-insensitive keys (IPAM, Subnet, DataDir, RuntimeConfig, IPRanges)', async () => {
  await differential('C5', [
    {
      command: 'ADD',
      conf: (dataDir) => ({
        cniVersion: '1.0.0',
        name: 'net',
        IPAM: { Type: 'host-local', Subnet: '10.200.64.0/24', DataDir: dataDir },
        RuntimeConfig: { IPRanges: [[{ Subnet: '10.200.65.0/24' }]] },
      }),
    },
  ]);
});

// D: range defaults -----------------------------------------------------------------------------------------
test('D1 a custom gateway not at .1 makes .1 the first address handed out', async () => {
  await differential('D1', [
    { command: 'ADD', conf: conf('1.0.0', { subnet: '10.200.66.0/24', gateway: '10.200.66.254' }) },
  ]);
});

test('D2 IPv6 range end is the all-ones address (a /126 yields ::2 and ::3), IPv4 excludes broadcast', async () => {
  const c6 = conf('1.0.0', { subnet: 'fd00:200:60::/126' });
  const out = await differential('D2', [
    { command: 'ADD', id: 'a', conf: c6 },
    { command: 'ADD', id: 'b', conf: c6 },
    { command: 'ADD', id: 'c', conf: c6 },
  ]);
  assert.ok(out[1]!.ours.stdout.includes('fd00:200:60::3/126'));
});

test('D3 explicit rangeStart = network address and rangeEnd = broadcast are accepted and allocatable', async () => {
  const c = conf('1.0.0', {
    subnet: '10.200.66.0/30',
    rangeStart: '10.200.66.0',
    rangeEnd: '10.200.66.3',
    gateway: '10.200.66.1',
  });
  await differential(
    'D3',
    ['a', 'b', 'c', 'd'].map((id) => ({ command: 'ADD' as const, id, conf: c })),
  );
});

// F: CHECK -------------------------------------------------------------------------------------------------
test('F1 CHECK fails before ADD and after DEL, passes in between', async () => {
  const out = await differential('F1', [
    { command: 'CHECK', conf: v4 },
    { command: 'ADD', conf: v4 },
    { command: 'CHECK', conf: v4 },
    { command: 'CHECK', ifName: 'eth9', conf: v4 },
    { command: 'DEL', conf: v4 },
    { command: 'CHECK', conf: v4 },
  ]);
  assert.is(JSON.parse(out[0]!.ours.stdout).msg, 'host-local: Failed to find address added by container dummy');
});

test.run();

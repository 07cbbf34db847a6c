// The permanent reliability suite (seeded, so every run tries the same cases):
//  - fuzzing every plugin's config, env, prevResult and runtimeConfig (fast-check) on both of our paths: exit 0
//    or one CNI error JSON, never a stack trace, no state change on failure, the daemon and the cold path give
//    the same bytes; the reference's answer is counted as an oracle, not required;
//  - SIGKILL at chosen steps of a bridge + host-local ADD (WASM_CNI_FAULT), then DEL, then nothing left;
//  - the daemon killed mid-call: CNI error 11, never a hang;
//  - 200 pods 16-way, ours and the reference mixed on one host-local dir, then 300 on a /24: no duplicate, every
//    extra ADD a clean error, nothing left.
// Its figures (cases, crashes, leaks, hangs) are printed in one table at the end.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import { callOn, errorOf, type CallSpec, type Path } from './paths.ts';

const test = suite('reliability');
const sb = new Sandbox();
let daemon: FixtureDaemon | undefined;
let socket = '';
let absent = '';
let pod: TestNetns;
const SEED = 1304;

interface Figures {
  cases: number;
  crashes: number;
  leaks: number;
  hangs: number;
  seconds: number;
  note?: string;
}
const figures: Record<string, Figures> = {};
let current: { f: Figures; t0: number } | undefined;
/** The figures of the running test (timed until it ends). */
function fig(name: string): Figures {
  figures[name] ??= { cases: 0, crashes: 0, leaks: 0, hangs: 0, seconds: 0 };
  const f = figures[name];
  current = { f, t0: performance.now() };
  return f;
}
test.after.each(() => {
  if (current) current.f.seconds += (performance.now() - current.t0) / 1000;
  current = undefined;
});

// A fuzzed bridge config with an empty name gets the plugin's default bridge, as the reference's does.
let defaultBridgeBefore = false;
const defaultBridgeExists = async () => (await run('ip', ['link', 'show', 'cni0'])).code === 0;

test.before(async () => {
  defaultBridgeBefore = await defaultBridgeExists();
  const dir = sb.dir('rel');
  socket = join(dir, 'daemon.sock');
  absent = join(dir, 'absent.sock');
  daemon = await spawnFixtureDaemon(socket);
  pod = await sb.netns('rel');
});

test.after(async () => {
  await daemon?.stop();
  await sb.cleanup();
  if (!defaultBridgeBefore && (await defaultBridgeExists())) await run('ip', ['link', 'delete', 'cni0']);
  const rows = Object.entries(figures).map(([name, f]) => [
    name,
    String(f.cases),
    String(f.crashes),
    String(f.leaks),
    String(f.hangs),
    f.seconds.toFixed(1),
    f.note ?? '',
  ]);
  const head = ['reliability', 'cases', 'crashes', 'leaks', 'hangs', 'seconds', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${[line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`);
});

// ---- fuzzing --------------------------------------------------------------------------------------------------

const noNetns = '/var/run/netns/wasm-cni-reliability-no-such-netns';
const wild = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom(1.5, -0, 1e3, 1e21),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('10.200.223.0/24', '10.200.223.5', 'fd00:200:220::/64', '::', 'not-an-ip', '0.0.0.0/0', ''),
  fc.array(fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 4 }), fc.constant({})), { maxLength: 3 }),
  fc.dictionary(
    fc.constantFrom('a', 'dst', 'gw', 'subnet', 'hostPort', 'containerPort', 'protocol'),
    fc.jsonValue({ maxDepth: 1 }),
    { maxKeys: 3 },
  ),
);
const version = fc.constantFrom('1.1.0', '1.0.0', '0.4.0', '0.3.1', '0.2.0', '', '9.9.9', 7 as unknown as string);
const prevResult = fc.oneof(
  fc.constant(undefined),
  fc.constant({ cniVersion: '1.0.0', ips: [{ address: '10.200.223.9/24', gateway: '10.200.223.1' }] }),
  fc.constant({ ips: [{}] }),
  fc.constant({ ips: [null] }),
  fc.constant({
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', sandbox: noNetns }],
    ips: [{ interface: 0, address: '10.200.223.9/24' }],
  }),
  wild,
);
const runtimeConfig = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      portMappings: fc.oneof(
        wild,
        fc.constant([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]),
        fc.constant([null]),
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record({ bandwidth: fc.oneof(wild, fc.constant({ ingressRate: 1e6, ingressBurst: 1e5 })) }, { requiredKeys: [] }),
  fc.record({ ips: fc.oneof(wild, fc.constant(['10.200.223.7/24'])), mac: wild }, { requiredKeys: [] }),
  wild,
);

const pluginFields: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  loopback: {},
  'host-local': {},
  bridge: {
    bridge: fc.constantFrom(`${sb.prefix}br`, 'x'.repeat(16), ''),
    mtu: wild,
    isGateway: wild,
    ipMasq: wild,
    hairpinMode: wild,
    vlan: wild,
    mac: wild,
  },
  portmap: { snat: wild, markMasqBit: wild, externalSetMarkChain: wild, conditionsV4: wild, backend: wild },
  bandwidth: { ingressRate: wild, ingressBurst: wild, egressRate: wild, egressBurst: wild },
};

function ipamArb(dataDir: string) {
  return fc.record(
    {
      type: fc.constantFrom('host-local', 'host-local', 'loopback', 'nope', ''),
      subnet: fc.oneof(fc.constant('10.200.223.0/24'), wild),
      ranges: fc.oneof(fc.constant([[{ subnet: '10.200.224.0/28', gateway: '10.200.224.1' }]]), wild),
      routes: fc.oneof(fc.constant([{ dst: '0.0.0.0/0' }]), wild),
      dataDir: fc.constant(dataDir),
      rangeStart: wild,
    },
    { requiredKeys: ['type', 'dataDir'] },
  );
}

function caseArb(plugin: string, dataDir: string) {
  const own = Object.entries(pluginFields[plugin]!);
  return fc.record({
    cniVersion: version,
    name: fc.constantFrom('relnet', 'relnet', '', 'bad name', 5 as unknown as string),
    fields: fc.record(Object.fromEntries(own), { requiredKeys: [] }),
    ipam: plugin === 'host-local' || plugin === 'bridge' ? ipamArb(dataDir) : fc.constant(undefined),
    prevResult: plugin === 'portmap' || plugin === 'bandwidth' ? prevResult : fc.constant(undefined),
    runtimeConfig,
    capabilities: fc.oneof(
      fc.constant(undefined),
      fc.constant({ portMappings: true, bandwidth: true, ips: true, mac: true }),
    ),
    command: fc.constantFrom('ADD', 'ADD', 'ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS', '', 'BOGUS'),
    ifName: fc.constantFrom('eth0', 'eth0', '', 'x'.repeat(16), 'a/b'),
    containerId: fc.constantFrom('relc1', 'relc1', '', 'bad id'),
    cniArgs: fc.constantFrom('', '', 'IgnoreUnknown=1;K=v', 'IP=10.200.223.9', 'bad', 'K=\u0001'),
    netns: fc.constantFrom(noNetns, noNetns, ''),
    mangle: fc.constantFrom('none', 'none', 'none', 'none', 'truncate', 'deep', 'garbage'),
  });
}

type Case = ReturnType<typeof caseArb> extends fc.Arbitrary<infer T> ? T : never;

function stdinOf(plugin: string, c: Case): string {
  const conf: Record<string, unknown> = { cniVersion: c.cniVersion, name: c.name, type: plugin, ...c.fields };
  if (c.ipam !== undefined) conf.ipam = c.ipam;
  if (c.prevResult !== undefined) conf.prevResult = c.prevResult;
  if (c.runtimeConfig !== undefined) conf.runtimeConfig = c.runtimeConfig;
  if (c.capabilities !== undefined) conf.capabilities = c.capabilities;
  const text = JSON.stringify(conf);
  if (c.mangle === 'truncate') return text.slice(0, Math.floor(text.length / 2));
  if (c.mangle === 'deep') return `${'['.repeat(10_001)}${']'.repeat(10_001)}`;
  if (c.mangle === 'garbage') return `\u00ff${text}`;
  return text;
}

const stackTrace = /\n\s+at .+:\d+:\d+|TypeError|ReferenceError|RangeError: Maximum/;

/** Reservation files (not lock/last_reserved_ip) under a host-local data dir. */
function reservations(dataDir: string): string[] {
  const out: string[] = [];
  let nets: string[] = [];
  try {
    nets = readdirSync(dataDir);
  } catch {
    return out;
  }
  for (const n of nets) {
    try {
      for (const f of readdirSync(join(dataDir, n))) if (/^[\d.:a-f]+$/.test(f)) out.push(`${n}/${f}`);
    } catch {
      /* not a directory */
    }
  }
  return out.sort();
}

const perPlugin = 10;

for (const plugin of Object.keys(pluginFields)) {
  test(`fuzz ${plugin}: one answer on both paths, a clean CNI answer, nothing changed on failure`, async () => {
    const f = fig(`fuzz ${plugin} (daemon + cold)`);
    const dirs: Record<'daemon' | 'cold', string> = { daemon: sb.dir('fzd'), cold: sb.dir('fzc') };
    const template = '@DATADIR@';
    const samples = fc.sample(caseArb(plugin, template), { seed: SEED + plugin.length, numRuns: perPlugin });
    let agreeRef = 0;
    let refAnswered = 0;
    for (const c of samples) {
      const answers: Partial<Record<Path, { code: number; stdout: string }>> = {};
      for (const path of ['daemon', 'cold', 'reference'] as const) {
        const dataDir = path === 'reference' ? sb.dir('fzr') : dirs[path];
        const stdin = stdinOf(plugin, c).replaceAll(template, dataDir);
        const spec: CallSpec = {
          plugin,
          stdin,
          env: {
            CNI_COMMAND: c.command,
            CNI_CONTAINERID: c.containerId,
            CNI_NETNS: c.netns,
            CNI_IFNAME: c.ifName,
            CNI_ARGS: c.cniArgs,
          },
        };
        const before = reservations(dataDir);
        const r = await callOn(path, path === 'daemon' ? socket : absent, spec, 20_000);
        const stdout = r.stdout.replaceAll(dataDir, template);
        answers[path] = { code: r.code, stdout };
        if (path === 'reference') continue;
        f.cases++;
        if (r.code >= 128) f.hangs++;
        const clean = r.code === 0 || (r.code === 1 && errorOf(r.stdout) !== undefined);
        if (!clean || stackTrace.test(r.stdout) || stackTrace.test(r.stderr)) {
          f.crashes++;
          assert.unreachable(`${plugin} ${path} ${JSON.stringify(c)}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
        }
        if (r.code !== 0 && c.command === 'ADD' && reservations(dataDir).join() !== before.join()) {
          f.leaks++;
          assert.unreachable(`${plugin} ${path}: a failed ADD changed ${dataDir}`);
        }
        // leave the next case a clean directory
        if (r.code === 0 && c.command === 'ADD')
          await callOn(path, path === 'daemon' ? socket : absent, {
            ...spec,
            env: { ...spec.env, CNI_COMMAND: 'DEL' },
          });
      }
      assert.is(answers.daemon!.code, answers.cold!.code, `${plugin}: exit codes, ${JSON.stringify(c)}`);
      assert.is(answers.daemon!.stdout, answers.cold!.stdout, `${plugin}: stdout, ${JSON.stringify(c)}`);
      const ref = answers.reference!;
      if (ref.code < 2) {
        refAnswered++;
        if (
          ref.code === answers.cold!.code &&
          (ref.code === 0 || errorOf(ref.stdout)?.code === errorOf(answers.cold!.stdout)?.code)
        )
          agreeRef++;
      }
    }
    f.note = `reference agrees (exit, code) on ${agreeRef}/${refAnswered}`;
  });
}

// ---- fault injection ------------------------------------------------------------------------------------------

function bridgeConf(dataDir: string, bridge: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'relbr',
    type: 'bridge',
    bridge,
    isGateway: true,
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.225.0/24' }]] },
  });
}

/** The host ends still attached to the test's bridge (other tests' veths on this machine are not ours to count). */
async function bridgePorts(bridge: string): Promise<string[]> {
  const out = (await run('ip', ['-o', 'link', 'show', 'master', bridge])).stdout;
  return out
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n !== '');
}

async function podLinks(): Promise<string[]> {
  const out = (await run('ip', ['-n', pod.name, '-o', 'link', 'show'])).stdout;
  return out
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n && n !== 'lo');
}

test('SIGKILL at each chosen step of a bridge + host-local ADD, then DEL: nothing left', async () => {
  const f = fig('SIGKILL in ADD, then DEL');
  const dataDir = sb.dir('kill');
  const bridge = sb.name('kb');
  for (const point of ['bridge:veth-created', 'host-local:temp-written', 'host-local:linked', 'bridge:ipam-done']) {
    f.cases++;
    const env = { CNI_CONTAINERID: 'relkill', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' };
    const killed = await callOn('cold', absent, {
      plugin: 'bridge',
      stdin: bridgeConf(dataDir, bridge),
      env: { ...env, CNI_COMMAND: 'ADD', WASM_CNI_FAULT: point },
    });
    assert.is.not(killed.code, 0, `${point}: the ADD was killed`);
    const del = await callOn('cold', absent, {
      plugin: 'bridge',
      stdin: bridgeConf(dataDir, bridge),
      env: { ...env, CNI_COMMAND: 'DEL' },
    });
    if (del.code !== 0) f.crashes++;
    assert.is(del.code, 0, `${point}: DEL ${del.stdout}`);
    const left = [
      ...reservations(dataDir),
      ...(await podLinks()),
      ...(await bridgePorts(bridge)),
      ...readdirSync(join(dataDir, 'relbr')).filter((n) => n.startsWith('.')),
    ];
    if (left.length) f.leaks++;
    assert.equal(left, [], `${point}: left behind`);
  }
  await run('ip', ['link', 'delete', bridge]);
});

test('the daemon killed mid-call: CNI error 11, never a hang', async () => {
  const f = fig('daemon killed mid-call');
  const dir = sb.dir('dk');
  const sock = join(dir, 'dying.sock');
  process.env.WASM_CNI_FAULT = 'host-local:temp-written';
  let dying: FixtureDaemon;
  try {
    dying = await spawnFixtureDaemon(sock);
  } finally {
    delete process.env.WASM_CNI_FAULT;
  }
  try {
    f.cases++;
    const r = await callOn(
      'daemon',
      sock,
      {
        plugin: 'host-local',
        stdin: JSON.stringify({
          cniVersion: '1.0.0',
          name: 'dk',
          type: 'host-local',
          ipam: { type: 'host-local', dataDir: dir, subnet: '10.200.226.0/24' },
        }),
        env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'reldk', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' },
      },
      10_000,
    );
    if (r.code >= 128) f.hangs++;
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.is(errorOf(r.stdout)?.code, 11, r.stdout);
  } finally {
    await dying.kill();
  }
});

// ---- concurrency ----------------------------------------------------------------------------------------------

async function parallel<T, R>(items: T[], width: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function hlCall(path: Path, command: 'ADD' | 'DEL', dataDir: string, subnet: string, id: string) {
  return callOn(path, path === 'daemon' ? socket : absent, {
    plugin: 'host-local',
    stdin: JSON.stringify({
      cniVersion: '1.0.0',
      name: 'relcc',
      type: 'host-local',
      ipam: { type: 'host-local', dataDir, subnet },
    }),
    env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' },
  });
}

for (const [count, subnet] of [
  [200, '10.200.227.0/24'],
  [300, '10.200.228.0/24'],
] as const) {
  test(`${count} pods 16-way, ours (daemon) and the reference mixed on one dir (${subnet})`, async () => {
    const f = fig(`${count} pods 16-way mixed`);
    const dataDir = sb.dir('cc');
    const ids = Array.from({ length: count }, (_, i) => `relcc${i}`);
    const path = (i: number): Path => (i % 2 ? 'reference' : 'daemon');
    const adds = await parallel(ids, 16, (id) => hlCall(path(ids.indexOf(id)), 'ADD', dataDir, subnet, id));
    f.cases += count;
    const got: string[] = [];
    let full = 0;
    adds.forEach((r, i) => {
      if (r.code === 0) got.push((JSON.parse(r.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address);
      else {
        const e = errorOf(r.stdout);
        if (!e) f.crashes++;
        assert.ok(e?.msg.includes('no IP addresses available'), `${ids[i]}: ${r.stdout}`);
        full++;
      }
    });
    assert.is(new Set(got).size, got.length, 'no address handed out twice');
    assert.is(got.length, Math.min(count, 253), 'every address of the /24 but the gateway, and no more');
    assert.is(full, count - got.length);
    const dels = await parallel(ids, 16, (id) => hlCall(path(ids.indexOf(id) + 1), 'DEL', dataDir, subnet, id));
    assert.ok(dels.every((r) => r.code === 0));
    const left = reservations(dataDir);
    if (left.length) f.leaks++;
    assert.equal(left, []);
    f.note = `${got.length} allocated, ${full} refused cleanly`;
    assert.equal(
      readdirSync(join(dataDir, 'relcc')).filter((n) => n !== 'lock' && !n.startsWith('last_reserved_ip.')),
      [],
    );
  });
}

test.run();

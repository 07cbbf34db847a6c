// `wasm-cni demo`: a node with kubenet on a test pod CIDR, three pods in network namespaces, traffic between
// them, a hostPort, a shaped pod measured at its limit, the pod status table, and a teardown that proves
// nothing is left. Everything it creates is its own (bridge wcdemo0, netns wcdemo-*, a temp state dir) and is
// removed again on success, failure and Ctrl-C. Exit 0 only when every check passed.
import { errorMessage } from '../errors.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cidr, ipToBytes, parseBandwidthQuantity } from '../core/index.ts';
import { addonPath, cniBinDir, coreWasmPath } from '../paths.ts';
import { createNamedNetns, removeNamedNetns } from '../native/netns.ts';
import { isValidLinkName } from '../net/link.ts';
import {
  leftoverCount,
  leftovers,
  readNodeSysctls,
  removeNewEmptyNftTables,
  removeSharedChainsIfUnused,
  restoreNodeSysctls,
  snapshot,
  type DemoFootprint,
  type NodeSnapshot,
  type SysctlValues,
} from '../demo/leftovers.ts';
import { startNode } from '../demo/node.ts';
import { bold, block, DemoFailure, fail, formatMs, note, ok, section, step, title } from '../demo/output.ts';
import {
  askFromHost,
  formatBytes,
  formatRate,
  hostVethOf,
  measureThroughput,
  reach,
  startEchoServer,
  tbfQdiscs,
} from '../demo/probe.ts';
import { ifbName } from '../plugins/bandwidth/names.ts';
import { KUBENET_NETWORK } from '../node/kubenet-config.ts';
import { runCmd, runningPids, stopAllProcesses, which } from '../demo/proc.ts';
import type { DemoNode, DemoOptions, DemoPod } from '../demo/types.ts';

const HELP = `usage: wasm-cni demo [options]

Builds a throw-away kubenet node on this machine, runs three pods in network namespaces, shows them talking
(pod to pod, a hostPort from the host, a bandwidth-limited pod measured with iperf3), prints \`pod status\`,
then tears everything down and checks that nothing is left. Needs root.

options:
  --pod-cidr CIDR     pod CIDR of the demo node (default 10.200.130.0/24; must not be in use on this machine)
  --bridge NAME       the node bridge (default wcdemo0; kubenet's own is cbr0); pods' namespaces are NAME-<pod>
  --host-port PORT    the hostPort the web pod publishes (default: 30080, or a free port when taken)
  --shape-seconds N   iperf3 seconds per direction for the shaped pod (default 2)
  -h, --help          this text
`;

const ECHO_PORT = 8080;
const IPERF_PORT = 5201;
const INGRESS = '10M';
const EGRESS = '20M';

class UsageError extends Error {}

function parseArgs(argv: string[]): Partial<DemoOptions> | 'help' {
  const o: Partial<DemoOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--pod-cidr':
        o.podCidr = value();
        break;
      case '--bridge':
        o.bridge = value();
        break;
      case '--host-port':
        o.hostPort = Number(value());
        if (!Number.isInteger(o.hostPort) || o.hostPort < 1 || o.hostPort > 65535)
          throw new UsageError('--host-port must be 1..65535');
        break;
      case '--shape-seconds':
        o.shapeSeconds = Number(value());
        if (!(o.shapeSeconds >= 1 && o.shapeSeconds <= 30)) throw new UsageError('--shape-seconds must be 1..30');
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  return o;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

async function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Refuses to run where the demo would touch something that is not its own. */
async function preflight(o: DemoOptions, cidr: Cidr): Promise<string[]> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('needs root (network namespaces, bridges, iptables)');
  for (const [what, path] of [
    ['Wasm core', coreWasmPath],
    ['N-API addon', addonPath],
    ['CNI executables', join(cniBinDir, 'bridge')],
  ] as const) {
    if (!existsSync(path)) problems.push(`${what} missing (${path}): run \`bash build.sh\``);
  }
  for (const tool of ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'iperf3']) {
    if (!which(tool)) problems.push(`${tool} not installed: run \`bash scripts/setup.sh\``);
  }
  if (!isValidLinkName(o.bridge))
    problems.push(
      `--bridge ${JSON.stringify(o.bridge)} is not a valid interface name (1-15 bytes, no spaces, '/' or ':')`,
    );
  if (cidr.family !== 4 || cidr.prefix > 28)
    problems.push(`--pod-cidr must be an IPv4 CIDR of /28 or larger, got ${o.podCidr}`);
  const link = await runCmd('ip', ['link', 'show', o.bridge]);
  if (link.code === 0)
    problems.push(
      `a link named ${o.bridge} already exists (a previous demo? remove it with \`ip link delete ${o.bridge}\`) or pick --bridge`,
    );
  const routes = await runCmd('ip', ['-4', 'route', 'show', 'table', 'all']);
  const clash = routes.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((d) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(d))
    .filter((d) => {
      const c = Cidr.parse(d);
      return c.prefix > 0 && c.overlaps(cidr);
    });
  if (clash.length)
    problems.push(
      `pod CIDR ${o.podCidr} overlaps networks on this machine (${clash.join(', ')}): pick another --pod-cidr`,
    );
  const ns = await runCmd('ip', ['netns', 'list']);
  const stale = ns.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(o.netnsPrefix));
  if (stale.length)
    problems.push(
      `network namespaces of a previous demo exist (${stale.join(', ')}): remove them with \`ip netns delete NAME\``,
    );
  return problems;
}

function makePod(o: DemoOptions, name: string, extra: Partial<DemoPod> = {}): DemoPod {
  const netnsName = `${o.netnsPrefix}${name}`;
  return {
    namespace: 'demo',
    name,
    netnsName,
    netnsPath: `/var/run/netns/${netnsName}`,
    sandboxId: `${o.netnsPrefix}${name}-${randomBytes(6).toString('hex')}`,
    ports: [],
    annotations: {},
    ...extra,
  };
}

/** Everything one run of the demo knows: its options, pods, node and the baseline it must return the machine to. */
interface DemoRun {
  o: DemoOptions;
  cidr: Cidr;
  pods: DemoPod[];
  footprint: DemoFootprint;
  before: NodeSnapshot;
  sysctlsBefore: SysctlValues;
  node: DemoNode | null;
  podsUp: Set<DemoPod>;
  /** Links the pods put on the bridge (the leftover check's names). */
  podLinks: Set<string>;
  started: number;
  /** The signal that interrupted the run, if one did. */
  interrupted?: NodeJS.Signals;
}

export async function run(argv: string[]): Promise<number> {
  const options = await resolveOptions(argv);
  if (typeof options === 'number') return options;
  const { o, cidr } = options;
  const problems = await preflight(o, cidr);
  if (problems.length) {
    process.stderr.write(`wasm-cni demo: cannot run here:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
  const r = await prepareRun(o, cidr);
  const stopListening = onInterrupt(r);
  try {
    for (const stage of [showNode, showPods, showPodToPod, showHostPort, showShaping, showStatus, teardown]) {
      if (r.interrupted) throw new DemoFailure('interrupted');
      await stage(r);
    }
    process.stdout.write(`\n${bold('demo passed')} in ${formatMs(performance.now() - r.started)}\n`);
    return 0;
  } catch (e) {
    if (r.interrupted) return 130; // onInterrupt reports and exits
    if (!(e instanceof DemoFailure)) fail(errorMessage(e));
    process.stdout.write(`\n${bold('demo FAILED')}: cleaning up\n`);
    return 1;
  } finally {
    if (!r.interrupted) await cleanup(r);
    stopListening();
  }
}

/** The options from argv with their defaults, or the exit code when there is nothing to run (help, usage error). */
async function resolveOptions(argv: string[]): Promise<{ o: DemoOptions; cidr: Cidr } | number> {
  let parsed: Partial<DemoOptions> | 'help';
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`wasm-cni demo: ${e.message}\n${HELP}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const podCidr = parsed.podCidr ?? '10.200.130.0/24';
  let cidr: Cidr;
  try {
    cidr = Cidr.parse(podCidr);
  } catch (e) {
    process.stderr.write(`wasm-cni demo: --pod-cidr: ${errorMessage(e)}\n`);
    return 2;
  }
  const bridge = parsed.bridge ?? 'wcdemo0';
  const o: DemoOptions = {
    podCidr: `${cidr.network}/${cidr.prefix}`,
    bridge,
    hostPort: parsed.hostPort ?? ((await portFree(30080)) ? 30080 : await anyFreePort()),
    shapeSeconds: parsed.shapeSeconds ?? 2,
    stateDir: '',
    netnsPrefix: `${bridge}-`,
  };
  return { o, cidr };
}

/** The state dir, the three pods, and the baseline of the machine before the demo touches it. */
async function prepareRun(o: DemoOptions, cidr: Cidr): Promise<DemoRun> {
  o.stateDir = mkdtempSync(join(tmpdir(), 'wasm-cni-demo-'));
  const pods = [
    makePod(o, 'web', { ports: [{ hostPort: o.hostPort, containerPort: ECHO_PORT, protocol: 'tcp' }] }),
    makePod(o, 'client'),
    makePod(o, 'shaped', {
      annotations: { 'kubernetes.io/ingress-bandwidth': INGRESS, 'kubernetes.io/egress-bandwidth': EGRESS },
    }),
  ];
  const footprint: DemoFootprint = {
    netnsPrefix: o.netnsPrefix,
    bridge: o.bridge,
    podCidr: o.podCidr,
    podAddressPrefix: `${[...ipToBytes(cidr.network)].slice(0, cidr.prefix >= 24 ? 3 : 2).join('.')}.`,
    containerIds: pods.map((p) => p.sandboxId),
    stateDir: o.stateDir,
    podAddresses: [],
  };
  return {
    o,
    cidr,
    pods,
    footprint,
    before: await snapshot(),
    sysctlsBefore: readNodeSysctls(),
    node: null,
    podsUp: new Set(),
    podLinks: new Set(),
    started: performance.now(),
  };
}

/** Ctrl-C (SIGINT) or SIGTERM: stop every process, clean up, say so, exit 130. Returns the unsubscribe. */
function onInterrupt(r: DemoRun): () => void {
  const handler = (sig: NodeJS.Signals) => {
    r.interrupted = sig;
    process.stdout.write(`\n${sig}: demo interrupted, cleaning up…\n`);
    void cleanup(r)
      .then(() => process.stdout.write(`${bold('demo interrupted')} (${sig}): everything it made is removed\n`))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

let cleaning: Promise<void> | undefined;

/** Removes everything of the run, whatever state it got to (idempotent; concurrent calls share one pass). */
function cleanup(r: DemoRun): Promise<void> {
  cleaning ??= (async () => {
    await stopAllProcesses();
    for (const p of r.podsUp) {
      try {
        await r.node?.down(p);
      } catch {
        /* swept below */
      }
    }
    try {
      await r.node?.shutdown();
    } catch {
      /* swept below */
    }
    await sweep(r.o, r.pods, r.before);
    restoreNodeSysctls(r.sysctlsBefore);
  })();
  return cleaning;
}

async function showNode(r: DemoRun): Promise<void> {
  title(
    'wasm-cni demo: a kubenet node with three pods',
    `pod CIDR ${r.o.podCidr}, bridge ${r.o.bridge}, namespaces ${r.o.netnsPrefix}*, state in ${r.o.stateDir}`,
  );
  section('Node');
  r.node = await step(
    (n: DemoNode) => `kubenet ready: ${n.summary}`,
    () => startNode(r.o, r.pods),
  );
}

async function showPods(r: DemoRun): Promise<void> {
  section('Pods');
  for (const pod of r.pods) {
    createNamedNetns(pod.netnsName);
    await step(
      () => {
        const extras = [
          ...pod.ports.map((p) => `hostPort ${p.hostPort} → ${p.containerPort}/${p.protocol}`),
          ...Object.entries(pod.annotations).map(([k, v]) => `${k.replace('kubernetes.io/', '')} ${v}`),
        ];
        return `${pod.namespace}/${pod.name.padEnd(7)} ${(pod.ip ?? '').padEnd(15)} netns ${pod.netnsName}${extras.length ? `  [${extras.join(', ')}]` : ''}`;
      },
      async () => {
        const ips = await r.node!.up(pod);
        r.podsUp.add(pod);
        pod.ip = ips[0];
        if (pod.ip) r.footprint.podAddresses.push(pod.ip);
        if (!pod.ip || !r.cidr.contains(pod.ip))
          throw new Error(`pod ${pod.name} got ${ips.join(', ') || 'no address'}, not in ${r.o.podCidr}`);
      },
    );
    await startEchoServer(pod.netnsName, ECHO_PORT, pod.name);
  }
  r.podLinks = new Set(await linksOnBridge(r.o.bridge));
}

async function showPodToPod(r: DemoRun): Promise<void> {
  section('Pod to pod');
  for (const from of r.pods) {
    for (const to of r.pods) {
      if (from === to) continue;
      const res = await reach(from.netnsName, to.ip!, ECHO_PORT);
      if (!res.ok) {
        fail(`${from.name} → ${to.name} (${to.ip}): ${res.detail}`);
        throw new DemoFailure('pod-to-pod traffic failed');
      }
      ok(`${from.name.padEnd(7)} → ${to.name.padEnd(7)} ${to.ip!.padEnd(15)} ${res.detail}`);
    }
  }
  const tcp = await reach(r.pods[1]!.netnsName, r.pods[0]!.ip!, ECHO_PORT, 'tcp');
  if (!tcp.ok) {
    fail(`client → web:${ECHO_PORT}: ${tcp.detail}`);
    throw new DemoFailure('pod-to-pod TCP failed');
  }
  ok(`client  → web:${ECHO_PORT}    ${tcp.detail.replace(/^tcp: /, 'tcp "')}"`);
}

async function showHostPort(r: DemoRun): Promise<void> {
  section('hostPort');
  const web = r.pods[0]!;
  const gateway = Cidr.parse(r.o.podCidr).nth(1);
  for (const host of ['127.0.0.1', gateway]) {
    await step(
      (answer: string) => `host → ${host}:${r.o.hostPort}  "${answer}"`,
      async () => {
        const answer = await askFromHost(host, r.o.hostPort);
        if (!answer.startsWith(`hello from ${web.name}`)) throw new Error(`host → ${host}:${r.o.hostPort}: ${answer}`);
        return answer;
      },
    );
  }
}

async function showShaping(r: DemoRun): Promise<void> {
  section('Traffic shaping');
  const [web, client, shaped] = [r.pods[0]!, r.pods[1]!, r.pods[2]!];
  note(
    `${shaped.name} has kubernetes.io/ingress-bandwidth=${INGRESS}, egress-bandwidth=${EGRESS}; iperf3 for ${r.o.shapeSeconds} s each way`,
  );
  // Ingress (to the pod) is a tbf on the pod's host veth, egress (from the pod) a tbf on its ifb.
  const ingressDev = await hostVethOf(shaped.netnsName);
  const egressDev = ifbName(KUBENET_NETWORK, shaped.sandboxId);
  const qdiscs = await tbfQdiscs([ingressDev, egressDev]);
  const limits: Array<[string, DemoPod, DemoPod, number, string]> = [
    ['into', client, shaped, parseBandwidthQuantity(INGRESS), ingressDev],
    ['out of', shaped, client, parseBandwidthQuantity(EGRESS), egressDev],
  ];
  for (const [dir, from, to, limit, dev] of limits) {
    const q = qdiscs.get(dev);
    if (!q) {
      fail(`no tbf qdisc on ${dev}`);
      throw new DemoFailure('shaping not applied');
    }
    await measureShaped(r, { dir, from, to, limit, dev, burst: q.burst, rate: q.rate }, shaped);
  }
  const unshaped = await measureThroughput(web.netnsName, client.netnsName, client.ip!, IPERF_PORT, 1);
  ok(`for comparison, ${web.name} → ${client.name} (no limit): ${formatRate(unshaped.bitsPerSecond)}`);
}

interface ShapedPath {
  dir: string;
  from: DemoPod;
  to: DemoPod;
  limit: number;
  dev: string;
  burst: number;
  rate: number;
}

/** One direction of the shaped pod measured with iperf3, and checked against its limit. */
async function measureShaped(r: DemoRun, p: ShapedPath, shaped: DemoPod): Promise<void> {
  // A bucket that holds more than a fraction of a second at the limit would let a short test run at line
  // speed: send the bucket's worth first (the kubelet asks for a 2^31-bit "unlimited" burst).
  const drain = p.burst > (p.limit / 8) * 0.25 ? Math.ceil(p.burst * 1.05) : 0;
  if (drain)
    note(
      `${p.dev}: tbf rate ${formatRate(p.rate * 8)}, burst ${formatBytes(p.burst)} (the kubelet's "unlimited" burst): sending the burst first, then measuring`,
    );
  await step(
    (t: { bitsPerSecond: number; drainSeconds?: number }) =>
      `${p.dir.padEnd(6)} ${shaped.name}: ${formatRate(t.bitsPerSecond)} (limit ${formatRate(p.limit)}, ${Math.round((t.bitsPerSecond / p.limit) * 100)} %)` +
      (t.drainSeconds !== undefined
        ? `, after the ${formatBytes(p.burst)} burst went through in ${t.drainSeconds.toFixed(1)} s`
        : ''),
    async () => {
      const t = await measureThroughput(
        p.from.netnsName,
        p.to.netnsName,
        p.to.ip!,
        IPERF_PORT,
        r.o.shapeSeconds,
        drain,
      );
      if (t.bitsPerSecond > p.limit * 1.25)
        throw new Error(`${formatRate(t.bitsPerSecond)} is above the ${formatRate(p.limit)} limit`);
      if (t.bitsPerSecond < p.limit * 0.5)
        throw new Error(`${formatRate(t.bitsPerSecond)} is far below the ${formatRate(p.limit)} limit`);
      return t;
    },
  );
}

async function showStatus(r: DemoRun): Promise<void> {
  section('wasm-cni pod status');
  block(await r.node!.statusTable(r.pods));
}

/** Pods down, node down, then the proof that nothing of the demo is left (processes included). */
async function teardown(r: DemoRun): Promise<void> {
  section('Teardown');
  await stopAllProcesses();
  for (const pod of r.pods) {
    await step(`pod down: ${pod.namespace}/${pod.name}`, async () => {
      await r.node!.down(pod);
      r.podsUp.delete(pod);
      removeNamedNetns(pod.netnsName);
    });
  }
  await step(`node down: bridge ${r.o.bridge}, de-dup rules, hostport chains, state dir`, async () => {
    await r.node!.shutdown();
    await removeSharedChainsIfUnused(r.before);
    await removeNewEmptyNftTables(r.before);
    rmSync(r.o.stateDir, { recursive: true, force: true });
    const restored = restoreNodeSysctls(r.sysctlsBefore);
    if (restored.length) note(`restored ${restored.join(', ')} to their values before the demo`);
  });
  const left = await leftovers(r.before, r.footprint, (l) => r.podLinks.has(l) || l.startsWith('bwp'), runningPids());
  if (leftoverCount(left) > 0) {
    fail(`left behind: ${JSON.stringify(left)}`);
    throw new DemoFailure('teardown left state behind');
  }
  ok('nothing left: no process, netns, links, nat rules, nft tables or state files of the demo');
}

/** Removes by name whatever the demo made, whether or not the teardown ran (idempotent). */
async function sweep(o: DemoOptions, pods: DemoPod[], before: NodeSnapshot): Promise<void> {
  for (const p of pods) {
    try {
      removeNamedNetns(p.netnsName);
    } catch {
      /* gone */
    }
  }
  for (const l of await linksOnBridge(o.bridge)) await runCmd('ip', ['link', 'delete', l]);
  if (!before.links.has(o.bridge)) await runCmd('ip', ['link', 'delete', o.bridge]);
  await removeSharedChainsIfUnused(before);
  await removeNewEmptyNftTables(before);
  if (o.stateDir) rmSync(o.stateDir, { recursive: true, force: true });
}

async function linksOnBridge(bridge: string): Promise<string[]> {
  const r = await runCmd('ip', ['-o', 'link', 'show', 'master', bridge]);
  return r.stdout
    .split('\n')
    .map((x) => x.split(': ')[1]?.split('@')[0])
    .filter((x): x is string => !!x);
}

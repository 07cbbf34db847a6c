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
import { runCmd, stopAllServers, which } from '../demo/proc.ts';
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

export async function run(argv: string[]): Promise<number> {
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

  const started = performance.now();
  const podCidr = parsed.podCidr ?? '10.200.130.0/24';
  let cidr: Cidr;
  try {
    cidr = Cidr.parse(podCidr);
  } catch (e) {
    process.stderr.write(`wasm-cni demo: --pod-cidr: ${errorMessage(e)}\n`);
    return 2;
  }
  const o: DemoOptions = {
    podCidr: `${cidr.network}/${cidr.prefix}`,
    bridge: parsed.bridge ?? 'wcdemo0',
    hostPort: parsed.hostPort ?? ((await portFree(30080)) ? 30080 : await anyFreePort()),
    shapeSeconds: parsed.shapeSeconds ?? 2,
    stateDir: '',
    netnsPrefix: '',
  };
  o.netnsPrefix = `${o.bridge}-`;
  const problems = await preflight(o, cidr);
  if (problems.length) {
    process.stderr.write(`wasm-cni demo: cannot run here:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 2;
  }
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
  };
  const before = await snapshot();
  const sysctlsBefore = readNodeSysctls();
  let node: DemoNode | null = null;
  const podsUp = new Set<DemoPod>();

  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await stopAllServers();
    for (const p of podsUp) {
      try {
        await node?.down(p);
      } catch {
        /* swept below */
      }
    }
    try {
      await node?.shutdown();
    } catch {
      /* swept below */
    }
    await sweep(o, pods, before);
    restoreNodeSysctls(sysctlsBefore);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stdout.write(`\n${sig}: cleaning up…\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    title(
      'wasm-cni demo: a kubenet node with three pods',
      `pod CIDR ${o.podCidr}, bridge ${o.bridge}, namespaces ${o.netnsPrefix}*, state in ${o.stateDir}`,
    );

    section('Node');
    node = await step(
      (n: DemoNode) => `kubenet ready: ${n.summary}`,
      () => startNode(o, pods),
    );

    section('Pods');
    for (const pod of pods) {
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
          const ips = await node!.up(pod);
          podsUp.add(pod);
          pod.ip = ips[0];
          if (!pod.ip || !cidr.contains(pod.ip))
            throw new Error(`pod ${pod.name} got ${ips.join(', ') || 'no address'}, not in ${o.podCidr}`);
        },
      );
      await startEchoServer(pod.netnsName, ECHO_PORT, pod.name);
    }

    const podLinks = new Set(await linksOnBridge(o.bridge));

    section('Pod to pod');
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        const r = await reach(from.netnsName, to.ip!, ECHO_PORT);
        if (!r.ok) {
          fail(`${from.name} → ${to.name} (${to.ip}): ${r.detail}`);
          throw new DemoFailure('pod-to-pod traffic failed');
        }
        ok(`${from.name.padEnd(7)} → ${to.name.padEnd(7)} ${to.ip!.padEnd(15)} ${r.detail}`);
      }
    }

    const tcp = await reach(pods[1]!.netnsName, pods[0]!.ip!, ECHO_PORT, 'tcp');
    if (!tcp.ok) {
      fail(`client → web:${ECHO_PORT}: ${tcp.detail}`);
      throw new DemoFailure('pod-to-pod TCP failed');
    }
    ok(`client  → web:${ECHO_PORT}    ${tcp.detail.replace(/^tcp: /, 'tcp "')}"`);

    section('hostPort');
    const web = pods[0]!;
    const gateway = Cidr.parse(o.podCidr).nth(1);
    for (const host of ['127.0.0.1', gateway]) {
      await step(
        (answer: string) => `host → ${host}:${o.hostPort}  "${answer}"`,
        async () => {
          const answer = await askFromHost(host, o.hostPort);
          if (!answer.startsWith(`hello from ${web.name}`)) throw new Error(`host → ${host}:${o.hostPort}: ${answer}`);
          return answer;
        },
      );
    }

    section('Traffic shaping');
    const [client, shaped] = [pods[1]!, pods[2]!];
    note(
      `${shaped.name} has kubernetes.io/ingress-bandwidth=${INGRESS}, egress-bandwidth=${EGRESS}; iperf3 for ${o.shapeSeconds} s each way`,
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
      // A bucket that holds more than a fraction of a second at the limit would let a short test run at line
      // speed: send the bucket's worth first (the kubelet asks for a 2^31-bit "unlimited" burst).
      const drain = q.burst > (limit / 8) * 0.25 ? Math.ceil(q.burst * 1.05) : 0;
      if (drain)
        note(
          `${dev}: tbf rate ${formatRate(q.rate * 8)}, burst ${formatBytes(q.burst)} (the kubelet's "unlimited" burst): sending the burst first, then measuring`,
        );
      await step(
        (t: { bitsPerSecond: number; drainSeconds?: number }) =>
          `${dir.padEnd(6)} ${shaped.name}: ${formatRate(t.bitsPerSecond)} (limit ${formatRate(limit)}, ${Math.round((t.bitsPerSecond / limit) * 100)} %)` +
          (t.drainSeconds !== undefined
            ? `, after the ${formatBytes(q.burst)} burst went through in ${t.drainSeconds.toFixed(1)} s`
            : ''),
        async () => {
          const t = await measureThroughput(from.netnsName, to.netnsName, to.ip!, IPERF_PORT, o.shapeSeconds, drain);
          if (t.bitsPerSecond > limit * 1.25)
            throw new Error(`${formatRate(t.bitsPerSecond)} is above the ${formatRate(limit)} limit`);
          if (t.bitsPerSecond < limit * 0.5)
            throw new Error(`${formatRate(t.bitsPerSecond)} is far below the ${formatRate(limit)} limit`);
          return t;
        },
      );
    }
    const unshaped = await measureThroughput(web.netnsName, client.netnsName, client.ip!, IPERF_PORT, 1);
    ok(`for comparison, ${web.name} → ${client.name} (no limit): ${formatRate(unshaped.bitsPerSecond)}`);

    section('wasm-cni pod status');
    block(await node.statusTable(pods));

    section('Teardown');
    await stopAllServers();
    for (const pod of pods) {
      await step(`pod down: ${pod.namespace}/${pod.name}`, async () => {
        await node!.down(pod);
        podsUp.delete(pod);
        removeNamedNetns(pod.netnsName);
      });
    }
    await step(`node down: bridge ${o.bridge}, de-dup rules, hostport chains, state dir`, async () => {
      await node!.shutdown();
      await removeSharedChainsIfUnused(before);
      await removeNewEmptyNftTables(before);
      rmSync(o.stateDir, { recursive: true, force: true });
      const restored = restoreNodeSysctls(sysctlsBefore);
      if (restored.length) note(`restored ${restored.join(', ')} to their values before the demo`);
    });
    const left = await leftovers(before, footprint, (l) => podLinks.has(l) || l.startsWith('bwp'));
    if (leftoverCount(left) > 0) {
      fail(`left behind: ${JSON.stringify(left)}`);
      throw new DemoFailure('teardown left state behind');
    }
    ok('nothing left: no netns, links, nat rules, nft tables or state files of the demo');
    process.stdout.write(`\n${bold('demo passed')} in ${formatMs(performance.now() - started)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof DemoFailure)) fail(errorMessage(e));
    process.stdout.write(`\n${bold('demo FAILED')}: cleaning up\n`);
    return 1;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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

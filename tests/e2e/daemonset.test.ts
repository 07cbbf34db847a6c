// deploy/daemonset.yaml run for real, without a cluster or a registry: the image is the tree deploy/Dockerfile
// describes (this machine's node and our build/), the init container and the daemon run with podman exactly as
// the manifest says (host network, host PID, privileged, its hostPath volumes and mounts, read from the YAML),
// and containerd's CRI (Debian's containerd 1.6, a private instance in its own mount namespace) starts pods
// on the host through the plugin dir the init container wrote.
//   Phase 1: the calls are served by the containerized daemon, which shares neither mount namespace nor /run
//   with containerd: the netns paths, the IPAM dataDir and libcni's cache exist only in containerd's view.
//   Phase 1b: the same, the daemon container restarted from the same spec with the narrower securityContext the
//   manifest documents in a comment (not privileged: those capabilities only, the runtime's default seccomp
//   profile, /proc/sys and /sys read-only).
//   Phase 2: the daemon container is gone and Node.js is hidden in containerd's mount namespace: the
//   executables' cold path must run from what `install` put beside them.
// Pods get addresses, ping their gateway, answer on a hostPort, are shaped; stopping and removing them leaves
// nothing. Subnet 10.200.185.0/24; every name carries the sandbox prefix; all paths are private temp dirs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../_lib/sandbox.ts';
import { run, sh } from '../_lib/run.ts';
import { askTcpFromHost, natSave, removeUnusedHostportChains, startResponder, freePort } from '../_lib/firewall.ts';
import {
  effectiveCaps,
  podmanRunPlan,
  prepareHostPaths,
  readCommentedSecurityContext,
  readDaemonSet,
  relocated,
  type ContainerSpec,
  type DaemonSetPod,
  type SecurityContext,
} from '../_lib/daemonset-manifest.ts';
import {
  applyCopies,
  copyWithLibraries,
  ociImageTarball,
  readDockerfile,
  skeleton,
  type Dockerfile,
} from '../_lib/rootfs.ts';
import { CriRuntime, type PodSandboxConfig } from '../_lib/cri/client.ts';
import { readySandbox, type HostPortPod } from '../_lib/cri/sandbox.ts';
import { containerdMissing, PrivateContainerd } from '../_lib/cri/containerd.ts';
import { cliEntryPath, cniBinDir, projectRoot } from '../../host/paths.ts';
import { ifbName } from '../../host/plugins/bandwidth/names.ts';
import { PrivatePodman, podmanMissing, BUSYBOX } from './podman-kit.ts';

const test = suite('e2e: the DaemonSet as shipped (podman + containerd CRI)');

const MANIFEST = join(projectRoot, 'deploy', 'daemonset.yaml');
const DOCKERFILE = join(projectRoot, 'deploy', 'Dockerfile');
const SUBNET = '10.200.185.0/24';
const GATEWAY = '10.200.185.1';
const CONTAINER_PORT = 8080;
const INGRESS = '10M';
const EGRESS = '20M';
const GUARD_MS = 12 * 60_000;
/**
 * What the daemon uses of deploy/Dockerfile's base image (node:20-bookworm-slim), at the path it has there: node
 * alone (the daemon starts the host's firewall tools in the caller's namespaces itself, with no nsenter).
 */
const BASE_IMAGE_TOOLS: Record<string, string> = {
  '/usr/local/bin/node': process.execPath,
};
const PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth'];

type RunningPod = HostPortPod;

interface Ctx {
  sb: Sandbox;
  pod: DaemonSetPod;
  df: Dockerfile;
  init: ContainerSpec;
  daemon: ContainerSpec;
  narrower: SecurityContext;
  hostRoot: string;
  rootfs: string;
  pm: PrivatePodman;
  daemonName: string;
  hostSocket: string;
  pluginDir: string;
  confDir: string;
  netName: string;
  bridge: string;
  ipamDir: string;
  pauseImage: string;
  pauseTar: string;
  ctrd: PrivateContainerd | null;
  cri: CriRuntime | null;
  pods: RunningPod[];
  served0: DaemonCounts;
  guard: NodeJS.Timeout;
}
const ctx = { pods: [] as RunningPod[], ctrd: null, cri: null } as unknown as Ctx;

interface DaemonCounts {
  served: number;
  rejected: number;
  calls: Array<{ plugin: string; command: string; calls: number; errors: number }>;
}

async function daemonCounts(): Promise<DaemonCounts> {
  const out = await sh('node', [cliEntryPath, 'daemon', 'status', '--socket', ctx.hostSocket, '--json']);
  return JSON.parse(out) as DaemonCounts;
}

function callsOf(c: DaemonCounts, plugin: string, command: string): number {
  return c.calls.find((x) => x.plugin === plugin && x.command === command)?.calls ?? 0;
}

async function hardNofile(): Promise<number> {
  const r = await run('sh', ['-c', 'ulimit -Hn']);
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1048576) : 1048576;
}

/** `podman run` of one of the manifest's containers from the assembled root filesystem. */
function podmanRun(c: ContainerSpec, name: string, detach: boolean): Promise<string> {
  const plan = podmanRunPlan(ctx.pod, c, ctx.hostRoot, name, ctx.df.entrypoint, ctx.df.env);
  return ctx.pm.podmanOk(['run', detach ? '-d' : '--rm', ...plan.options, '--rootfs', ctx.rootfs, ...plan.command]);
}

async function startContainerd(hideNode: boolean): Promise<void> {
  const ctrd = new PrivateContainerd({
    dir: ctx.sb.dir(hideNode ? 'ctrd-nonode' : 'ctrd'),
    cniBinDir: ctx.pluginDir,
    cniConfDir: ctx.confDir,
    sandboxImage: ctx.pauseImage,
    // The executables find the daemon where a node's executables do: /run/wasm-cni/wasm-cni.sock.
    runBinds: { '/run/wasm-cni': relocated(ctx.hostRoot, '/run/wasm-cni') },
    hideNode,
    path: '/usr/sbin:/usr/bin:/sbin:/bin',
  });
  ctx.ctrd = ctrd;
  // host-local's dataDir is under containerd's private /run: the reservations exist only in the caller's view.
  ctx.ipamDir = join(ctrd.opts.dir, 'run', `${ctx.sb.prefix}-ipam`);
  await ctrd.start();
  await ctrd.importImage(ctx.pauseTar);
  ctx.cri = new CriRuntime(ctrd.socket);
}

async function stopContainerd(): Promise<void> {
  ctx.cri?.close();
  ctx.cri = null;
  await ctx.ctrd?.stop();
  ctx.ctrd = null;
}

function podConfig(name: string, hostPort: number): PodSandboxConfig {
  return {
    metadata: { name, uid: `${name}-uid`, namespace: 'default', attempt: 0 },
    hostname: name,
    port_mappings: [{ protocol: 'TCP', container_port: CONTAINER_PORT, host_port: hostPort }],
    annotations: { 'kubernetes.io/ingress-bandwidth': INGRESS, 'kubernetes.io/egress-bandwidth': EGRESS },
    // Our own cgroup parent (cgroupfs), removed at the end; containerd's default would be /k8s.io.
    linux: { cgroup_parent: cgroupParent() },
  };
}

/** Runs a pod sandbox and reads back what the runtime and the kernel say about it. */
async function startPod(name: string, hostPort: number): Promise<RunningPod> {
  const cri = ctx.cri!;
  const id = await cri.runPodSandbox(podConfig(name, hostPort));
  const pod: RunningPod = {
    id,
    name,
    ip: '',
    pid: 0,
    netnsPath: '',
    hostVeth: '',
    alias: `${ctx.sb.prefix}-${name.slice(-2)}`,
    hostPort,
    responder: null,
  };
  ctx.pods.push(pod);
  return Object.assign(pod, await readySandbox(cri, id, pod.alias));
}

/**
 * Stops what the installed executables started from the plugin dir (a daemon started on demand, in
 * containerd's mount namespace): every process whose command line names a path under `dir`.
 */
async function stopProcessesRunningFrom(dir: string): Promise<void> {
  const pids = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`${dir}/`);
        } catch {
          return false;
        }
      })
      .map(Number);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        /* gone */
      }
    }
    for (let i = 0; i < 50 && pids().length; i++) await new Promise((r) => setTimeout(r, 100));
  }
}

function cgroupParent(): string {
  return `/${ctx.sb.prefix}-pods`;
}

/** The pod cgroup parent in every mounted hierarchy (v1 controllers and the unified one). */
function cgroupParentDirs(): string[] {
  const root = '/sys/fs/cgroup';
  const dirs = [join(root, cgroupParent())];
  for (const h of readdirSync(root)) dirs.push(join(root, h, cgroupParent()));
  return dirs.filter((d) => existsSync(d));
}

/** A path as containerd sees it. /var/run is an absolute symlink, which would resolve in our root, not its. */
function inRuntimeView(path: string): string {
  return ctx.ctrd!.inView(path.replace(/^\/var\/run\//, '/run/'));
}

async function podsOnBridge(): Promise<string[]> {
  const r = await run('ip', ['-o', 'link', 'show', 'master', ctx.bridge]);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1]!.split('@')[0]!);
}

function leases(): string[] {
  const dir = join(ctx.ipamDir, ctx.netName);
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

async function checkPodsWork(pods: RunningPod[]): Promise<void> {
  const ips = new Set<string>();
  for (const p of pods) {
    assert.match(p.ip, /^10\.200\.185\.\d+$/, `${p.name} got an address from ${SUBNET}`);
    ips.add(p.ip);
    assert.ok(p.netnsPath.startsWith('/var/run/netns/'), `netns path ${p.netnsPath}`);
    // The netns exists in containerd's mount namespace only: seen through its root, it is the pod's netns.
    const viaRuntime = statSync(inRuntimeView(p.netnsPath));
    const viaPid = statSync(`/proc/${p.pid}/ns/net`);
    assert.is(viaRuntime.ino, viaPid.ino, 'the sandbox netns path names the pod process netns');
    assert.not.ok(existsSync(p.netnsPath), 'the netns path is not in the host mount namespace');
    const addr = await sh('ip', ['-n', p.alias, '-4', '-o', 'addr', 'show', 'eth0']);
    assert.match(addr, new RegExp(`inet ${p.ip.replace(/\./g, '\\.')}/24`));
    const ping = await run('ip', ['netns', 'exec', p.alias, 'ping', '-c', '1', '-W', '2', GATEWAY]);
    assert.is(ping.code, 0, `${p.name} pings its gateway: ${ping.stdout}${ping.stderr}`);
    // Shaping: tbf on the host veth (ingress into the pod), an ingress qdisc redirecting to an ifb (egress).
    assert.ok(p.hostVeth, `the CNI result names the host veth of ${p.name}`);
    const qdiscs = await sh('tc', ['qdisc', 'show', 'dev', p.hostVeth]);
    assert.match(qdiscs, /qdisc tbf /, `tbf on ${p.hostVeth}: ${qdiscs}`);
    assert.match(qdiscs, /qdisc ingress /, `ingress qdisc on ${p.hostVeth}: ${qdiscs}`);
    const ifbQdiscs = await sh('tc', ['qdisc', 'show', 'dev', ifbName(ctx.netName, p.id)]);
    assert.match(ifbQdiscs, /qdisc tbf /, `egress tbf on ${ifbName(ctx.netName, p.id)}: ${ifbQdiscs}`);
    // hostPort: a responder in the pod netns answers on the host's address through portmap's DNAT.
    p.responder = await startResponder(p.alias, CONTAINER_PORT, p.name);
    for (const host of [GATEWAY, '127.0.0.1']) {
      let answer = '';
      for (let i = 0; i < 20 && !answer.includes(p.name); i++) {
        answer = await askTcpFromHost(host, p.hostPort);
        if (!answer.includes(p.name)) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(answer.includes(p.name), `${host}:${p.hostPort} answered by ${p.name}: ${answer}`);
    }
  }
  assert.is(ips.size, pods.length, 'distinct addresses');
  assert.is(leases().length, pods.length, 'one host-local reservation per pod');
  const onBridge = await podsOnBridge();
  for (const p of pods) assert.ok(onBridge.includes(p.hostVeth), `${p.hostVeth} on ${ctx.bridge}`);
}

/** StopPodSandbox + RemovePodSandbox for every pod, then checks that nothing of them is left. */
async function removePodsAndCheck(): Promise<void> {
  const pods = [...ctx.pods];
  assert.ok(pods.length > 0, 'pods were started');
  for (const p of pods) {
    p.responder?.kill('SIGKILL');
    await run('ip', ['netns', 'delete', p.alias]);
    await ctx.cri!.stopPodSandbox(p.id);
    await ctx.cri!.removePodSandbox(p.id);
    ctx.pods.splice(ctx.pods.indexOf(p), 1);
  }
  assert.equal(await podsOnBridge(), [], 'no veth left on the bridge');
  for (const p of pods) {
    const link = await run('ip', ['link', 'show', p.hostVeth]);
    assert.is.not(link.code, 0, `${p.hostVeth} removed`);
    assert.not.ok(existsSync(inRuntimeView(p.netnsPath)), `${p.netnsPath} removed`);
  }
  assert.equal(leases(), [], 'host-local released every address');
  for (const p of pods) {
    const ifb = await run('ip', ['link', 'show', ifbName(ctx.netName, p.id)]);
    assert.is.not(ifb.code, 0, `ifb ${ifbName(ctx.netName, p.id)} removed`);
  }
  const nat = await natSave(4);
  const rules = nat.filter((l) =>
    pods.some((p) => l.includes(p.id) || l.includes(`${p.ip}/32`) || l.includes(`${p.ip}:`)),
  );
  assert.equal(rules, [], 'no nat rule for the pods');
  const cacheDir = join(ctx.ctrd!.opts.dir, 'var-lib-cni', 'results');
  const cache = existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => pods.some((p) => f.includes(p.id))) : [];
  assert.equal(cache, [], 'no libcni result cache entry left');
  for (const p of pods) assert.not.ok((await askTcpFromHost(GATEWAY, p.hostPort)).includes(p.name), 'port closed');
  const cgroups = cgroupParentDirs().flatMap((d) => readdirSync(d).filter((f) => pods.some((p) => f === p.id)));
  assert.equal(cgroups, [], 'no pod cgroup left');
}

/** Runs the daemon container from spec c, waits for its socket and liveness probe, and notes its counts. */
async function startDaemonContainer(c: ContainerSpec): Promise<void> {
  await podmanRun(c, ctx.daemonName, true);
  let probe = { code: -1, stdout: '', stderr: '' };
  for (let i = 0; i < 100 && probe.code !== 0; i++) {
    if (i) await new Promise((r) => setTimeout(r, 100));
    if (existsSync(ctx.hostSocket)) probe = await ctx.pm.podman(['exec', ctx.daemonName, ...c.livenessCommand!]);
  }
  assert.ok(existsSync(ctx.hostSocket), `socket ${ctx.hostSocket}`);
  assert.is(probe.code, 0, probe.stdout + probe.stderr);
  ctx.served0 = await daemonCounts();
}

/** Since startDaemonContainer: no call rejected, and each plugin's ADD and DEL served for `pods` pods. */
async function checkServedByDaemon(pods: number): Promise<void> {
  const now = await daemonCounts();
  const delta = (plugin: string, command: string) =>
    callsOf(now, plugin, command) - callsOf(ctx.served0, plugin, command);
  const log = async () => (await ctx.pm.podman(['logs', '--tail', '5', ctx.daemonName])).stderr.trim();
  assert.is(
    now.rejected - ctx.served0.rejected,
    0,
    `rejected calls (${JSON.stringify(now)}); daemon log:\n${await log()}`,
  );
  for (const plugin of ['loopback', 'bridge', 'portmap', 'bandwidth']) {
    assert.ok(delta(plugin, 'ADD') >= pods, `${plugin} ADD served by the daemon: ${JSON.stringify(now.calls)}`);
    assert.ok(delta(plugin, 'DEL') >= pods, `${plugin} DEL served by the daemon: ${JSON.stringify(now.calls)}`);
  }
}

/** Capability names by bit (linux/capability.h). */
const CAP_NAMES = (
  'CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE ' +
  'NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN ' +
  'SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE ' +
  'MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE'
).split(' ');

/** CapEff of a process as capability names (CAP_ prefix dropped), and its Seccomp mode (0 none, 2 filter). */
function processSecurity(pid: number): { caps: string[]; seccomp: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const eff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
  const caps: string[] = [];
  for (let bit = 0; bit < 64; bit++) if ((eff >> BigInt(bit)) & 1n) caps.push(CAP_NAMES[bit] ?? `bit ${bit}`);
  return { caps: caps.sort(), seccomp: Number(/^Seccomp:\s*(\d+)$/m.exec(status)![1]) };
}

function writeConflist(): void {
  const conflist = {
    cniVersion: '1.0.0',
    name: ctx.netName,
    plugins: [
      {
        type: 'bridge',
        bridge: ctx.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: `/run/${ctx.sb.prefix}-ipam`,
          routes: [{ dst: '0.0.0.0/0' }],
          ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
  writeFileSync(join(ctx.confDir, '10-test.conflist'), JSON.stringify(conflist, null, 2));
}

// uvu reports a failing hook only as "0 passed": say why.
test.before(() =>
  setUp().catch((e: Error) => {
    process.stderr.write(`daemonset e2e set-up failed: ${e.stack ?? e.message}\n`);
    throw e;
  }),
);

async function setUp(): Promise<void> {
  ctx.sb = new Sandbox();
  ctx.guard = setTimeout(() => {
    process.stderr.write(`daemonset e2e: no progress after ${GUARD_MS / 1000} s, cleaning up\n`);
    void ctx.sb.cleanup().finally(() => process.exit(1));
  }, GUARD_MS);
  for (const why of [await podmanMissing(), await containerdMissing()]) if (why) throw new Error(why);
  assert.ok(existsSync(join(cniBinDir, 'bridge')) && existsSync(cliEntryPath), 'run bash build.sh first');
  ctx.pod = readDaemonSet(MANIFEST);
  ctx.df = readDockerfile(DOCKERFILE);
  ctx.init = ctx.pod.initContainers.find((c) => c.args[0] === 'install')!;
  ctx.daemon = ctx.pod.containers.find((c) => c.args[0] === 'daemon')!;
  ctx.narrower = readCommentedSecurityContext(MANIFEST);
  ctx.hostRoot = ctx.sb.dir('host');
  prepareHostPaths(ctx.pod, ctx.hostRoot);
  ctx.hostSocket = relocated(ctx.hostRoot, '/run/wasm-cni/wasm-cni.sock');
  ctx.pluginDir = relocated(ctx.hostRoot, '/opt/cni/bin');

  // The image: what the daemon uses of the base image (this machine's copies, with their libraries), then the
  // Dockerfile's own steps.
  ctx.rootfs = ctx.sb.dir('rootfs');
  skeleton(ctx.rootfs);
  for (const [dest, src] of Object.entries(BASE_IMAGE_TOOLS)) await copyWithLibraries(ctx.rootfs, src, dest);
  applyCopies(ctx.rootfs, projectRoot, ctx.df);

  ctx.pm = new PrivatePodman(ctx.sb.dir('podman'), ctx.pluginDir, ctx.sb.prefix, await hardNofile());
  ctx.daemonName = `${ctx.sb.prefix}-daemon`;
  ctx.sb.defer(async () => {
    // Pods a failed test left: the runtime's own teardown runs the CNI DEL (rules, ifbs, reservations).
    for (const p of ctx.pods.splice(0)) {
      p.responder?.kill('SIGKILL');
      await run('ip', ['netns', 'delete', p.alias]);
      await ctx.cri?.stopPodSandbox(p.id).catch(() => undefined);
      await ctx.cri?.removePodSandbox(p.id).catch(() => undefined);
    }
    await stopContainerd();
    await stopProcessesRunningFrom(ctx.hostRoot);
    for (const d of cgroupParentDirs()) rmdirSync(d);
    await ctx.pm.removeAll();
    await removeUnusedHostportChains([4]);
  });

  // The pause image: busybox sleeping, as an OCI layout tarball for `ctr images import`.
  const pauseDir = ctx.sb.dir('pause');
  const pauseRoot = join(pauseDir, 'rootfs');
  mkdirSync(join(pauseRoot, 'bin'), { recursive: true });
  await sh('cp', [BUSYBOX, join(pauseRoot, 'bin', 'busybox')]);
  ctx.pauseImage = `localhost/${ctx.sb.prefix}-pause:1`;
  ctx.pauseTar = await ociImageTarball(pauseDir, pauseRoot, ctx.pauseImage, ['/bin/busybox', 'sleep', '2147483647']);

  ctx.netName = `${ctx.sb.prefix}-net`;
  ctx.bridge = ctx.sb.name('cr0');
  ctx.confDir = ctx.sb.dir('net.d');
  writeConflist();
}

test.after(async () => {
  clearTimeout(ctx.guard);
  for (const p of ctx.pods) p.responder?.kill('SIGKILL');
  await ctx.sb?.cleanup();
});

test('the manifest gives the daemon the host PID and network namespaces, privileges and the socket dir', () => {
  assert.ok(ctx.pod.hostPID, 'hostPID: the daemon pins callers by pid and reads /proc/<pid>/root');
  assert.ok(ctx.pod.hostNetwork, 'hostNetwork');
  assert.ok(ctx.daemon.securityContext.privileged, 'privileged daemon container');
  assert.not.ok(ctx.narrower.privileged, 'the documented alternative is not privileged');
  assert.ok(ctx.narrower.capAdd.length > 0, 'the documented alternative adds capabilities');
  const mounts = ctx.daemon.volumeMounts.map((m) => m.mountPath);
  assert.equal(mounts, ['/run/wasm-cni'], 'the daemon mounts only its socket dir; paths resolve in the caller');
  const sock = ctx.daemon.args[ctx.daemon.args.indexOf('--socket') + 1];
  assert.is(sock, '/run/wasm-cni/wasm-cni.sock');
  assert.equal(ctx.init.args.slice(0, 2), ['install', '--bin-dir']);
  const binDir = ctx.init.args[2]!;
  const m = ctx.init.volumeMounts.find((v) => v.mountPath === binDir);
  assert.ok(m, 'the init container mounts its --bin-dir');
  assert.is(ctx.pod.volumes.find((v) => v.name === m!.name)?.path, '/opt/cni/bin');
  assert.is(ctx.df.entrypoint[0], 'node');
});

test('init container: `install` writes the plugins and the cold-path kit into the host plugin dir', async () => {
  await podmanRun(ctx.init, `${ctx.sb.prefix}-install`, false);
  for (const p of PLUGINS) {
    const st = statSync(join(ctx.pluginDir, p));
    assert.ok(st.isFile() && (st.mode & 0o111) !== 0, `${p} installed and executable`);
  }
  assert.ok(existsSync(join(ctx.pluginDir, '.wasm-cni', 'build', 'js', 'cni-plugin.mjs')), 'cold-path kit installed');
});

test('daemon container: listens on the manifest socket, its liveness probe passes', async () => {
  await startDaemonContainer(ctx.daemon);
});

test('containerd CRI comes up on the plugin dir with our network', async () => {
  await startContainerd(false);
  const v = await ctx.cri!.version();
  assert.is(v.runtime_name, 'containerd');
  assert.is(v.runtime_api_version, 'v1');
});

test('phase 1: pods started by containerd get addresses, reach the gateway, answer on hostPorts, are shaped', async () => {
  const pods = [
    await startPod(`${ctx.sb.prefix}-p1`, await freePort()),
    await startPod(`${ctx.sb.prefix}-p2`, await freePort()),
  ];
  await checkPodsWork(pods);
});

test('phase 1: stopping and removing the pods leaves nothing', async () => {
  await removePodsAndCheck();
});

test('phase 1: every CNI call was served by the containerized daemon (none rejected)', async () => {
  await checkServedByDaemon(2);
});

test('phase 1b: the daemon container restarted with the documented narrower securityContext', async () => {
  await ctx.pm.podmanOk(['rm', '-f', '-t', '10', ctx.daemonName]);
  await startDaemonContainer({ ...ctx.daemon, securityContext: ctx.narrower });
  // What podman made of it: the daemon process holds exactly those capabilities, under a seccomp filter.
  const pid = Number((await ctx.pm.podmanOk(['inspect', '--format', '{{.State.Pid}}', ctx.daemonName])).trim());
  const sec = processSecurity(pid);
  assert.equal(sec.caps, effectiveCaps(ctx.narrower), `the daemon's effective capabilities (pid ${pid})`);
  assert.is(sec.seccomp, ctx.narrower.seccompProfile === 'RuntimeDefault' ? 2 : 0, 'seccomp mode');
});

test('phase 1b: pods started by containerd get addresses, reach the gateway, answer on hostPorts, are shaped', async () => {
  const pods = [
    await startPod(`${ctx.sb.prefix}-p5`, await freePort()),
    await startPod(`${ctx.sb.prefix}-p6`, await freePort()),
  ];
  await checkPodsWork(pods);
});

test('phase 1b: stopping and removing the pods leaves nothing', async () => {
  await removePodsAndCheck();
});

test('phase 1b: every CNI call was served by the narrower daemon container (none rejected)', async () => {
  await checkServedByDaemon(2);
});

test('phase 2: daemon container stopped, Node.js hidden from containerd: the runtime cannot run node', async () => {
  await ctx.pm.podmanOk(['rm', '-f', '-t', '10', ctx.daemonName]);
  await stopContainerd();
  await startContainerd(true);
  // With containerd's own PATH, in its mount namespace: no node to run, by name or at the usual places.
  const pid = ctx.ctrd!.pid;
  const path = /(?:^|\0)PATH=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1] ?? '';
  for (const cmd of ['node --version', '/usr/bin/node --version', '/usr/local/bin/node --version']) {
    const r = await run('nsenter', ['-t', String(pid), '-m', '--', 'env', `PATH=${path}`, 'sh', '-c', cmd]);
    assert.is.not(r.code, 0, `${cmd} must not run in containerd's mount namespace: ${r.stdout}`);
  }
  const status = await run('node', [cliEntryPath, 'daemon', 'status', '--socket', ctx.hostSocket]);
  assert.is.not(status.code, 0, 'no daemon answers');
});

test('phase 2: pods still get addresses, reach the gateway, answer on hostPorts, are shaped (the installed kit, no Node.js)', async () => {
  const pods = [
    await startPod(`${ctx.sb.prefix}-p3`, await freePort()),
    await startPod(`${ctx.sb.prefix}-p4`, await freePort()),
  ];
  await checkPodsWork(pods);
});

test('phase 2: stopping and removing the pods leaves nothing', async () => {
  await removePodsAndCheck();
});

test.run();

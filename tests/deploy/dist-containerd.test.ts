// The release tarball under a real client: containerd's CRI (Debian's containerd 1.6, the private instance of
// tests/_lib/cri/containerd.ts: its own config, root, state, socket and mount namespace) with bin_dir = the
// tarball unpacked into an empty directory and Node.js hidden in containerd's mount namespace (an empty file
// bound over /usr/bin/node, /usr/bin/nodejs and /usr/local/bin/node where they exist). A pod sandbox started over
// CRI gets its address from our host-local (the reservation file in a private dataDir names the sandbox), reaches
// its gateway through our bridge, answers on a hostPort through our portmap, and StopPodSandbox +
// RemovePodSandbox release the address and remove its veth, rules, netns and result cache: first with no daemon
// (cold path on the kit's runtime), then with on-demand start (a daemon started from the kit by the first call,
// in containerd's mount namespace, serves every call). Subnet 10.200.184.0/24; every name carries the sandbox
// prefix; all paths are private temp dirs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { readySandbox, type HostPortPod } from '../_lib/cri/sandbox.ts';
import { CriRuntime, type PodSandboxConfig } from '../_lib/cri/client.ts';
import { containerdMissing, PrivateContainerd } from '../_lib/cri/containerd.ts';
import {
  askTcpFromHost,
  natSave,
  removeNatChains,
  removeUnusedHostportChains,
  startResponder,
  freePort,
} from '../_lib/firewall.ts';
import { ociImageTarball } from '../_lib/rootfs.ts';
import { run, sh } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { BUSYBOX } from '../e2e/podman-kit.ts';
import { unpackedDist } from './_dist.ts';
import { daemonsServing, killDaemons, reservations } from './_daemons.ts';

const SUBNET = '10.200.184.0/24';
const GATEWAY = '10.200.184.1';
const CONTAINER_PORT = 8080;
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const GUARD_MS = 8 * 60_000;
const box = new Sandbox();
const test = suite('deploy: release tarball under containerd CRI, no Node.js');

let dir = ''; // the unpacked tarball: containerd's CNI bin dir
let socket = '';
let confDir = '';
let ipamDir = '';
let netName = '';
let bridge = '';
let ctrd: PrivateContainerd | null = null;
let cri: CriRuntime | null = null;
let guard: NodeJS.Timeout | undefined;

type Pod = HostPortPod;
const pods: Pod[] = []; // started and not yet removed

const cgroupParent = () => `/${box.prefix}-pods`;

/** The pod cgroup parent in every mounted hierarchy (v1 controllers and the unified one). */
function cgroupParentDirs(): string[] {
  const root = '/sys/fs/cgroup';
  const dirs = [join(root, cgroupParent())];
  for (const h of readdirSync(root)) dirs.push(join(root, h, cgroupParent()));
  return dirs.filter((d) => existsSync(d));
}

function podConfig(name: string, hostPort: number): PodSandboxConfig {
  return {
    metadata: { name, uid: `${name}-uid`, namespace: 'default', attempt: 0 },
    hostname: name,
    port_mappings: [{ protocol: 'TCP', container_port: CONTAINER_PORT, host_port: hostPort }],
    // Our own cgroup parent (cgroupfs), removed at the end; containerd's default would be /k8s.io.
    linux: { cgroup_parent: cgroupParent() },
  };
}

/** The daemon's log (it runs detached; its stdio goes to <socket>.log), for failure messages. */
function daemonLog(): string {
  try {
    return readFileSync(`${socket}.log`, 'utf8').slice(-3000);
  } catch {
    return '(no daemon log)';
  }
}

/** The nat lines that mention a pod (its container id in portmap's comments, its address in DNAT targets). */
async function natLinesOf(p: Pod): Promise<string[]> {
  return (await natSave(4)).filter(
    (l) => l.includes(p.id) || (p.ip !== '' && (l.includes(`${p.ip}/32`) || l.includes(`${p.ip}:`))),
  );
}

async function startPod(name: string): Promise<Pod> {
  const hostPort = await freePort();
  let id: string;
  try {
    id = await cri!.runPodSandbox(podConfig(name, hostPort));
  } catch (e) {
    throw new Error(`${(e as Error).message}\ncontainerd log:\n${ctrd!.recentLog().slice(-3000)}`);
  }
  const pod: Pod = {
    id,
    name,
    ip: '',
    pid: 0,
    netnsPath: '',
    hostVeth: '',
    alias: `${box.prefix}-${name.slice(-4)}`,
    hostPort,
    responder: null,
  };
  pods.push(pod);
  return Object.assign(pod, await readySandbox(cri!, id, pod.alias));
}

/** Address from our host-local, the gateway reachable through our bridge, the hostPort through our portmap. */
async function checkPodWorks(p: Pod): Promise<void> {
  assert.match(p.ip, /^10\.200\.184\.\d+$/, `an address from ${SUBNET}: ${p.ip}`);
  assert.equal(reservations(ipamDir, netName), [p.ip], 'host-local reserved it in the private dataDir');
  assert.is(readFileSync(join(ipamDir, netName, p.ip), 'utf8'), `${p.id}\r\neth0`, 'for this sandbox and eth0');
  const addr = await sh('ip', ['-n', p.alias, '-4', '-o', 'addr', 'show', 'eth0']);
  assert.match(addr, new RegExp(`inet ${p.ip.replace(/\./g, '\\.')}/24 `));
  const ping = await run('ip', ['netns', 'exec', p.alias, 'ping', '-c', '1', '-W', '2', GATEWAY]);
  assert.is(ping.code, 0, `the pod pings its gateway: ${ping.stdout}${ping.stderr}`);
  assert.match(ping.stdout, /\b1 (packets )?received/);
  assert.ok(p.hostVeth, 'the CNI result names the host veth');
  const onBridge = await sh('ip', ['-o', 'link', 'show', 'master', bridge]);
  assert.ok(onBridge.includes(`: ${p.hostVeth}@`), `${p.hostVeth} on ${bridge}: ${onBridge}`);
  assert.ok((await natLinesOf(p)).length > 0, 'portmap wrote its DNAT rules');
  p.responder = await startResponder(p.alias, CONTAINER_PORT, p.name);
  let answer = '';
  for (let i = 0; i < 20 && !answer.includes(p.name); i++) {
    answer = await askTcpFromHost(GATEWAY, p.hostPort);
    if (!answer.includes(p.name)) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(answer.includes(p.name), `${GATEWAY}:${p.hostPort} answered by the pod: ${answer}`);
}

/** StopPodSandbox (then `afterStop`) + RemovePodSandbox, then: nothing of the pod is left. */
async function removePodAndCheck(p: Pod, afterStop?: () => Promise<void>): Promise<void> {
  p.responder?.kill('SIGKILL');
  p.responder = null;
  await run('ip', ['netns', 'delete', p.alias]);
  await cri!.stopPodSandbox(p.id);
  await afterStop?.();
  await cri!.removePodSandbox(p.id);
  pods.splice(pods.indexOf(p), 1);
  assert.equal(reservations(ipamDir, netName), [], 'host-local released the address');
  assert.is((await run('ip', ['link', 'show', p.hostVeth])).code, 1, `${p.hostVeth} removed`);
  assert.is((await sh('ip', ['-o', 'link', 'show', 'master', bridge])).trim(), '', `no veth left on ${bridge}`);
  assert.not.ok(existsSync(ctrd!.inView(p.netnsPath.replace(/^\/var\/run\//, '/run/'))), 'netns removed');
  assert.equal(await natLinesOf(p), [], 'no nat rule for the pod');
  const cacheDir = join(ctrd!.opts.dir, 'var-lib-cni', 'results');
  const cache = existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.includes(p.id)) : [];
  assert.equal(cache, [], 'no libcni result cache entry left');
  const cgroups = cgroupParentDirs().flatMap((d) => readdirSync(d).filter((f) => f === p.id));
  assert.equal(cgroups, [], 'no pod cgroup left');
}

/** What a failed test may leave: pods (their DEL through containerd), containerd, a daemon, rules, cgroups. */
async function tearDown(): Promise<void> {
  for (const p of pods.splice(0)) {
    p.responder?.kill('SIGKILL');
    await run('ip', ['netns', 'delete', p.alias]);
    await cri?.stopPodSandbox(p.id).catch(() => undefined);
    await cri?.removePodSandbox(p.id).catch(() => undefined);
  }
  cri?.close();
  cri = null;
  await ctrd?.stop();
  ctrd = null;
  if (socket) await killDaemons(socket).catch(() => undefined);
  // portmap chains of this network whose DEL never ran (none on a passing run), then the shared ones if unused.
  const dn = (await natSave(4))
    .filter((l) => netName !== '' && l.includes(netName))
    .flatMap((l) => /-j (CNI-DN-\w+)/.exec(l)?.[1] ?? []);
  if (dn.length) await removeNatChains([...new Set(dn)], [4]);
  await removeUnusedHostportChains([4]);
  for (const d of cgroupParentDirs()) {
    try {
      rmdirSync(d);
    } catch {
      /* keep sweeping */
    }
  }
}

// uvu reports a failing hook only as "0 passed": say why.
test.before(() =>
  setUp().catch((e: Error) => {
    process.stderr.write(`dist-containerd set-up failed: ${e.stack ?? e.message}\n`);
    throw e;
  }),
);

async function setUp(): Promise<void> {
  guard = setTimeout(() => {
    process.stderr.write(`dist-containerd: no progress after ${GUARD_MS / 1000} s, cleaning up\n`);
    void box.cleanup().finally(() => process.exit(1));
  }, GUARD_MS);
  box.defer(tearDown);
  const why = await containerdMissing();
  if (why) throw new Error(why);
  dir = await unpackedDist(box);
  socket = join(box.dir('run'), 'wasm-cni.sock');
  ipamDir = box.dir('ipam');
  netName = `${box.prefix}-net`;
  bridge = box.name('cd0');
  confDir = box.dir('net.d');
  writeFileSync(
    join(confDir, '10-test.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: netName,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  // The pause image: busybox sleeping, as an OCI layout tarball for `ctr images import`.
  const pauseDir = box.dir('pause');
  const pauseRoot = join(pauseDir, 'rootfs');
  mkdirSync(join(pauseRoot, 'bin'), { recursive: true });
  await sh('cp', [BUSYBOX, join(pauseRoot, 'bin', 'busybox')]);
  const pauseImage = `localhost/${box.prefix}-pause:1`;
  const pauseTar = await ociImageTarball(pauseDir, pauseRoot, pauseImage, ['/bin/busybox', 'sleep', '2147483647']);
  ctrd = new PrivateContainerd({
    dir: box.dir('ctrd'),
    cniBinDir: dir,
    cniConfDir: confDir,
    sandboxImage: pauseImage,
    hideNode: true,
    path: PATH,
  });
  await ctrd.start();
  await ctrd.importImage(pauseTar);
  cri = new CriRuntime(ctrd.socket);
}

test.after(async () => {
  clearTimeout(guard);
  await box.cleanup();
});

test('containerd CRI runs on the unpacked tarball, and nothing in its mount namespace can run Node.js', async () => {
  const v = await cri!.version();
  assert.is(v.runtime_name, 'containerd');
  assert.is(v.runtime_api_version, 'v1');
  const pid = ctrd!.pid;
  const path = /(?:^|\0)PATH=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1] ?? '';
  assert.is(path, PATH);
  for (const cmd of ['node', 'nodejs', '/usr/bin/node', '/usr/bin/nodejs', '/usr/local/bin/node']) {
    const r = await run('nsenter', ['-t', String(pid), '-m', '--', 'env', `PATH=${path}`, 'sh', '-c', `${cmd} -e 0`]);
    assert.is.not(r.code, 0, `${cmd} must not run in containerd's mount namespace: ${r.stdout}`);
  }
  assert.not.ok(existsSync(join(dir, 'wasm-cni.conf')), 'the tarball carries no settings');
});

test('no daemon (on-demand = false): a pod gets our address, reaches its gateway and hostPort; removal releases all', async () => {
  writeFileSync(join(dir, 'wasm-cni.conf'), `on-demand = false\nsocket = ${socket}\n`);
  const p = await startPod(`${box.prefix}-cold`);
  await checkPodWorks(p);
  await removePodAndCheck(p);
  assert.equal(daemonsServing(socket), [], 'no daemon was started');
  assert.not.ok(existsSync(socket), 'nothing listens on the socket');
});

test('on-demand start: the same through a daemon the first call starts from the kit, which serves every call', async () => {
  writeFileSync(join(dir, 'wasm-cni.conf'), `on-demand = true\nidle-exit = 60\nsocket = ${socket}\n`);
  const p = await startPod(`${box.prefix}-warm`);
  await checkPodWorks(p);
  const served = async () =>
    (await requestStatus(socket)).calls
      .filter((c) => c.command !== 'VERSION')
      .map((c) => `${c.plugin} ${c.command} ${c.calls} ${c.errors}`)
      .sort();
  const expected = (dels: number) =>
    ['bridge', 'loopback', 'portmap'].flatMap((plugin) =>
      dels ? [`${plugin} ADD 1 0`, `${plugin} DEL ${dels} 0`] : [`${plugin} ADD 1 0`],
    );
  assert.equal(await served(), expected(0), "containerd's ADDs were served by the daemon (host-local inside it)");
  await removePodAndCheck(p, async () => assert.equal(await served(), expected(1), 'StopPodSandbox: one DEL each'));
  // containerd 1.6's RemovePodSandbox stops the sandbox again, which runs the teardown again (the netns is gone).
  assert.equal(await served(), expected(2), 'RemovePodSandbox: the second DEL, served and successful too');
  const daemons = daemonsServing(socket);
  assert.is(daemons.length, 1, `one daemon started on demand: ${daemonLog()}`);
  const status = await requestStatus(socket);
  assert.is(status.pid, daemons[0]);
  assert.is(status.origin?.startedBy, 'on-demand');
  assert.is(status.rejected, 0, `no call rejected to the cold path: ${JSON.stringify(status.rejections)}`);
  const exe = readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').split('\0')[0]!;
  assert.is(exe, join(dir, '.wasm-cni', 'build', 'runtime', 'bun'), 'the daemon runs on the kit runtime');
  const mntNs = (pid: number) => readlinkSync(`/proc/${pid}/ns/mnt`);
  assert.is(mntNs(status.pid), mntNs(ctrd!.pid), "the daemon lives in containerd's mount namespace");
  await killDaemons(socket);
});

test.run();

// `wasm-cni doctor --bin-dir --conf-dir` on a node laid out as deployed, in temp dirs: our build installed with
// `wasm-cni install --bin-dir`, a conflist, host-local state, a result cache and a daemon on a private socket.
// Healthy, it exits 0; each broken variant gives its finding, its fix and its exit code (1 warnings, 2 errors).
// The node's kernel settings, interfaces and iptables rule sets are presented through doctor's probes (tests
// must not change the real ones); files, the daemon and the cold-path run are real. A daemon of another build is
// one started from the bin dir before its kit was replaced; one of another protocol (or older than build
// reporting) answers on a socket of the test's as such a daemon does. Subnet 10.200.232.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { readRevision } from '../../host/build-identity.ts';
import { WASM_CNI_VERSION } from '../../host/cni/version.ts';
import { matchBuilds, rebuildFix } from '../../host/cli/doctor/build.ts';
import { howStarted } from '../../host/cli/doctor/daemon.ts';
import { diagnoseDeployed, type DeployedNode } from '../../host/cli/doctor/deployed.ts';
import { exitCodeFor, type Finding } from '../../host/cli/doctor/findings.ts';
import { backendOfVersion, kubeChains } from '../../host/cli/doctor/iptables-mode.ts';
import { systemProbes, type NodeProbes } from '../../host/cli/doctor/probes.ts';
import { requestStatus } from '../../host/daemon/client.ts';
import { kitDirName } from '../../host/daemon/kit.ts';
import { startDaemon, type Daemon, type DaemonStatus } from '../../host/daemon/server.ts';
import { encodeFrame, encodeReject, Kind, RejectReason, WIRE_VERSION } from '../../host/daemon/wire.ts';
import { projectRoot } from '../../host/paths.ts';
import { ownerKey } from '../../host/plugins/host-local/store.ts';
import { writeCacheEntry } from '../../host/runtime/cache.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('doctor on a deployed node');
const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(projectRoot, 'host/cli/main.ts'), ...args], { timeoutMs: 120_000 });

let root = '';
let node: Required<DeployedNode>;
let ipamNet = '';
let daemon: Daemon | undefined;
const network = `${box.prefix}-net`;

/** A healthy node's kernel, uplink and iptables state; each test changes what it needs. */
interface NodeState {
  sysctls: Record<string, string>;
  modules: string[];
  uplinkMtu: number;
  iptablesVersion: string;
  saves: { legacy: string; nft: string };
  nftTables: string;
}
const healthy = (): NodeState => ({
  sysctls: { 'net/ipv4/ip_forward': '1', 'net/bridge/bridge-nf-call-iptables': '1' },
  modules: ['br_netfilter'],
  uplinkMtu: 1500,
  iptablesVersion: 'iptables v1.8.9 (nf_tables)\n',
  saves: {
    legacy: '',
    nft: '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\nCOMMIT\n',
  },
  nftTables: '',
});

function probesFor(state: NodeState): NodeProbes {
  const out = (stdout: string) => Promise.resolve({ code: 0, stdout, stderr: '' });
  return {
    ...systemProbes, // the daemon's /proc entries and the cold-path run are real
    sysctl: (key) => state.sysctls[key] ?? null,
    moduleLoaded: (name) => state.modules.includes(name),
    interfaces: async () => [
      { name: 'lo', mtu: 65536, up: true, loopback: true, pointToPoint: false },
      { name: 'uplink0', mtu: state.uplinkMtu, up: true, loopback: false, pointToPoint: false },
    ],
    run(cmd, args, opts) {
      if (cmd === 'iptables') return out(state.iptablesVersion);
      if (cmd === 'iptables-legacy-save') return out(state.saves.legacy);
      if (cmd === 'iptables-nft-save') return out(state.saves.nft);
      if (cmd === 'nft') return out(state.nftTables);
      return systemProbes.run(cmd, args, opts);
    },
  };
}

async function diagnose(state = healthy(), over: Partial<DeployedNode> = {}): Promise<Finding[]> {
  return diagnoseDeployed({ ...node, ...over }, probesFor(state));
}

const problems = (fs: Finding[]) => fs.filter((f) => f.verdict === 'warn' || f.verdict === 'fail');
/** The one problem found (`detail`: a pattern, or a text that must appear as it is). */
function only(fs: Finding[], area: string, verdict: Finding['verdict'], detail: RegExp | string): Finding {
  const bad = problems(fs);
  assert.is(bad.length, 1, JSON.stringify(bad, null, 1));
  const f = bad[0]!;
  assert.is(f.area, area);
  assert.is(f.verdict, verdict);
  assert.match(f.detail, typeof detail === 'string' ? new RegExp(literal(detail)) : detail);
  assert.ok(f.fix, `a fix for: ${f.detail}`);
  return f;
}

function conflist(plugins: unknown[]): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: network, plugins });
}
const bridgePlugin = (subnet: string) => ({
  type: 'bridge',
  bridge: box.name('br'),
  isGateway: true,
  mtu: 1500,
  ipam: { type: 'host-local', dataDir: join(root, 'ipam'), ranges: [[{ subnet }]] },
});
function writeConf(plugins: unknown[]): void {
  writeFileSync(join(node.confDir, '10-net.conflist'), conflist(plugins));
}
const reserve = (ip: string, containerId: string) =>
  writeFileSync(join(ipamNet, ip), containerId ? ownerKey(containerId, 'eth0') : '');

/** A pattern matching `s` as it is. */
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** `argv` (a daemon command line) as a process, once the status at `socket` answers with its pid. */
async function startDaemonProcess(argv: string[], socket: string): Promise<ChildProcess> {
  const [file, ...args] = argv as [string, ...string[]];
  const proc = spawn(file, args, { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  box.defer(() => stopProcess(proc));
  let err = '';
  proc.stderr!.on('data', (b) => {
    err += b;
  });
  for (const t0 = Date.now(); Date.now() - t0 < 60_000; await sleep(100)) {
    if (proc.exitCode !== null) throw new Error(`${argv.join(' ')} exited ${proc.exitCode}: ${err}`);
    if ((await requestStatus(socket, 500).catch(() => undefined))?.pid === proc.pid) return proc;
  }
  await stopProcess(proc);
  throw new Error(`${argv.join(' ')} did not answer at ${socket}: ${err}`);
}

/** A socket answering every request with `reply`, as a daemon of another build would. */
async function fakeDaemon(path: string, reply: Buffer): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => sock.end(reply));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return server;
}
const closeServer = (server: Server) => new Promise<void>((r) => server.close(() => r()));

test.before(async () => {
  root = box.dir('node');
  node = {
    binDir: join(root, 'opt-cni-bin'),
    confDir: join(root, 'net.d'),
    cacheDir: join(root, 'var-lib-cni'),
    socket: join(root, 'run', 'wasm-cni.sock'),
  };
  const inst = await cli(['install', '--bin-dir', node.binDir]);
  assert.is(inst.code, 0, inst.stderr);
  mkdirSync(node.confDir);
  writeConf([bridgePlugin('10.200.232.0/27'), { type: 'portmap', capabilities: { portMappings: true } }]);
  ipamNet = join(root, 'ipam', network);
  mkdirSync(ipamNet, { recursive: true });
  reserve('10.200.232.2', 'pod-one');
  writeCacheEntry(node.cacheDir, {
    containerId: 'pod-one',
    config: new TextEncoder().encode(conflist([])),
    ifName: 'eth0',
    networkName: network,
  });
  daemon = await startDaemon({ socketPath: node.socket, workers: 0, log: () => {} });
});

test.after(async () => {
  await daemon?.close();
  await box.cleanup();
});

test('a healthy deployed node: every check passes, exit 0', async () => {
  const fs = await diagnose();
  assert.equal(problems(fs), []);
  assert.is(exitCodeFor(fs), 0);
  const detail = (area: string) =>
    fs
      .filter((f) => f.area === area && f.verdict === 'ok')
      .map((f) => f.detail)
      .join('\n');
  assert.match(detail('executables'), /ours: bandwidth, bridge, host-local, kubenet, loopback, portmap/);
  assert.match(detail('executables'), /one build/);
  assert.match(detail('daemon'), new RegExp(`pid ${process.pid} answers at .*started: by hand or on demand`));
  assert.match(
    detail('daemon'),
    new RegExp(
      `the daemon and the executables are one build: ${literal(`${WASM_CNI_VERSION} (revision ${readRevision()})`)}`,
    ),
  );
  assert.match(detail('kit'), /cold path works: loopback VERSION answered .*1\.1\.0/);
  assert.match(detail('config'), new RegExp(`network "${network}" .*bridge → portmap`));
  assert.match(
    detail('iptables'),
    /kube-proxy\/kubelet chains are in the nft back end too \(KUBE-POSTROUTING KUBE-SERVICES\)/,
  );
  assert.match(detail('ipam'), /range set 0 \(10\.200\.232\.1-10\.200\.232\.30\): 1 of 29 addresses allocated/);
  assert.match(detail('mtu'), /pod MTU 1500 fits uplink0/);
});

test('the command line: --json findings and the exit code they imply, against the real node', async () => {
  const r = await cli([
    'doctor',
    '--bin-dir',
    node.binDir,
    '--conf-dir',
    node.confDir,
    '--cache-dir',
    node.cacheDir,
    '--socket',
    node.socket,
    '--json',
  ]);
  const fs = JSON.parse(r.stdout) as Finding[];
  assert.is(r.code, exitCodeFor(fs), r.stdout);
  for (const area of ['executables', 'daemon', 'kit', 'config', 'kernel', 'iptables', 'ipam'])
    assert.ok(
      fs.some((f) => f.area === area),
      area,
    );
  for (const area of ['executables', 'daemon', 'kit', 'config'])
    assert.equal(
      fs.filter((f) => f.area === area && (f.verdict === 'warn' || f.verdict === 'fail')),
      [],
      area,
    );
  for (const f of problems(fs)) assert.ok(f.fix, `a fix for: ${f.detail}`);
  const text = await cli(['doctor', '--bin-dir', node.binDir, '--conf-dir', node.confDir, '--socket', node.socket]);
  assert.match(text.stdout, /\[ ok \] executables +ours:/);
  assert.match(text.stdout, /\d+ failed, \d+ warnings\n$/);
  assert.is((await cli(['doctor', '--bin-dir', node.binDir, '--bogus'])).code, 2);
});

test('a foreign executable under one of our names, and a second build: warnings, exit 1', async () => {
  const portmap = join(node.binDir, 'portmap');
  copyFileSync('/usr/lib/cni/portmap', portmap);
  try {
    const fs = await diagnose();
    const f = only(fs, 'executables', 'warn', /portmap is not the wasm-cni executable/);
    assert.is(f.fix, `wasm-cni install --bin-dir ${node.binDir}`);
    assert.is(exitCodeFor(fs), 1);
    copyFileSync(join(node.binDir, 'loopback'), portmap);
    appendFileSync(portmap, 'another build');
    only(await diagnose(), 'executables', 'warn', /of 2 different builds .*portmap/);
  } finally {
    copyFileSync(join(node.binDir, 'loopback'), portmap);
  }
  assert.equal(problems(await diagnose()), []);
});

test('a conflist naming a plugin the bin dir lacks: an error, exit 2', async () => {
  writeConf([bridgePlugin('10.200.232.0/27'), { type: 'tuning' }]);
  try {
    const fs = await diagnose();
    const f = only(fs, 'config', 'fail', /names plugin "tuning", which is not in/);
    assert.match(f.fix!, /install the "tuning" plugin/);
    assert.is(exitCodeFor(fs), 2);
    writeFileSync(join(node.confDir, '10-net.conflist'), '{"name": "broken", "plugins": [');
    const broken = await diagnose();
    assert.is(problems(broken)[0]?.area, 'config');
    assert.match(problems(broken)[0]!.detail, /10-net\.conflist \(the network runtimes use\): .*parsing/);
    assert.is(exitCodeFor(broken), 2);
  } finally {
    writeConf([bridgePlugin('10.200.232.0/27'), { type: 'portmap', capabilities: { portMappings: true } }]);
  }
});

test('a nearly full range warns (exit 1); a full one is an error (exit 2)', async () => {
  const extra = Array.from({ length: 27 }, (_, i) => `10.200.232.${i + 3}`); // with .2: 28 of 29
  for (const ip of extra) reserve(ip, 'pod-one');
  try {
    const fs = await diagnose();
    const f = only(fs, 'ipam', 'warn', /28 of 29 addresses allocated \(97%\): nearly full/);
    assert.match(f.fix!, /widen ipam\.ranges/);
    assert.is(exitCodeFor(fs), 1);
    reserve('10.200.232.30', 'pod-one');
    const full = await diagnose();
    only(full, 'ipam', 'fail', /29 of 29 .*full, new pods get no address/);
    assert.is(exitCodeFor(full), 2);
  } finally {
    for (const ip of [...extra, '10.200.232.30']) rmSync(join(ipamNet, ip), { force: true });
  }
});

test('an empty reservation and an orphaned one: warnings with the rm that fixes them', async () => {
  reserve('10.200.232.9', '');
  try {
    const fs = await diagnose();
    const f = only(fs, 'ipam', 'warn', /1 empty reservation file.*10\.200\.232\.9/);
    assert.is(f.fix, `rm -f ${join(ipamNet, '10.200.232.9')}`);
    assert.is(exitCodeFor(fs), 1);
  } finally {
    rmSync(join(ipamNet, '10.200.232.9'));
  }
  reserve('10.200.232.10', 'pod-deleted-without-del');
  try {
    const f = only(
      await diagnose(),
      'ipam',
      'warn',
      /1 reservation\(s\) of containers the runtime has no cached result for/,
    );
    assert.match(f.detail, /10\.200\.232\.10 \(pod-deleted-/);
    assert.match(f.fix!, new RegExp(`rm -f ${join(ipamNet, '10.200.232.10')}`));
    // a second interface of a container the cache knows, and an old record without an interface: not orphaned
    writeFileSync(join(ipamNet, '10.200.232.11'), ownerKey('pod-one', 'eth1'));
    writeFileSync(join(ipamNet, '10.200.232.12'), 'pod-one');
    only(await diagnose(), 'ipam', 'warn', /1 reservation\(s\) of containers the runtime has no cached result for/);
    rmSync(join(ipamNet, '10.200.232.11'));
    rmSync(join(ipamNet, '10.200.232.12'));
    const noCache = await diagnose(healthy(), { cacheDir: join(root, 'no-cache') });
    assert.equal(problems(noCache), [], 'without a result cache nothing is called orphaned');
  } finally {
    rmSync(join(ipamNet, '10.200.232.10'));
  }
});

test('daemon down: a warning while the cold path works (exit 1), an error when the kit is gone too (exit 2)', async () => {
  const absent = join(root, 'run', 'absent.sock');
  const settings = join(node.binDir, 'wasm-cni.conf');
  const kept = existsSync(settings) ? readFileSync(settings) : undefined;
  writeFileSync(settings, 'on-demand = false\n'); // executables that could start a daemon are told not to
  try {
    const fs = await diagnose(healthy(), { socket: absent });
    const f = only(fs, 'daemon', 'warn', /no daemon answers at .*absent\.sock.*every call starts a runtime/);
    assert.match(f.fix!, /systemctl restart wasm-cni/);
    assert.is(exitCodeFor(fs), 1);
    assert.ok(fs.some((x) => x.area === 'settings' && /on-demand false/.test(x.detail)));
  } finally {
    if (kept) writeFileSync(settings, kept);
    else rmSync(settings);
  }
  const kitless = join(root, 'kitless');
  const inst = await cli(['install', '--bin-dir', kitless]);
  assert.is(inst.code, 0, inst.stderr);
  rmSync(join(kitless, '.wasm-cni'), { recursive: true });
  writeFileSync(join(kitless, 'wasm-cni.conf'), 'on-demand = false\n');
  const both = await diagnose(healthy(), { socket: absent, binDir: kitless });
  const kit = problems(both).find((x) => x.area === 'kit');
  assert.ok(kit && kit.verdict === 'fail', JSON.stringify(both));
  assert.match(kit.detail, /no kit/);
  assert.is(exitCodeFor(both), 2);
  const withDaemon = await diagnose(healthy(), { binDir: kitless });
  assert.is(problems(withDaemon).find((x) => x.area === 'kit')?.verdict, 'warn');
});

test('executables that start a daemon on demand: no daemon running is their idle state, not a problem', async () => {
  const dir = join(root, 'on-demand');
  const inst = await cli(['install', '--bin-dir', dir]);
  assert.is(inst.code, 0, inst.stderr);
  // the variable only an on-demand-capable build reads, added to each executable alike (one build still)
  for (const f of readdirSync(dir))
    if (!f.startsWith('.') && !f.endsWith('.conf')) appendFileSync(join(dir, f), 'WASM_CNI_ON_DEMAND');
  rmSync(join(dir, 'wasm-cni.conf'), { force: true });
  const absent = join(root, 'run', 'absent.sock');
  const fs = await diagnose(healthy(), { socket: absent, binDir: dir });
  assert.equal(problems(fs), []);
  assert.ok(fs.some((x) => x.area === 'daemon' && x.verdict === 'info' && /starts one on demand/.test(x.detail)));
  writeFileSync(join(dir, 'wasm-cni.conf'), '# test\non-demand = false\nidle-exit = 30\n');
  only(await diagnose(healthy(), { socket: absent, binDir: dir }), 'daemon', 'warn', /every call starts a runtime/);
});

test('kernel: br_netfilter, bridge-nf-call-iptables, ip_forward, and a pod MTU above the uplink', async () => {
  const s = healthy();
  s.modules = [];
  s.sysctls = { 'net/ipv4/ip_forward': '1' };
  const f = only(await diagnose(s), 'kernel', 'warn', /br_netfilter not loaded/);
  assert.match(f.fix!, /^modprobe br_netfilter/);
  const t = healthy();
  t.sysctls['net/bridge/bridge-nf-call-iptables'] = '0';
  assert.match(only(await diagnose(t), 'kernel', 'warn', /bridge-nf-call-iptables = 0/).fix!, /sysctl -w/);
  const u = healthy();
  u.sysctls['net/ipv4/ip_forward'] = '0';
  assert.match(only(await diagnose(u), 'kernel', 'warn', /ip_forward = 0/).fix!, /ip_forward=1/);
  const m = healthy();
  m.uplinkMtu = 1450;
  const mtu = only(await diagnose(m), 'mtu', 'warn', /"mtu": 1500, above uplink0's 1450/);
  assert.match(mtu.fix!, /set "mtu": 1450/);
});

test("iptables: kube-proxy's back end against ours", async () => {
  const legacy = healthy();
  legacy.saves = { legacy: healthy().saves.nft, nft: '' };
  const f = only(
    await diagnose(legacy),
    'iptables',
    'fail',
    /kube-proxy\/kubelet use iptables-legacy .* but iptables here is nft/,
  );
  assert.match(f.fix!, /update-alternatives --set iptables \/usr\/sbin\/iptables-legacy/);
  const both = healthy();
  both.saves.legacy = ':KUBE-IPTABLES-HINT - [0:0]\n';
  only(await diagnose(both), 'iptables', 'warn', /kube chains in both back ends/);
  const nftMode = healthy();
  nftMode.saves.nft = '';
  nftMode.nftTables = 'table inet filter\ntable ip kube-proxy\n';
  const fs = await diagnose(nftMode);
  assert.equal(problems(fs), []);
  assert.ok(fs.some((x) => x.area === 'iptables' && /nftables mode/.test(x.detail)));
  assert.is(backendOfVersion('iptables v1.8.7 (legacy)'), 'legacy');
  assert.equal(kubeChains(':KUBE-DEDUP - [0:0]\n:KUBE-FORWARD - [0:0]\n'), ['KUBE-FORWARD']);
});

test('a daemon of another build than the executables: a warning naming both and the fix for how it was started; exit 1, also in --json', async () => {
  const kitBuild = join(node.binDir, kitDirName, 'build');
  const installed = readRevision(kitBuild);
  const older = 'feedc0ffee00';
  const socket = join(root, 'run', 'other-build.sock');
  const cliPath = join(node.binDir, 'wasm-cni');
  let old: ChildProcess | undefined;
  let fixed: ChildProcess | undefined;
  // started from the bin dir while its kit was of another build, which is then replaced (an upgrade of the
  // executables only); --idle-exit: it ends by itself should this test die before stopping it
  writeFileSync(join(kitBuild, 'REVISION'), `${older}\n`);
  try {
    old = await startDaemonProcess(
      [cliPath, 'daemon', '--socket', socket, '--started-by', 'manual', '--idle-exit', '120', '--workers', '0'],
      socket,
    );
  } finally {
    writeFileSync(join(kitBuild, 'REVISION'), `${installed}\n`);
  }
  try {
    const fs = await diagnose(healthy(), { socket });
    const f = only(
      fs,
      'daemon',
      'warn',
      `pid ${old.pid} runs ${WASM_CNI_VERSION} (revision ${older}), the executables in ${node.binDir} are ${WASM_CNI_VERSION} (revision ${installed}): the calls it serves run another build`,
    );
    const replace = `${cliPath} daemon --replace --socket ${socket}`;
    assert.is(f.fix!.split('#')[0]!.trim(), replace);
    assert.match(
      f.fix!,
      new RegExp(`# or keep the daemon's build: run its wasm-cni install --bin-dir ${literal(node.binDir)}$`),
    );
    assert.is(exitCodeFor(fs), 1);

    const args = ['doctor', '--bin-dir', node.binDir, '--conf-dir', node.confDir, '--cache-dir', node.cacheDir];
    const r = await cli([...args, '--socket', socket, '--json']);
    const json = JSON.parse(r.stdout) as Finding[];
    assert.ok(
      json.some((x) => x.area === 'daemon' && x.verdict === 'warn' && x.detail === f.detail && x.fix === f.fix),
      r.stdout,
    );
    assert.is(r.code, exitCodeFor(json));
    assert.ok(r.code >= 1, `exit ${r.code}`);
    const text = await cli([...args, '--socket', socket]);
    assert.ok(text.stdout.includes(`[warn] daemon`) && text.stdout.includes(`fix: ${f.fix}`), text.stdout);

    // the fix, as printed: a daemon of the installed build takes the socket over, the old one drains and exits
    fixed = await startDaemonProcess(replace.split(' '), socket);
    await Promise.race([new Promise((r) => old!.once('exit', r)), sleep(30_000)]);
    assert.ok(old.exitCode !== null || old.signalCode !== null, 'the replaced daemon exited');
    const after = await diagnose(healthy(), { socket });
    assert.equal(problems(after), []);
    assert.ok(
      after.some(
        (x) =>
          x.verdict === 'ok' &&
          x.detail === `the daemon and the executables are one build: ${WASM_CNI_VERSION} (revision ${installed})`,
      ),
      JSON.stringify(after, null, 1),
    );
  } finally {
    await stopProcess(fixed);
    await stopProcess(old);
  }
});

test('a daemon of another wire protocol is an error (exit 2); one older than build reporting, a warning', async () => {
  const socket = join(root, 'run', 'fake.sock');
  const installed = readRevision(join(node.binDir, kitDirName, 'build'));
  const execs = `the executables in ${node.binDir} are ${WASM_CNI_VERSION} (revision ${installed})`;
  const other = WIRE_VERSION + 1;
  // how a daemon of another protocol answers this doctor's status request: REJECT, framed in its own version
  const refusal = encodeReject(RejectReason.Version, `daemon speaks protocol version ${other}, not ${WIRE_VERSION}`);
  refusal.writeUInt16BE(other, 4);
  let server = await fakeDaemon(socket, refusal);
  try {
    const fs = await diagnose(healthy(), { socket });
    const f = only(
      fs,
      'daemon',
      'fail',
      `the daemon at ${socket} runs a build this doctor cannot read (protocol ${other}), ${execs}: the daemon speaks protocol ${other}, they speak ${WIRE_VERSION}, so it rejects their calls`,
    );
    assert.match(f.fix!, /^systemctl restart wasm-cni .*kubectl -n kube-system rollout restart daemonset\/wasm-cni/);
    assert.is(exitCodeFor(fs), 2);
    assert.ok(fs.some((x) => x.verdict === 'info' && x.detail.includes(`in protocol ${other}, not this doctor's`)));
  } finally {
    await closeServer(server);
  }
  const { build: _, ...withoutBuild } = daemon!.status();
  const status = { ...withoutBuild, origin: { startedBy: 'on-demand', idleExitSeconds: 60 } };
  server = await fakeDaemon(socket, encodeFrame(Kind.StatusReply, Buffer.from(JSON.stringify(status))));
  try {
    const fs = await diagnose(healthy(), { socket });
    const f = only(
      fs,
      'daemon',
      'warn',
      `pid ${process.pid} runs an unknown build (older than build reporting), ${execs}`,
    );
    assert.match(f.fix!, new RegExp(`^kill -TERM ${process.pid} +# it drains and exits`));
    assert.is(exitCodeFor(fs), 1);
  } finally {
    await closeServer(server);
    rmSync(socket, { force: true });
  }
});

test('builds compared: protocol first, then version and revision; the fix by how the daemon was started', () => {
  const build = { version: '0.1.0', revision: 'aaaaaaaaaaaa' };
  const ours = { ...build, protocolVersion: 1 };
  assert.is(matchBuilds({ protocolVersion: 1, build }, ours), 'same');
  assert.is(matchBuilds({ protocolVersion: 2, build }, ours), 'other-protocol');
  assert.is(matchBuilds({ protocolVersion: 1, build: { ...build, version: '0.2.0' } }, ours), 'other-build');
  assert.is(matchBuilds({ protocolVersion: 1, build }, { ...ours, revision: 'bbbbbbbbbbbb' }), 'other-build');
  assert.is(matchBuilds({ protocolVersion: 1, build }, { ...ours, revision: 'unknown' }), 'cannot-tell');
  assert.is(matchBuilds({ protocolVersion: 1 }, ours), 'unknown-daemon-build');
  assert.is(matchBuilds({ protocolVersion: 1 }, build), 'cannot-tell', 'a kit as old as the daemon');
  assert.is(matchBuilds({ protocolVersion: 2, build }, build), 'same', 'a kit that does not say its protocol');

  const probes = {
    ...systemProbes,
    readFile: (path: string) => (path === '/proc/42/cgroup' ? '0::/system.slice/cni-daemon.service\n' : null),
  };
  const fix = (origin?: DaemonStatus['origin']) =>
    rebuildFix({ pid: 42, origin }, '/opt/cni/bin', '/run/w.sock', probes);
  assert.is(fix({ startedBy: 'systemd-unit', detail: 'wasm-cni.service' }), 'systemctl restart wasm-cni.service');
  assert.is(fix({ startedBy: 'socket-activation', detail: 'wasm-cni.socket' }), 'systemctl restart cni-daemon.service');
  assert.match(
    fix({ startedBy: 'daemonset' }),
    /^kubectl -n kube-system rollout restart daemonset\/wasm-cni +# its init container re-runs wasm-cni install --bin-dir \/opt\/cni\/bin$/,
  );
  assert.match(fix({ startedBy: 'on-demand', idleExitSeconds: 60 }), /^kill -TERM 42 /);
  assert.match(fix({ startedBy: 'manual' }), /^\/opt\/cni\/bin\/wasm-cni daemon --replace --socket \/run\/w\.sock +#/);
  assert.match(
    fix(),
    /^systemctl restart wasm-cni +# or: kubectl .*, or kill -TERM 42, or run the daemon's build's wasm-cni install/,
  );
});

test('how the daemon was started: what its status says, else its environment and cgroup', () => {
  const procOf = (files: Record<string, string>) => ({
    ...systemProbes,
    readFile: (path: string) => files[path] ?? null,
  });
  const env = (vars: string[]) => `${vars.join('\0')}\0`;
  assert.is(
    howStarted(
      42,
      procOf({
        '/proc/42/environ': env(['LISTEN_FDS=1', 'LISTEN_PID=42']),
        '/proc/42/cgroup': '0::/system.slice/wasm-cni.service\n',
      }),
    ),
    'systemd socket activation (wasm-cni.service)',
  );
  assert.is(
    howStarted(42, procOf({ '/proc/42/cgroup': '0::/system.slice/wasm-cni.service\n' })),
    'systemd unit wasm-cni.service',
  );
  assert.is(
    howStarted(42, procOf({ '/proc/42/cgroup': '0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope\n' })),
    'a Kubernetes pod (the DaemonSet)',
  );
  assert.is(
    howStarted(42, procOf({ '/proc/42/stat': '42 (node) S 7 42 42 0', '/proc/7/comm': 'bash\n' })),
    'by hand or on demand (parent: bash, pid 7)',
  );
  assert.is(
    howStarted(42, procOf({}), { origin: { startedBy: 'on-demand', idleExitSeconds: 60 } }),
    'on-demand, exits after 60 s without calls',
  );
});

test.run();

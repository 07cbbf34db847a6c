// The release tarball (`npm run dist`, here written to a private directory) unpacked into an empty directory and
// used with Node.js hidden from every caller: each run below happens in one private mount namespace (kept by a
// bind mount, entered with nsenter) where /usr/bin/node, /usr/bin/nodejs and /usr/local/bin/node are an empty
// file and PATH names no node; a daemon started on demand from there lives there too. The CLI in the
// tarball (`wasm-cni cni add|del`, a cnitool) drives a loopback and a bridge + host-local network through the
// tarball's executables: first with no daemon (cold path on the kit's runtime), then with on-demand start.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { buildDir } from '../../host/paths.ts';
import { run, sh, type RunResult } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import { unpackedDist } from './_dist.ts';
import { daemonsServing, killDaemons, reservations } from './_daemons.ts';

const box = new Sandbox();
const test = suite('deploy: release tarball, no Node.js');
let dir = ''; // the unpacked tarball
let netd = '';
let cache = '';
let empty = '';
let ipam = '';
let socket = '';
let pod: TestNetns;
let bridge = '';
let nsDir = ''; // holds the bind mount that keeps the private mount namespace
let mntNs = '';

const HIDE_NODE = `for n in /usr/bin/node /usr/bin/nodejs /usr/local/bin/node; do
  if [ -e "$n" ]; then mount --bind "$EMPTY" "$n" || exit 97; fi
done`;
const NO_NODE = 'if node -e 0 2>/dev/null; then echo "node still runs" >&2; exit 98; fi; exec "$@"';

/** Runs a command from the unpacked tarball in the mount namespace where Node.js is hidden. */
function hidden(cmd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return run('nsenter', [`--mount=${mntNs}`, '--', 'sh', '-c', NO_NODE, 'sh', cmd, ...args], {
    env: {
      EMPTY: empty,
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      NETCONFPATH: netd,
      WASM_CNI_CACHE_DIR: cache,
      CNI_PATH: dir,
      WASM_CNI_SOCKET: undefined,
      WASM_CNI_HOME: undefined,
      WASM_CNI_NODE: undefined,
      ...env,
    },
    timeoutMs: 90_000,
  });
}

function cni(command: 'add' | 'del', network: string, containerId: string): Promise<RunResult> {
  return hidden(join(dir, 'wasm-cni'), ['cni', command, network, pod.path], { CNI_CONTAINERID: containerId });
}

test.before(async () => {
  dir = await unpackedDist(box);
  empty = join(box.dir('empty'), 'node');
  writeFileSync(empty, '');
  pod = await box.netns('pod'); // before the private mount namespace, which copies the mounts that exist then
  nsDir = box.dir('mntns');
  await sh('mount', ['--bind', nsDir, nsDir]);
  await sh('mount', ['--make-private', nsDir]);
  mntNs = join(nsDir, 'mnt');
  writeFileSync(mntNs, '');
  await sh('unshare', [`--mount=${mntNs}`, '--propagation', 'private', '--', 'sh', '-c', HIDE_NODE], {
    env: { EMPTY: empty },
  });
  netd = box.dir('netd');
  cache = box.dir('cache');
  ipam = box.dir('ipam');
  socket = join(box.dir('run'), 'wasm-cni.sock');
  bridge = box.name('br');
  writeFileSync(
    join(netd, '10-lo.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'lo-net', plugins: [{ type: 'loopback' }] }),
  );
  writeFileSync(
    join(netd, '20-br.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'br-net',
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipam: { type: 'host-local', dataDir: ipam, ranges: [[{ subnet: '10.200.181.0/24' }]] },
        },
      ],
    }),
  );
});

test.after(async () => {
  await killDaemons(socket).catch(() => {});
  if (mntNs) await run('umount', [mntNs]);
  if (nsDir) await run('umount', [nsDir]);
  await run('ip', ['link', 'delete', bridge]);
  await box.cleanup();
});

test('laid out like the reference tarball: one executable per plugin name at the top, the kit, a README', () => {
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth', 'kubenet', 'wasm-cni'])
    assert.ok(existsSync(join(dir, p)), p);
  for (const f of ['js/cni-plugin.mjs', 'js/wasm-cni.mjs', 'core.wasm', 'native/wasm_cni.node', 'runtime/bun'])
    assert.ok(existsSync(join(dir, '.wasm-cni', 'build', f)), f);
  assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /tar -xzf wasm-cni-linux-\w+\.tgz -C \/opt\/cni\/bin/);
  assert.not.ok(existsSync(join(dir, 'wasm-cni.conf')), "unpacking never replaces the operator's settings");
  assert.is(statSync(dir).mode & 0o777, 0o755, 'the archive root keeps a bin dir world-readable (tar applies "./")');
});

test('wasm-cni version from the tarball: version, spec versions, the build revision, on the kit runtime', async () => {
  const r = await hidden(join(dir, 'wasm-cni'), ['version']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const revision = readFileSync(join(buildDir, 'REVISION'), 'utf8').trim();
  assert.match(r.stdout, /^wasm-cni \d+\.\d+\.\d+\nCNI spec 1\.1\.0 \(supports 0\.1\.0, .*1\.1\.0\)\n/);
  assert.ok(r.stdout.includes(`revision ${revision}, runtime bun `), r.stdout);
  assert.match(revision, /^[0-9a-f]{12}(-dirty)?$/);
});

async function addAndDelBoth(label: string): Promise<void> {
  const lo = await cni('add', 'lo-net', `${label}-lo`);
  assert.is(lo.code, 0, lo.stdout + lo.stderr);
  assert.is(JSON.parse(lo.stdout).interfaces[0].name, 'lo');
  const br = await cni('add', 'br-net', `${label}-br`);
  assert.is(br.code, 0, br.stdout + br.stderr);
  const ip = JSON.parse(br.stdout).ips[0].address as string;
  assert.match(ip, /^10\.200\.181\.\d+\/24$/);
  const inPod = await sh('ip', ['-n', pod.name, '-j', 'addr', 'show', 'eth0']);
  assert.ok(inPod.includes(ip.split('/')[0]!), 'the pod has its address');
  assert.equal(reservations(ipam, 'br-net'), [ip.split('/')[0]]);
  const delBr = await cni('del', 'br-net', `${label}-br`);
  assert.is(delBr.code, 0, delBr.stdout + delBr.stderr);
  assert.equal(reservations(ipam, 'br-net'), [], 'DEL released the address');
  assert.is((await run('ip', ['-n', pod.name, 'link', 'show', 'eth0'])).code, 1, 'and removed the pod interface');
  const delLo = await cni('del', 'lo-net', `${label}-lo`);
  assert.is(delLo.code, 0, delLo.stdout + delLo.stderr);
}

test('no daemon (on-demand = false): loopback and bridge + host-local ADD/DEL on the cold path', async () => {
  writeFileSync(join(dir, 'wasm-cni.conf'), `on-demand = false\nsocket = ${socket}\n`);
  await addAndDelBoth('cold');
  assert.equal(daemonsServing(socket), [], 'no daemon was started');
});

test('on-demand start: the first call starts the daemon from the kit and it serves every call', async () => {
  writeFileSync(join(dir, 'wasm-cni.conf'), `on-demand = true\nidle-exit = 60\nsocket = ${socket}\n`);
  await addAndDelBoth('warm');
  const status = await requestStatus(socket);
  assert.is(status.origin?.startedBy, 'on-demand');
  assert.is(status.served, 4, 'loopback ADD and DEL, bridge ADD and DEL (host-local runs inside the daemon)');
  assert.equal(status.calls.map((c) => `${c.plugin} ${c.command} ${c.calls} ${c.errors}`).sort(), [
    'bridge ADD 1 0',
    'bridge DEL 1 0',
    'loopback ADD 1 0',
    'loopback DEL 1 0',
  ]);
  const exe = readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').split('\0')[0]!;
  assert.is(exe, join(dir, '.wasm-cni', 'build', 'runtime', 'bun'));
  await killDaemons(socket);
});

test.run();

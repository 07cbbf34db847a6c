// Callers in other namespaces are served in their own world: the daemon pins the caller and acts in its
// network namespace and filesystem view. Only a caller the daemon cannot pin (here: a daemon in a pid
// namespace of its own, which cannot see the caller's pid) gets REJECT OtherNamespace, and the shim runs the
// plugin cold, in the caller's place; `daemon status` says why.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildDir, cniBinDir } from '../../host/paths.ts';
import { requestStatus } from '../../host/daemon/client.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('shim: callers in other namespaces');
let dir = '';
let socket = '';
let hiddenSocket = '';
let other: TestNetns;
let daemon: FixtureDaemon | undefined;
let pidNsDaemon: FixtureDaemon | undefined;

const env = (sock = socket) => ({
  WASM_CNI_SOCKET: sock,
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: cniBinDir,
});

test.before(async () => {
  dir = box.dir('ns');
  symlinkSync(join(buildDir, 'native', 'cni-shim'), join(dir, 'echo'));
  socket = join(dir, 'd.sock');
  hiddenSocket = join(dir, 'pidns.sock');
  other = await box.netns('other');
  daemon = await spawnFixtureDaemon(socket);
  // a daemon that cannot see its callers' pids (a container without hostPID)
  pidNsDaemon = await spawnFixtureDaemon(
    hiddenSocket,
    [],
    ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'],
  );
});

test.after(async () => {
  await daemon?.stop();
  await pidNsDaemon?.stop();
  await box.cleanup();
});

test("from the daemon's own namespaces the daemon serves the call", async () => {
  const r = await run(join(dir, 'echo'), [], { input: '{}', env: env(), timeoutMs: 20_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(JSON.parse(r.stdout).env.CNI_CONTAINERID, 'c1'); // the test-only echo plugin exists only in the daemon
});

test('from another netns the daemon serves the call too (no cold path)', async () => {
  const before = await requestStatus(socket);
  const r = await run('ip', ['netns', 'exec', other.name, join(dir, 'echo')], {
    input: '{}',
    env: env(),
    timeoutMs: 30_000,
  });
  assert.is(r.code, 0, r.stdout + r.stderr); // the echo plugin exists only in the daemon
  const after = await requestStatus(socket);
  assert.is(after.served, before.served + 1);
  assert.is(after.rejected, before.rejected);
});

test("a real plugin called from another netns acts in the caller's netns, through the daemon", async () => {
  const before = await requestStatus(socket);
  const call = (netns: string) =>
    run('ip', ['netns', 'exec', other.name, join(cniBinDir, 'loopback')], {
      input: JSON.stringify({ cniVersion: '1.0.0', name: 'lo-net', type: 'loopback' }),
      env: { ...env(), CNI_NETNS: netns, CNI_IFNAME: 'lo' },
      timeoutMs: 30_000,
    });
  // the reference's check that the plugin does not run inside CNI_NETNS: judged against the caller's netns
  const same = await call(other.path);
  assert.is(same.code, 1, same.stdout);
  assert.match(JSON.parse(same.stdout).msg, /plugin's netns and netns from CNI_NETNS should not be the same/);
  const pod = await box.netns('pod');
  await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
  const r = await call(pod.path);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match((await run('ip', ['-n', pod.name, '-o', 'link', 'show', 'lo'])).stdout, /[<,]UP[,>]/);
  const after = await requestStatus(socket);
  assert.is(after.served, before.served + 2, 'both calls were served by the daemon');
});

test("kubenet without an mtu takes the smallest MTU of the caller's interfaces, not the daemon's", async () => {
  // the caller's namespace: an up veth pair at 1280, below anything the daemon's namespace has
  const [m0, m1] = [box.name('m0'), box.name('m1')];
  await run('ip', [
    '-n',
    other.name,
    'link',
    'add',
    m0,
    'mtu',
    '1280',
    'type',
    'veth',
    'peer',
    'name',
    m1,
    'mtu',
    '1280',
  ]);
  await run('ip', ['-n', other.name, 'link', 'set', m0, 'up']);
  await run('ip', ['-n', other.name, 'link', 'set', m1, 'up']);
  const pod = await box.netns('kpod');
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: `${box.prefix}-kn`,
    type: 'kubenet',
    podCIDR: '10.200.197.0/24',
    bridge: box.name('kb'),
    nonMasqueradeCIDR: '0.0.0.0/0',
    dataDir: box.dir('kn-ipam'),
  });
  const call = (command: string) =>
    run('ip', ['netns', 'exec', other.name, join(cniBinDir, 'kubenet')], {
      input: conf,
      env: { ...env(), CNI_COMMAND: command, CNI_CONTAINERID: 'kn1', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0' },
      timeoutMs: 30_000,
    });
  const before = await requestStatus(socket);
  const added = await call('ADD');
  assert.is(added.code, 0, added.stdout + added.stderr);
  const podLink = (await run('ip', ['-n', pod.name, '-o', 'link', 'show', 'eth0'])).stdout;
  assert.match(podLink, / mtu 1280 /);
  const deleted = await call('DEL');
  assert.is(deleted.code, 0, deleted.stdout + deleted.stderr);
  const after = await requestStatus(socket);
  assert.is(after.served, before.served + 2, 'both calls were served by the daemon');
});

test('a caller the daemon cannot pin gets REJECT OtherNamespace: cold path, and status says why', async () => {
  const r = await run(join(dir, 'echo'), [], { input: '{}', env: env(hiddenSocket), timeoutMs: 30_000 });
  // the cold path has only the product's plugins: its answer proves the daemon did not run the call
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(JSON.parse(r.stdout).msg, /unknown plugin "echo"/);
  const st = await requestStatus(hiddenSocket);
  assert.is(st.served, 0);
  const other = st.rejections.find((x) => x.reason === 'OtherNamespace');
  assert.ok(other && other.count >= 1, JSON.stringify(st.rejections));
  assert.match(other!.lastMessage, /pid unknown/);
});

test.run();

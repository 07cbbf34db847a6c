// A caller in another network (or mount) namespace is never served by the daemon: its host side must change
// where the caller runs, so the daemon answers REJECT OtherNamespace and the shim takes the cold path there.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildDir, cniBinDir } from '../../host/paths.ts';
import { requestStatus } from '../../host/daemon/client.ts';
import { namespaceMismatch } from '../../host/daemon/peer.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('shim: callers in other namespaces');
let dir = '';
let socket = '';
let other: TestNetns;
let daemon: FixtureDaemon | undefined;

const env = () => ({
  WASM_CNI_SOCKET: socket,
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
  other = await box.netns('other');
  daemon = await spawnFixtureDaemon(socket);
});

test.after(async () => {
  await daemon?.stop();
  await box.cleanup();
});

test('namespaceMismatch: same namespaces → null; another netns or a gone pid → a reason', async () => {
  assert.is(namespaceMismatch(process.pid), null);
  assert.match(String(namespaceMismatch(undefined)), /pid unknown/);
  assert.match(String(namespaceMismatch(2 ** 22 + 12345)), /cannot read the net namespace/);
  const child = spawn('ip', ['netns', 'exec', other.name, 'sleep', '5'], { stdio: 'ignore' });
  try {
    let reason: string | null = null;
    for (let i = 0; i < 50 && !reason?.includes('another'); i++) {
      // `ip netns exec` switches namespaces and then execs sleep: wait for the switch
      await new Promise((r) => setTimeout(r, 20));
      const pids = (await run('pgrep', ['-P', String(child.pid)])).stdout.trim().split('\n').filter(Boolean);
      reason = namespaceMismatch(Number(pids[0] ?? child.pid));
    }
    assert.match(String(reason), /another (net|mnt) namespace/);
  } finally {
    child.kill();
  }
});

test("from the daemon's own namespaces the daemon serves the call", async () => {
  const r = await run(join(dir, 'echo'), [], { input: '{}', env: env(), timeoutMs: 20_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(JSON.parse(r.stdout).env.CNI_CONTAINERID, 'c1'); // the test-only echo plugin exists only in the daemon
});

test("from another netns the daemon refuses and the shim runs the plugin cold, in the caller's namespace", async () => {
  const before = await requestStatus(socket);
  const r = await run('ip', ['netns', 'exec', other.name, join(dir, 'echo')], {
    input: '{}',
    env: env(),
    timeoutMs: 30_000,
  });
  // the cold path has only the product's plugins: its answer proves the daemon did not run the call
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(JSON.parse(r.stdout).msg, /unknown plugin "echo"/);
  const after = await requestStatus(socket);
  assert.is(after.rejected, before.rejected + 1);
  assert.is(after.served, before.served);
});

test("a real plugin called from another netns runs there (cold path), not in the daemon's namespace", async () => {
  const call = (netns: string) =>
    run('ip', ['netns', 'exec', other.name, join(cniBinDir, 'loopback')], {
      input: JSON.stringify({ cniVersion: '1.0.0', name: 'lo-net', type: 'loopback' }),
      env: { ...env(), CNI_NETNS: netns, CNI_IFNAME: 'lo' },
      timeoutMs: 30_000,
    });
  // the reference's check that the plugin does not run inside CNI_NETNS: it fires only in the caller's netns
  const same = await call(other.path);
  assert.is(same.code, 1, same.stdout);
  assert.match(JSON.parse(same.stdout).msg, /plugin's netns and netns from CNI_NETNS should not be the same/);
  const pod = await box.netns('pod');
  await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
  const r = await call(pod.path);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match((await run('ip', ['-n', pod.name, '-o', 'link', 'show', 'lo'])).stdout, /[<,]UP[,>]/);
});

test.run();

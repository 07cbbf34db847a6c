// `wasm-cni daemon` and `wasm-cni daemon status` as processes, serving a real plugin through build/cni.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cniBinDir, projectRoot } from '../../host/paths.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('daemon cli');
const cli = ['--import', 'tsx', join(projectRoot, 'host', 'cli', 'main.ts')];
let socket = '';
let daemon: ChildProcess | undefined;
let daemonLog = '';
let pod: TestNetns;

const wasmCni = (args: string[]) => run(process.execPath, [...cli, ...args], { timeoutMs: 20_000 });

async function waitForSocket(path: string): Promise<void> {
  for (let i = 0; i < 150 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(path), `daemon socket did not appear: ${daemonLog}`);
}

test.before(async () => {
  socket = join(box.dir('cli'), 'run', 'wasm-cni.sock');
  pod = await box.netns('pod');
  await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
  daemon = spawn(process.execPath, [...cli, 'daemon', '--socket', socket], {
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  daemon.stderr!.on('data', (b) => {
    daemonLog += b;
  });
  await waitForSocket(socket);
});

test.after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
  }
  await box.cleanup();
});

test("a plugin exec'd from build/cni is served by the daemon and does its work", async () => {
  const r = await run(join(cniBinDir, 'loopback'), [], {
    input: '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}',
    env: {
      WASM_CNI_SOCKET: socket,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'cli-1',
      CNI_NETNS: pod.path,
      CNI_IFNAME: 'lo',
      CNI_PATH: cniBinDir,
    },
  });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(
    JSON.parse(r.stdout).ips.map((ip: { address: string }) => ip.address),
    ['127.0.0.1/8', '::1/128'],
  );
  assert.match((await run('ip', ['-n', pod.name, 'link', 'show', 'lo'])).stdout, /UP/);
  assert.match(daemonLog, /"event":"call","plugin":"loopback","command":"ADD"/);
});

test('daemon status shows the calls per plugin and command', async () => {
  const json = await wasmCni(['daemon', 'status', '--socket', socket, '--json']);
  assert.is(json.code, 0, json.stderr);
  const st = JSON.parse(json.stdout);
  assert.is(st.pid, daemon!.pid);
  assert.ok(st.plugins.includes('bridge'));
  assert.equal(
    st.calls.map((c: { plugin: string; command: string; calls: number; errors: number }) => [
      c.plugin,
      c.command,
      c.calls,
      c.errors,
    ]),
    [['loopback', 'ADD', 1, 0]],
  );
  const text = await wasmCni(['daemon', 'status', '--socket', socket]);
  assert.match(text.stdout, /loopback\s+ADD\s+1\s+0/);
  const absent = await wasmCni(['daemon', 'status', '--socket', join(box.dir('none'), 'x.sock')]);
  assert.is(absent.code, 1);
  assert.match(absent.stderr, /not running/);
});

test('a second daemon on a live socket refuses to start; SIGTERM stops the first and removes its socket', async () => {
  const second = await wasmCni(['daemon', '--socket', socket]);
  assert.is(second.code, 1);
  assert.match(second.stderr, /already serves/);
  const exited = new Promise<number | null>((r) => daemon!.once('exit', (code) => r(code)));
  daemon!.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.not.ok(existsSync(socket));
  assert.match(daemonLog, /"event":"stopped"/);
});

test.run();

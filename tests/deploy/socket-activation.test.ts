// Socket activation as deploy/wasm-cni.socket + deploy/wasm-cni.service set it up, with systemd-socket-activate
// standing in for systemd (no systemd as PID 1 here): the listener exists before the daemon, the first call
// starts the service's ExecStart (paths moved into a private bin dir and socket), which serves the inherited
// socket (LISTEN_FDS), says so in `daemon status`, exits when idle, and leaves the socket file to its owner.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { placeKit } from '../../host/daemon/kit.ts';
import { buildDir, projectRoot } from '../../host/paths.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import { daemonsServing, killDaemons, waitFor } from './_daemons.ts';

const box = new Sandbox();
const test = suite('deploy: socket activation');
let binDir = '';
let socket = '';
let ns: TestNetns;
let activator: ChildProcess | undefined;

/** `Key=value` lines of a systemd unit file. */
function unitValue(file: string, key: string): string {
  const line = readFileSync(join(projectRoot, 'deploy', file), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`${file} has no ${key}=`);
  return line.slice(key.length + 1).trim();
}

test.before(async () => {
  binDir = box.dir('bin');
  placeKit(binDir, buildDir, ['loopback']);
  socket = join(box.dir('run'), 'wasm-cni.sock');
  ns = await box.netns('lo');
});

test.after(async () => {
  if (activator && activator.exitCode === null) activator.kill('SIGKILL');
  await killDaemons(socket).catch(() => {});
  await box.cleanup();
});

test('the shipped units: the socket unit listens where the service serves, the service runs the kit', () => {
  const listen = unitValue('wasm-cni.socket', 'ListenStream');
  assert.is(listen, '/run/wasm-cni/wasm-cni.sock');
  assert.is(unitValue('wasm-cni.socket', 'SocketMode'), '0600');
  const exec = unitValue('wasm-cni.service', 'ExecStart').split(/\s+/);
  assert.is(exec[0], '/opt/cni/bin/wasm-cni');
  assert.is(exec[exec.indexOf('--socket') + 1], listen);
});

test('systemd-socket-activate + the service ExecStart: the first call starts the daemon on the inherited socket', async () => {
  const exec = unitValue('wasm-cni.service', 'ExecStart')
    .split(/\s+/)
    .map((a) => a.replace('/opt/cni/bin', binDir).replace('/run/wasm-cni/wasm-cni.sock', socket));
  activator = spawn('systemd-socket-activate', ['-l', socket, ...exec, '--idle-exit', '3'], {
    env: cleanEnv({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  activator.stderr!.on('data', (b) => {
    log += b;
  });
  await waitFor('the activator to listen', () => existsSync(socket));
  const comm = readFileSync(`/proc/${activator.pid}/comm`, 'utf8').trim();
  assert.match(comm, /^systemd-socket/, 'nothing but the listener runs before the first call');
  assert.equal(
    daemonsServing(socket).filter((p) => p !== activator!.pid),
    [],
  );

  const r = await run(join(binDir, 'loopback'), [], {
    input: '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}',
    env: {
      WASM_CNI_SOCKET: socket,
      WASM_CNI_ON_DEMAND: 'false',
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'sa1',
      CNI_NETNS: ns.path,
      CNI_IFNAME: 'lo',
      CNI_PATH: binDir,
    },
    timeoutMs: 60_000,
  });
  assert.is(r.code, 0, r.stdout + r.stderr + log);
  const status = await requestStatus(socket);
  assert.is(status.served, 1, 'the call that triggered the activation was served by the daemon');
  assert.is(status.pid, activator.pid, 'the activator exec()d the service command: LISTEN_PID matched');
  assert.is(status.origin?.startedBy, 'socket-activation');
  const shown = await run(join(binDir, 'wasm-cni'), ['daemon', 'status', '--socket', socket]);
  assert.match(shown.stdout, /started by systemd socket activation/);

  await waitFor('the idle daemon to exit', () => activator!.exitCode !== null, 20_000);
  assert.match(log, /"event":"idle-exit"/);
  assert.ok(existsSync(socket), 'the socket file belongs to systemd: the daemon does not unlink it');
});

test.run();

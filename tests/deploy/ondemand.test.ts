// Start on demand: an installed bin dir with nothing running. The first call starts one daemon (detached, its
// own session, a log, not holding the caller's pipes), hands it the call, and later calls reuse it; 50 calls
// racing on a host with no daemon start exactly one; the daemon exits by itself after idle-exit seconds; and
// `on-demand = false` in wasm-cni.conf keeps every call on the cold path. (No systemd runs here as PID 1, so the
// `systemd-run --scope` branch is not exercised; the direct start is.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { placeKit, settingsFileName } from '../../host/daemon/kit.ts';
import { buildDir } from '../../host/paths.ts';
import { cleanEnv, run, type RunResult } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';
import { daemonsServing, killDaemons, waitFor } from './_daemons.ts';

const box = new Sandbox();
const test = suite('deploy: on-demand start');
let binDir = '';
let ns: TestNetns;
const sockets: string[] = [];

function newSocket(label: string): string {
  const s = join(box.dir(label), 'run', 'wasm-cni.sock'); // run/ does not exist yet: the shim creates it
  sockets.push(s);
  return s;
}

function loopback(socket: string, containerId: string, command = 'ADD'): Promise<RunResult> {
  return run(join(binDir, 'loopback'), [], {
    input: '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}',
    env: {
      WASM_CNI_SOCKET: socket,
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: ns.path,
      CNI_IFNAME: 'lo',
      CNI_PATH: binDir,
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    },
    timeoutMs: 60_000,
  });
}

function settings(text: string): void {
  writeFileSync(join(binDir, settingsFileName), text);
}

test.before(async () => {
  binDir = box.dir('bin');
  placeKit(binDir, buildDir, ['loopback']);
  ns = await box.netns('lo');
});

test.after(async () => {
  for (const s of sockets) await killDaemons(s).catch(() => {});
  await box.cleanup();
});

test('the first call starts a detached daemon and is served by it; the next call reuses it', async () => {
  settings('on-demand = true\nidle-exit = 60\n');
  const socket = newSocket('first');
  const first = await loopback(socket, 'c1');
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.is(JSON.parse(first.stdout).interfaces[0].name, 'lo');
  const status = await requestStatus(socket);
  assert.is(status.served, 1, 'the first call itself went to the new daemon');
  assert.equal(status.origin, { startedBy: 'on-demand', idleExitSeconds: 60 });
  const [pid] = daemonsServing(socket);
  assert.is(pid, status.pid);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const [ppid, , sid] = [Number(stat[1]), Number(stat[2]), Number(stat[3])];
  assert.is.not(sid, Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[3]), 'own session');
  assert.is.not(ppid, process.pid, 'not our child');
  assert.match(readFileSync(`${socket}.log`, 'utf8'), /"event":"listening"/, 'logs to <socket>.log');
  const status2 = await (async () => {
    const again = await loopback(socket, 'c2');
    assert.is(again.code, 0, again.stdout);
    return requestStatus(socket);
  })();
  assert.is(status2.pid, pid);
  assert.is(status2.served, 2);
  const shown = await run(join(binDir, 'wasm-cni'), ['daemon', 'status', '--socket', socket]);
  assert.match(shown.stdout, /started on demand by a CNI executable; exits after 60 s without calls/);
  await killDaemons(socket);
});

test('50 calls racing on a host with no daemon: exactly one daemon starts and serves them all', async () => {
  settings('idle-exit = 60\n');
  const socket = newSocket('race');
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => loopback(socket, `race${i}`)));
  for (const r of results) assert.is(r.code, 0, r.stdout + r.stderr);
  const pids = daemonsServing(socket);
  assert.is(pids.length, 1, `daemons: ${pids.join(', ')}`);
  const status = await requestStatus(socket);
  assert.is(status.pid, pids[0]);
  assert.is(status.served, 50, 'every call was served by the one daemon');
  await killDaemons(socket);
});

test('the daemon exits by itself after idle-exit seconds; the next call starts a new one', async () => {
  settings('idle-exit = 2\n');
  const socket = newSocket('idle');
  assert.is((await loopback(socket, 'i1')).code, 0);
  const [first] = daemonsServing(socket);
  assert.ok(first);
  await waitFor('the idle daemon to exit', () => daemonsServing(socket).length === 0, 20_000);
  assert.not.ok(existsSync(socket), 'it removed its socket');
  assert.match(readFileSync(`${socket}.log`, 'utf8'), /"event":"idle-exit"/);
  assert.is((await loopback(socket, 'i2')).code, 0);
  const [second] = daemonsServing(socket);
  assert.ok(second && second !== first, 'a new daemon');
  assert.match(readFileSync(`${socket}.log.1`, 'utf8'), /"event":"idle-exit"/, 'the previous log kept as .log.1');
  await killDaemons(socket);
});

test('on-demand = false in wasm-cni.conf: no daemon starts, the call runs on the cold path', async () => {
  settings('# operator says no\non-demand = false\n');
  const socket = newSocket('off');
  const r = await loopback(socket, 'o1');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(daemonsServing(socket), []);
  assert.not.ok(existsSync(socket));
});

test('the socket key of wasm-cni.conf names the daemon socket when the environment does not', async () => {
  const socket = newSocket('conf');
  settings(`on-demand = true\nidle-exit = 30\nsocket = ${socket}\n`);
  const r = await run(join(binDir, 'loopback'), [], {
    input: '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}',
    env: {
      WASM_CNI_SOCKET: undefined,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'k1',
      CNI_NETNS: ns.path,
      CNI_IFNAME: 'lo',
      CNI_PATH: binDir,
    },
    timeoutMs: 60_000,
  });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is((await requestStatus(socket)).served, 1);
  await killDaemons(socket);
});

test('a daemon started on purpose (unit, DaemonSet, by hand) takes over from one started on demand', async () => {
  settings('on-demand = true\nidle-exit = 60\n');
  const socket = newSocket('takeover');
  assert.is((await loopback(socket, 't1')).code, 0);
  const onDemand = (await requestStatus(socket)).pid;
  const manual = spawn(join(binDir, 'wasm-cni'), ['daemon', '--socket', socket], {
    env: cleanEnv({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }),
    stdio: 'ignore',
  });
  try {
    await waitFor(
      'the new daemon to serve the socket',
      () => daemonsServing(socket).length === 1 && daemonsServing(socket)[0] === manual.pid,
    );
    const status = await requestStatus(socket);
    assert.is(status.pid, manual.pid);
    assert.is(status.origin?.startedBy, 'manual');
    assert.is.not(status.pid, onDemand);
    assert.is((await loopback(socket, 't2')).code, 0);
    assert.is((await requestStatus(socket)).served, 1, 'calls now go to the new daemon');
  } finally {
    manual.kill('SIGTERM');
    await new Promise((r) => manual.once('exit', r));
  }
});

test.run();

// The daemon's side of the protocol, driven with raw frames: limits, bad and truncated frames, versions,
// start-up over stale or live sockets, graceful close, status and metrics, socket permissions.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ownBuild } from '../../host/build-identity.ts';
import { callDaemon, exchange, requestStatus } from '../../host/daemon/client.ts';
import type { LogSink } from '../../host/daemon/log.ts';
import { startDaemon, type Daemon } from '../../host/daemon/server.ts';
import {
  decodeReject,
  encodeCall,
  encodeFrame,
  HEADER_LEN,
  Kind,
  MAX_PAYLOAD,
  RejectReason,
  WIRE_VERSION,
  type CallResult,
  type Rejection,
} from '../../host/daemon/wire.ts';
import { spawnFixtureDaemon, testPluginsModule } from '../_lib/daemon-fixture.ts';
import { plugins as testPlugins } from '../_lib/test-plugins.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('daemon');
let dir = '';
let socket = '';
let daemon: Daemon | undefined;
const events: Array<{ level: string; event: string; fields: Record<string, unknown> }> = [];
const log: LogSink = (level, event, fields = {}) => {
  events.push({ level, event, fields });
};
const extraDaemons: Daemon[] = [];

async function startExtra(path: string, more: Partial<Parameters<typeof startDaemon>[0]> = {}): Promise<Daemon> {
  const d = await startDaemon({ socketPath: path, plugins: testPlugins, log, ...more });
  extraDaemons.push(d);
  return d;
}

const echoCall = (extra: Record<string, string> = {}) => ({
  plugin: 'echo',
  env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', ...extra },
  stdin: Buffer.from('{}'),
});
async function rejectsWith(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

const isResult = (r: CallResult | Rejection): r is CallResult => 'exitCode' in r;

/** Opens a connection, lets `send` write whatever it likes, and resolves with everything the daemon sent back. */
function rawSession(path: string, send: (s: Socket) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('daemon kept the connection open'));
    }, 5000);
    s.on('connect', () => send(s));
    s.on('data', (b) => got.push(b));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

function rejection(reply: Buffer): Rejection {
  assert.ok(reply.length >= HEADER_LEN, `a reply frame (got ${reply.length} bytes)`);
  assert.is(reply.readUInt16BE(6), Kind.Reject);
  return decodeReject(reply.subarray(HEADER_LEN));
}

test.before(async () => {
  dir = box.dir('daemon');
  socket = join(dir, 'd.sock');
  daemon = await startDaemon({ socketPath: socket, plugins: testPlugins, log, requestTimeoutMs: 300 });
});

test.after(async () => {
  for (const d of extraDaemons) await d.close();
  await daemon?.close();
  await box.cleanup();
});

test('socket is root-only: mode 0600 in a directory only root can enter', () => {
  assert.is(statSync(socket).mode & 0o777, 0o600);
  assert.ok(statSync(socket).isSocket());
  assert.is(statSync(dir).mode & 0o077, 0);
});

test('a call runs the handler and returns its result; status counts it per plugin and command, and names the build', async () => {
  const r = await callDaemon(socket, echoCall({ CNI_ARGS: 'EXIT=2' }));
  assert.ok(isResult(r));
  assert.is(r.exitCode, 2);
  await callDaemon(socket, echoCall({ CNI_COMMAND: 'DEL' }));
  const st = await requestStatus(socket);
  assert.is(st.pid, process.pid);
  assert.is(st.protocolVersion, WIRE_VERSION);
  assert.equal(st.build, ownBuild());
  assert.ok(st.plugins.includes('echo'));
  const add = st.calls.find((c) => c.plugin === 'echo' && c.command === 'ADD');
  assert.ok(add && add.calls >= 1 && add.errors >= 1, JSON.stringify(st.calls));
  assert.ok(st.calls.find((c) => c.plugin === 'echo' && c.command === 'DEL'));
  const logged = events.find((e) => e.event === 'call' && e.fields.command === 'DEL');
  assert.ok(logged && typeof logged.fields.ms === 'number' && logged.fields.containerId === 'c');
});

test('an unknown plugin is a CNI error result, not a protocol failure', async () => {
  const r = await callDaemon(socket, { plugin: 'nope', env: {}, stdin: new Uint8Array() });
  assert.ok(isResult(r));
  assert.is(r.exitCode, 1);
  assert.match(JSON.parse(r.stdout).msg, /unknown plugin "nope"/);
});

test('another protocol version is rejected before anything runs', async () => {
  const served = (await requestStatus(socket)).served;
  const reply = await exchange(socket, encodeFrame(Kind.Call, Buffer.alloc(4), WIRE_VERSION + 1));
  assert.is(reply.header.kind, Kind.Reject);
  assert.is(decodeReject(reply.payload).reason, RejectReason.Version);
  assert.is((await requestStatus(socket)).served, served);
});

test('bad magic, oversized length and malformed payloads are rejected; the daemon keeps serving', async () => {
  const bad = rejection(await rawSession(socket, (s) => s.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'))));
  assert.is(bad.reason, RejectReason.BadFrame);
  const header = encodeFrame(Kind.Call, Buffer.alloc(0));
  header.writeUInt32BE(MAX_PAYLOAD + 1, 8);
  const big = rejection(await rawSession(socket, (s) => s.write(header))); // answered from the header alone
  assert.match(big.message, /limit/);
  const call = encodeCall(echoCall());
  const noEq = Buffer.from(call);
  noEq[noEq.indexOf('CNI_COMMAND=') + 11] = 0x2d; // "CNI_COMMAND-ADD": an env entry without '='
  assert.match(rejection(await rawSession(socket, (s) => s.write(noEq))).message, /KEY=/);
  const stray = Buffer.concat([call, Buffer.from('x')]);
  stray.writeUInt32BE(call.length - HEADER_LEN + 1, 8); // payload one byte longer than its fields
  assert.match(rejection(await rawSession(socket, (s) => s.write(stray))).message, /stray/);
  const kind = rejection(await rawSession(socket, (s) => s.write(encodeFrame(99, Buffer.alloc(0)))));
  assert.match(kind.message, /kind 99/);
  assert.ok(isResult(await callDaemon(socket, echoCall())));
});

test('a truncated frame runs nothing and is logged; a silent client is dropped after the request timeout', async () => {
  const served = (await requestStatus(socket)).served;
  const call = encodeCall(echoCall());
  const reply = await rawSession(socket, (s) => s.end(call.subarray(0, call.length - 3)));
  assert.is(reply.length, 0);
  assert.ok(events.some((e) => e.event === 'truncated-frame'));
  const t0 = Date.now();
  assert.is((await rawSession(socket, () => {})).length, 0);
  assert.ok(Date.now() - t0 < 3000);
  assert.ok(events.some((e) => e.event === 'request-timeout'));
  assert.is((await requestStatus(socket)).served, served);
});

test('start-up: a stale socket is replaced, a live daemon is not (unless replacing), other files are left alone', async () => {
  const stalePath = join(dir, 'stale.sock');
  const dead = await spawnFixtureDaemon(stalePath);
  await dead.kill();
  assert.ok(existsSync(stalePath));
  const d = await startExtra(stalePath);
  assert.is((await requestStatus(stalePath)).pid, process.pid);
  await rejectsWith(() => startExtra(stalePath), /already serves/);
  await d.close();
  assert.not.ok(existsSync(stalePath), 'close removes its own socket');

  const filePath = join(dir, 'not-a-socket');
  writeFileSync(filePath, 'keep me');
  await rejectsWith(() => startExtra(filePath), /not a socket/);
  assert.is(readFileSync(filePath, 'utf8'), 'keep me');
});

test('--replace takes over a live daemon: it finishes its in-flight call, exits, and leaves the new socket', async () => {
  const path = join(dir, 'replace.sock');
  const old = await spawnFixtureDaemon(path);
  const inFlight = callDaemon(path, {
    plugin: 'sleep',
    env: { CNI_ARGS: 'MS=400', CNI_CONTAINERID: 'r' },
    stdin: new Uint8Array(),
  });
  await new Promise((r) => setTimeout(r, 150));
  const exited = new Promise<number | null>((r) => old.proc.once('exit', (code) => r(code)));
  await startExtra(path, { replace: true });
  const r = await inFlight;
  assert.ok(isResult(r) && r.exitCode === 0, 'the old daemon completed its call');
  assert.is(JSON.parse((r as CallResult).stdout).pid, old.pid);
  assert.is(await exited, 0);
  assert.is((await requestStatus(path)).pid, process.pid, 'the path now names the new daemon');
});

test('close(): in-flight calls finish, waiting connections are told to go cold, the socket disappears', async () => {
  const path = join(dir, 'drain.sock');
  const d = await startExtra(path);
  const waiting = connect(path);
  await new Promise((r) => waiting.once('connect', r));
  const inFlight = callDaemon(path, {
    plugin: 'sleep',
    env: { CNI_ARGS: 'MS=300', CNI_CONTAINERID: 'x' },
    stdin: new Uint8Array(),
  });
  await new Promise((r) => setTimeout(r, 100));
  const closed = d.close();
  const late: Promise<Buffer> = new Promise((resolve) => {
    const got: Buffer[] = [];
    waiting.on('data', (b) => got.push(b));
    waiting.on('close', () => resolve(Buffer.concat(got)));
    waiting.write(encodeCall(echoCall()));
  });
  assert.not.ok(existsSync(path), 'new callers find no socket (cold path) while draining');
  const r = await inFlight;
  assert.ok(isResult(r) && r.exitCode === 0);
  assert.is(rejection(await late).reason, RejectReason.Draining);
  await closed;
  assert.is(d.status().inFlight, 0);
});

test('worker threads: blocking handlers for different containers run in parallel; a dying worker fails only its call', async () => {
  const path = join(dir, 'workers.sock');
  const d = await startDaemon({ socketPath: path, pluginsModule: testPluginsModule, workers: 2, log });
  extraDaemons.push(d);
  assert.is(d.status().workers, 2);
  const block = (cid: string) =>
    callDaemon(path, { plugin: 'block', env: { CNI_CONTAINERID: cid, CNI_ARGS: 'MS=300' }, stdin: new Uint8Array() });
  const spans = (await Promise.all([block('a'), block('b')])).map((r) => {
    assert.ok(isResult(r) && r.exitCode === 0);
    return JSON.parse((r as CallResult).stdout) as { start: number; end: number; threadId: number };
  });
  assert.is.not(spans[0]!.threadId, spans[1]!.threadId);
  assert.ok(spans[0]!.start < spans[1]!.end && spans[1]!.start < spans[0]!.end, 'the two calls overlapped');

  const crashed = await callDaemon(path, { plugin: 'crash', env: { CNI_CONTAINERID: 'z' }, stdin: new Uint8Array() });
  assert.ok(isResult(crashed));
  assert.is(crashed.exitCode, 1);
  assert.is(JSON.parse(crashed.stdout).code, 11);
  assert.ok(events.some((e) => e.event === 'worker-exit'));
  for (let i = 0; i < 3; i++) {
    const r = await callDaemon(path, echoCall());
    assert.ok(isResult(r) && r.exitCode === 0, 'served after the worker was replaced');
  }
});

test('a failing handler import or throw becomes a CNI error result', async () => {
  const path = join(dir, 'throwing.sock');
  await startExtra(path, {
    plugins: {
      broken: async () => {
        throw new Error('module missing');
      },
      throws: async () => async () => {
        throw new Error('handler bug');
      },
    },
  });
  for (const [plugin, msg] of [
    ['broken', /module missing/],
    ['throws', /handler bug/],
  ] as const) {
    const r = await callDaemon(path, { plugin, env: {}, stdin: new Uint8Array() });
    assert.ok(isResult(r));
    assert.is(r.exitCode, 1);
    assert.match(JSON.parse(r.stdout).msg, msg);
  }
});

test.run();

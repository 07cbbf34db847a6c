// The wire protocol under abuse: random, truncated, oversized and replayed frames, clients that connect and
// never send, 1,000 idle connections, more connections than allowed, more bytes than the daemon buffers.
// The daemon (a real process, so its file descriptors can be counted) never crashes, keeps serving others,
// drops idle clients after its request timeout and bounds its connections and buffered bytes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { callDaemon, requestStatus } from '../../host/daemon/client.ts';
import {
  encodeCall,
  encodeFrame,
  HEADER_LEN,
  Kind,
  MAX_PAYLOAD,
  WIRE_MAGIC,
  WIRE_VERSION,
} from '../../host/daemon/wire.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('daemon: wire fuzzing and limits');
let dir = '';
let socket = '';
let limited = '';
let daemon: FixtureDaemon | undefined;
let small: FixtureDaemon | undefined;
const REQUEST_TIMEOUT_MS = 20_000; // long enough to accept (and pin) 1,000 connections on a loaded 2-core machine

const echo = (cid = 'fz') => ({
  plugin: 'echo',
  env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid },
  stdin: Buffer.from('{}'),
});

async function served(path = socket): Promise<number> {
  return (await requestStatus(path)).served;
}

async function echoWorks(path = socket): Promise<void> {
  const r = await callDaemon(path, echo(), 10_000);
  assert.ok('exitCode' in r && r.exitCode === 0, JSON.stringify(r));
}

/** Sends bytes (optionally half-closing), resolves with what came back once the daemon closed the connection. */
function session(path: string, bytes: Uint8Array, end = true, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`daemon kept the connection open (${bytes.length} bytes sent)`));
    }, timeoutMs);
    s.on('connect', () => (end ? s.end(bytes) : s.write(bytes)));
    s.on('data', (b) => got.push(b));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

/**
 * n connections that never send, opened 100 at a time: a unix socket's listen backlog refuses connects at once
 * when full (EAGAIN), so a burst of 1,000 measures the backlog, not the daemon.
 */
async function openIdle(path: string, n: number): Promise<Socket[]> {
  const open = () =>
    new Promise<Socket>((resolve) => {
      const s = connect(path);
      s.on('error', () => {});
      s.once('connect', () => resolve(s));
      s.once('close', () => resolve(s));
    });
  const all: Socket[] = [];
  for (let i = 0; i < n; i += 100) all.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, open))));
  return all;
}

const daemonFds = (d: FixtureDaemon) => readdirSync(`/proc/${d.pid}/fd`).length;

test.before(async () => {
  dir = box.dir('fuzz');
  socket = join(dir, 'd.sock');
  limited = join(dir, 'small.sock');
  daemon = await spawnFixtureDaemon(socket, [], [], {
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxConnections: 1500,
    maxBufferedBytes: 8 << 20,
  });
  small = await spawnFixtureDaemon(limited, [], [], { requestTimeoutMs: 5000, maxConnections: 20 });
});

test.after(async () => {
  await daemon?.stop();
  await small?.stop();
  await box.cleanup();
});

test('random bytes and random frames: answered or dropped, never run, never a crash', async () => {
  const before = await served();
  const frameish = fc.record({
    version: fc.oneof(fc.constant(WIRE_VERSION), fc.integer({ min: 0, max: 0xffff })),
    kind: fc.oneof(fc.constant(Kind.Call), fc.integer({ min: 0, max: 0xffff })),
    payload: fc.uint8Array({ maxLength: 512 }),
    lie: fc.integer({ min: -64, max: 64 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 256 }), frameish), async (input) => {
      let bytes: Uint8Array;
      if (input instanceof Uint8Array) bytes = input;
      else {
        const f = encodeFrame(input.kind === Kind.Status ? Kind.Call : input.kind, input.payload, input.version);
        f.writeUInt32BE(Math.max(0, input.payload.length + input.lie), 8); // a length that may lie
        bytes = f;
      }
      const reply = await session(socket, bytes);
      if (reply.length > 0) {
        assert.ok(reply.subarray(0, 4).equals(WIRE_MAGIC));
        assert.ok([Kind.Reject, Kind.Result, Kind.StatusReply].includes(reply.readUInt16BE(6) as 3));
      }
    }),
    { numRuns: 150 },
  );
  // a random payload that happens to decode is a call to an unknown plugin at most: only echo could run here
  assert.ok((await served()) - before <= 150);
  await echoWorks();
});

test('truncated frames run nothing: every prefix of a valid call, then the connection ends', async () => {
  const call = encodeCall(echo());
  const before = await served();
  for (let cut = 0; cut < call.length; cut += Math.max(1, Math.floor(call.length / 40)))
    assert.is((await session(socket, call.subarray(0, cut))).length, 0);
  assert.is(await served(), before);
  await echoWorks();
});

test('oversized: a header announcing more than the limit is refused before any payload is read', async () => {
  const header = encodeFrame(Kind.Call, Buffer.alloc(0));
  header.writeUInt32BE(MAX_PAYLOAD + 1, 8);
  const reply = await session(socket, header, false);
  assert.is(reply.readUInt16BE(6), Kind.Reject);
  assert.match(reply.subarray(HEADER_LEN + 6).toString(), /limit/);
});

test('the byte budget: clients that send big partial frames are refused once it is spent', async () => {
  const big = encodeFrame(Kind.Call, Buffer.alloc(3 << 20));
  const partial = big.subarray(0, big.length - 1); // never completes
  const replies = await Promise.all(
    Array.from({ length: 6 }, () => session(socket, partial, false, REQUEST_TIMEOUT_MS + 5000)),
  );
  const refused = replies.filter((r) => r.length > 0 && /buffering too many/.test(r.toString()));
  assert.ok(refused.length >= 3, `${refused.length} of 6 refused`); // 8 MiB budget: at most two 3 MiB frames
  await echoWorks();
});

test('replayed frames: twice on one connection is a bad frame; the same frame on a new connection is a new call', async () => {
  const call = encodeCall(echo('replay'));
  const twice = await session(socket, Buffer.concat([call, call]), false);
  assert.is(twice.readUInt16BE(6), Kind.Reject);
  assert.match(twice.toString(), /bytes after the frame/);
  const before = await served();
  for (let i = 0; i < 2; i++) assert.is((await session(socket, call, false)).readUInt16BE(6), Kind.Result);
  assert.is(await served(), before + 2); // each connection is judged anew by its own peer credentials
});

test('1,000 idle connections: others are still served; the idle ones are dropped after the timeout', async () => {
  const baseline = daemonFds(daemon!);
  const idle = await openIdle(socket, 1000);
  let peak = 0;
  const until = Date.now() + REQUEST_TIMEOUT_MS - 3000; // before the first idle ones time out
  while (Date.now() < until && peak < 990) {
    peak = Math.max(peak, (await requestStatus(socket)).connections);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(peak >= 990, `the daemon held at most ${peak} connections at once`);
  await echoWorks();
  const closed = await Promise.all(
    idle.map((s) => (s.destroyed ? Promise.resolve() : new Promise<void>((r) => s.once('close', () => r())))),
  );
  assert.is(closed.length, 1000);
  assert.ok((await requestStatus(socket)).connections <= 2);
  assert.ok(daemonFds(daemon!) <= baseline + 5, `fds ${daemonFds(daemon!)} vs ${baseline}`);
  await echoWorks();
});

test('maxConnections: beyond the limit connections are closed at once; after them the daemon serves again', async () => {
  const conns = await openIdle(limited, 60);
  await new Promise((r) => setTimeout(r, 200));
  const st = await requestStatus(limited).catch(() => undefined); // may itself be dropped while full
  if (st) assert.ok(st.connections <= 20, `connections ${st.connections}`);
  const open = conns.filter((s) => !s.destroyed && !s.readableEnded).length;
  for (const s of conns) s.destroy();
  assert.ok(open <= 25, `${open} connections still open`);
  await new Promise((r) => setTimeout(r, 200));
  await echoWorks(limited);
});

test.run();

// Pinning the process on the other end of a connection: a live caller is pinned with its world; one that is
// gone by the time the daemon looks (its pid may already name another process) is never taken for it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { socketFd } from '../../host/daemon/peer.ts';
import { pinCaller } from '../../host/daemon/pin.ts';
import { peerCredOfSocket } from '../../host/native/peercred.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('caller pinning');
let path = '';
let server: Server;
const accepted: Socket[] = [];
let onAccept: ((s: Socket) => void) | undefined;

test.before(async () => {
  path = join(box.dir('pin'), 'p.sock');
  server = createServer((s) => {
    accepted.push(s);
    onAccept?.(s);
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
});

test.after(async () => {
  for (const s of accepted) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  await box.cleanup();
});

const nextAccepted = () => new Promise<Socket>((r) => (onAccept = r));

test('a live caller in our own world: pinned, identity world, its capabilities and user namespace', async () => {
  const got = nextAccepted();
  const client = connect(path);
  const s = await got;
  const cred = peerCredOfSocket(s);
  assert.is(cred.pid, process.pid);
  const pin = pinCaller(socketFd(s)!, cred.pid, cred.uid);
  assert.ok(pin.ok, pin.ok ? '' : pin.reason);
  if (pin.ok) {
    assert.equal(pin.caller.data, { pid: process.pid, root: '/', netns: null, mntns: null });
    assert.ok(pin.caller.sameUserns);
    assert.ok((pin.caller.capEff & (1n << 12n)) !== 0n, 'root here holds CAP_NET_ADMIN');
    pin.caller.release();
  }
  client.destroy();
});

test('a caller that exited before it was pinned is refused, not mistaken for whoever has its pid now', async () => {
  const got = nextAccepted();
  const child = spawn(process.execPath, [
    '-e',
    `require('net').connect(${JSON.stringify(path)}).on('connect', function () { process.exit(0); });`,
  ]);
  const s = await got;
  const cred = peerCredOfSocket(s);
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  await new Promise((r) => setTimeout(r, 100)); // reaped
  const pin = pinCaller(socketFd(s)!, cred.pid, cred.uid);
  assert.not.ok(pin.ok);
  if (!pin.ok) assert.match(pin.reason, /exited|cannot pin|not the process/);
  assert.is(pinCaller(socketFd(s)!, 0, 0).ok, false, 'no pid: cannot pin');
});

test.run();

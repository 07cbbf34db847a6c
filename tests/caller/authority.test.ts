// The daemon's trust boundary: it never does for a caller what the caller could not do itself. Each caller
// runs loopback ADD on a pod whose `lo` is down, once through the daemon and once cold (no daemon socket):
// uid 0 without capabilities, uid 0 with only CAP_NET_ADMIN, root of a new user namespace — the daemon refuses
// with a CNI error naming what is missing, nothing changes, and cold fails too. An --allow-uid uid is an
// explicit grant: served by a daemon that grants it, refused by one that does not.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { cniBinDir } from '../../host/paths.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run, type RunResult } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('caller authority: daemon vs cold');
const NOBODY = 65534;
let dir = '';
let socket = '';
let grantSocket = '';
let pod: TestNetns;
let daemon: FixtureDaemon | undefined;
let granting: FixtureDaemon | undefined;

test.before(async () => {
  dir = box.dir('auth');
  chmodSync(dir, 0o711); // the granted uid must reach the socket
  socket = join(dir, 'root-only.sock');
  grantSocket = join(dir, 'grant.sock');
  pod = await box.netns('pod');
  daemon = await spawnFixtureDaemon(socket);
  granting = await spawnFixtureDaemon(grantSocket, [NOBODY]);
});

test.after(async () => {
  await daemon?.stop();
  await granting?.stop();
  await box.cleanup();
});

async function loUp(): Promise<boolean> {
  return /[<,]UP[,>]/.test((await run('ip', ['-n', pod.name, '-o', 'link', 'show', 'lo'])).stdout);
}

/** loopback ADD as `wrap` says, through the daemon at `sock` (or cold: a socket path that does not exist). */
function loopbackAdd(wrap: string[], sock: string): Promise<RunResult> {
  return run(wrap[0]!, [...wrap.slice(1), join(cniBinDir, 'loopback')], {
    input: JSON.stringify({ cniVersion: '1.0.0', name: 'lo-net', type: 'loopback' }),
    env: {
      WASM_CNI_SOCKET: sock,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'auth1',
      CNI_NETNS: pod.path,
      CNI_IFNAME: 'lo',
      CNI_PATH: cniBinDir,
    },
    timeoutMs: 30_000,
  });
}

const cold = () => join(dir, 'no-daemon.sock');

const callers: Array<{ name: string; wrap: string[]; lacks: RegExp }> = [
  {
    name: 'uid 0 without capabilities',
    wrap: ['setpriv', '--bounding-set', '-all', '--inh-caps', '-all', '--ambient-caps', '-all', '--'],
    lacks: /lacks CAP_NET_ADMIN and CAP_SYS_ADMIN/,
  },
  {
    name: 'uid 0 with only CAP_NET_ADMIN',
    wrap: ['setpriv', '--bounding-set', '-all,+net_admin', '--inh-caps', '-all', '--ambient-caps', '-all', '--'],
    lacks: /lacks CAP_SYS_ADMIN \(/,
  },
  {
    name: 'root of a new user namespace',
    wrap: ['unshare', '--user', '--map-root-user', '--'],
    lacks: /another user namespace/,
  },
];

for (const c of callers) {
  test(`${c.name}: the daemon refuses, naming what is missing; cold fails too; nothing changes`, async () => {
    await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
    const before = await requestStatus(socket);
    const viaDaemon = await loopbackAdd(c.wrap, socket);
    assert.is(viaDaemon.code, 1, viaDaemon.stdout + viaDaemon.stderr);
    const err = JSON.parse(viaDaemon.stdout) as { msg: string; details: string };
    assert.match(err.msg, /refused/);
    assert.match(err.details, c.lacks);
    assert.not.ok(await loUp(), 'the daemon changed nothing');
    const after = await requestStatus(socket);
    assert.is(after.served, before.served);
    assert.ok(after.rejections.some((r) => r.reason === 'Denied' && c.lacks.test(r.lastMessage)));

    const coldRun = await loopbackAdd(c.wrap, cold());
    assert.is(coldRun.code, 1, `cold must fail as well: ${coldRun.stdout}`);
    assert.not.ok(await loUp());
  });
}

test('uid 0 with every capability: served by the daemon and cold alike (the control)', async () => {
  await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
  const viaDaemon = await loopbackAdd(['env'], socket);
  assert.is(viaDaemon.code, 0, viaDaemon.stdout);
  assert.ok(await loUp());
  await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
  const coldRun = await loopbackAdd(['env'], cold());
  assert.is(coldRun.code, 0, coldRun.stdout);
  assert.ok(await loUp());
});

test('an --allow-uid uid: an explicit grant, served only by the daemon that grants it', async () => {
  const asNobody = ['setpriv', '--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--'];
  await run('ip', ['-n', pod.name, 'link', 'set', 'lo', 'down']);
  const coldRun = await loopbackAdd(asNobody, cold());
  assert.is(coldRun.code, 1, `on its own the uid cannot: ${coldRun.stdout}`);
  assert.not.ok(await loUp());
  // the root-only daemon's socket is closed to it: the shim goes cold, with the uid's own privileges
  const refused = await loopbackAdd(asNobody, socket);
  assert.is(refused.code, 1, refused.stdout);
  assert.not.ok(await loUp());
  const granted = await loopbackAdd(asNobody, grantSocket);
  assert.is(granted.code, 0, granted.stdout + granted.stderr);
  assert.ok(await loUp(), 'the granting daemon acted for it');
});

test.run();

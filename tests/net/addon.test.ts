// The native addon: named namespaces, netns-scoped netlink sockets and sysctls (the thread always comes
// back), flock interoperating with util-linux flock(1) (same flock(2) the Go plugins use), SO_PEERCRED.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { addon, isAddonError } from '../../host/native/addon.ts';
import { FileLock, LockTimeoutError, withFileLock } from '../../host/native/flock.ts';
import { createNamedNetns, netnsIdentity, removeNamedNetns, sameNetns } from '../../host/native/netns.ts';
import { peerCredOfSocket } from '../../host/native/peercred.ts';
import { sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
let home: ReturnType<typeof netnsIdentity>;

const threadNs = () => netnsIdentity('/proc/thread-self/ns/net');
const sameAsHome = () => {
  const t = threadNs();
  return t.dev === home.dev && t.ino === home.ino;
};

function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error('expected an error');
}

const Netns = suite('addon: namespaces');
Netns.before(async () => {
  home = threadNs();
  ns = await sb.netns('a');
});
Netns.after(() => sb.cleanup());

Netns('create and remove a named netns like ip netns add/delete', async () => {
  const name = `${sb.prefix}-named`;
  const path = createNamedNetns(name);
  assert.is(path, `/var/run/netns/${name}`);
  assert.ok((await sh('ip', ['netns', 'list'])).includes(name));
  const links = JSON.parse(await sh('ip', ['-n', name, '-j', 'link', 'show']));
  assert.equal(
    links.map((l: { ifname: string }) => l.ifname),
    ['lo'],
  );
  assert.not.ok(sameNetns(path, '/proc/self/ns/net'));
  assert.ok(sameNetns(path, path));
  assert.ok(sameAsHome());
  const dup = thrown(() => createNamedNetns(name));
  assert.is(dup.code, 'EEXIST');
  removeNamedNetns(name);
  assert.not.ok((await sh('ip', ['netns', 'list'])).includes(name));
  assert.is(thrown(() => removeNamedNetns(name)).code, 'ENOENT');
  assert.is(thrown(() => createNamedNetns('a/b')).code, 'EINVAL');
});

Netns('identity compares namespaces by device and inode', () => {
  const a = netnsIdentity(ns.path);
  const b = netnsIdentity(`/proc/self/ns/net`);
  assert.ok(a.ino > 0 && b.ino > 0);
  assert.ok(a.ino !== b.ino);
  assert.ok(sameNetns('/proc/self/ns/net', '/proc/thread-self/ns/net'));
});

Netns('netlink socket opened inside a netns sees that netns; the thread stays home, also on errors', () => {
  const fd = addon().netlinkOpen(ns.path, 0);
  try {
    assert.ok(fd > 2);
    assert.ok(sameAsHome());
  } finally {
    addon().netlinkClose(fd);
  }
  const missing = thrown(() => addon().netlinkOpen('/var/run/netns/does-not-exist-xyz', 0));
  assert.ok(isAddonError(missing));
  assert.is(missing.code, 'ENOENT');
  assert.is(missing.message, 'failed to open netns "/var/run/netns/does-not-exist-xyz": no such file or directory');
  const notNs = thrown(() => addon().netlinkOpen('/etc/hostname', 0));
  assert.is(notNs.code, 'EINVAL');
  assert.match(notNs.message, /"\/etc\/hostname" is not a network namespace/);
  assert.ok(sameAsHome());
});

Netns('sysctl read/write inside a netns leaves the host value alone', async () => {
  const hostBefore = addon().sysctlRead(null, 'net/ipv4/conf/lo/route_localnet');
  const target = hostBefore === '1' ? '0' : '1';
  addon().sysctlWrite(ns.path, 'net/ipv4/conf/lo/route_localnet', target);
  assert.is(addon().sysctlRead(ns.path, 'net/ipv4/conf/lo/route_localnet'), target);
  assert.is(
    (await sh('ip', ['netns', 'exec', ns.name, 'sysctl', '-n', 'net.ipv4.conf.lo.route_localnet'])).trim(),
    target,
  );
  assert.is(addon().sysctlRead(null, 'net/ipv4/conf/lo/route_localnet'), hostBefore);
  assert.ok(sameAsHome());
  assert.is(thrown(() => addon().sysctlRead(ns.path, 'net/ipv4/conf/nosuchif0/forwarding')).code, 'ENOENT');
  assert.is(thrown(() => addon().sysctlRead(ns.path, 'net/../../etc/passwd')).code, 'EINVAL');
  assert.is(thrown(() => addon().sysctlWrite('/nonexistent/ns', 'net/ipv4/ip_forward', '1')).code, 'ENOENT');
  assert.ok(sameAsHome());
});

Netns(
  'sysctl through another procfs sys dir (a caller root): the netns still decides; only a procfs is used',
  async () => {
    const key = 'net/ipv4/conf/lo/route_localnet';
    const viaRoot = `/proc/${process.pid}/root/proc/sys`;
    const target = addon().sysctlRead(ns.path, key) === '1' ? '0' : '1';
    const hostBefore = addon().sysctlRead(null, key);
    addon().sysctlWrite(ns.path, key, target, viaRoot);
    assert.is(addon().sysctlRead(ns.path, key), target);
    assert.is(addon().sysctlRead(ns.path, key, viaRoot), target);
    assert.is(addon().sysctlRead(null, key, viaRoot), hostBefore);
    assert.ok(sameAsHome());
    const notProc = sb.dir('not-proc-sys');
    const e = thrown(() => addon().sysctlRead(ns.path, 'net/ipv4/ip_forward', notProc));
    assert.is(e.code, 'EXDEV');
    assert.match(e.message, /not a procfs/);
    assert.is(thrown(() => addon().sysctlRead(ns.path, 'net/../../etc/passwd', viaRoot)).code, 'EINVAL');
    assert.is(thrown(() => addon().sysctlRead(ns.path, 'net/ipv4/conf/nosuchif0/forwarding', viaRoot)).code, 'ENOENT');
    assert.ok(sameAsHome());
  },
);

Netns.run();

const Lock = suite('addon: flock interoperates with flock(1)');
let lockPath: string;
Lock.before(() => {
  lockPath = join(sb.dir('lock'), 'lock');
});
Lock.after(() => sb.cleanup());

/** flock(1)'s exit code (stdin closed: run() from _lib writes to stdin, which races flock's quick exit). */
function flockCli(...args: string[]): Promise<{ code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', [...args, lockPath, 'true'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 128 }));
  });
}

Lock('our exclusive lock blocks flock -n; released, it succeeds', async () => {
  const l = FileLock.open(lockPath);
  try {
    await l.lock();
    assert.is((await flockCli('-n')).code, 1);
    assert.is((await flockCli('-n', '-s')).code, 1);
    l.unlock();
    assert.is((await flockCli('-n')).code, 0);
  } finally {
    l.close();
  }
});

Lock('shared locks coexist with flock -s but exclude flock -x', async () => {
  const l = FileLock.open(lockPath);
  try {
    await l.lock({ shared: true });
    assert.is((await flockCli('-n', '-s')).code, 0);
    assert.is((await flockCli('-n', '-x')).code, 1);
  } finally {
    l.close();
  }
  assert.is((await flockCli('-n', '-x')).code, 0);
});

Lock('a lock held by flock(1) makes us wait without blocking the event loop, then times out or succeeds', async () => {
  const holder = spawn('flock', ['-x', lockPath, '-c', 'echo held; sleep 0.6'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res) => holder.stdout!.once('data', () => res()));
  const l = FileLock.open(lockPath);
  try {
    assert.not.ok(l.tryLock());
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const err = await l.lock({ timeoutMs: 150 }).then(
      () => undefined,
      (e) => e,
    );
    assert.instance(err, LockTimeoutError);
    assert.ok(ticks >= 5, `event loop kept running while waiting (${ticks} ticks)`);
    const t0 = Date.now();
    await l.lock({ timeoutMs: 5000 });
    clearInterval(timer);
    assert.ok(Date.now() - t0 < 4000);
    assert.is((await flockCli('-n')).code, 1);
  } finally {
    l.close();
    await new Promise((res) => (holder.exitCode !== null ? res(null) : holder.once('exit', res)));
  }
});

Lock("waiters do not occupy libuv's thread pool: file I/O still runs while 8 of them wait", async () => {
  const holder = spawn('flock', ['-x', lockPath, '-c', 'echo held; sleep 0.5'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res) => holder.stdout!.once('data', () => res()));
  const waiters = Array.from({ length: 8 }, () => FileLock.open(lockPath));
  try {
    const waiting = waiters.map((l) => l.lock({ shared: true, timeoutMs: 5000 }));
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 8 }, () => readFile('/proc/self/status')));
    assert.ok(Date.now() - t0 < 300, `pool-backed fs calls finished while the waiters wait (${Date.now() - t0} ms)`);
    await Promise.all(waiting);
  } finally {
    for (const l of waiters) l.close();
    await new Promise((res) => (holder.exitCode !== null ? res(null) : holder.once('exit', res)));
  }
});

Lock('withFileLock serialises concurrent critical sections', async () => {
  const order: string[] = [];
  await Promise.all(
    [1, 2, 3].map((i) =>
      withFileLock(lockPath, async () => {
        order.push(`in${i}`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`out${i}`);
      }),
    ),
  );
  for (let i = 0; i < order.length; i += 2) assert.is(order[i].slice(2), order[i + 1].slice(3));
});

Lock.run();

const Cred = suite('addon: SO_PEERCRED');
Cred.after(() => sb.cleanup());

Cred('peer credentials of an accepted unix socket are our own process', async () => {
  const sock = join(sb.dir('cred'), 's');
  let accepted: Socket | undefined;
  const server = createServer((s) => {
    accepted = s;
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const client = createConnection(sock);
  await new Promise<void>((r) => client.once('connect', () => r()));
  while (!accepted) await new Promise((r) => setTimeout(r, 5));
  try {
    const cred = peerCredOfSocket(accepted);
    assert.equal(cred, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  } finally {
    client.destroy();
    accepted.destroy();
    await new Promise((r) => server.close(r));
  }
});

Cred.run();

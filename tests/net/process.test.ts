// runProcess (host/native/process.ts, a vfork-style clone in the addon): what the firewall tools and delegated plugins are
// started with. Exit codes, signals, stdin and both outputs whole, exactly the environment given, default signal
// dispositions in the child (Node ignores SIGPIPE; an ignored signal would survive exec), errors that name the
// errno, and many at once without a lost byte.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../../host/native/process.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('runProcess (vfork-style clone)');
test.after(() => box.cleanup());

test('stdin in, stdout and stderr apart, exit status', async () => {
  const r = await runProcess('/bin/sh', ['-c', 'cat; echo oops >&2; exit 3'], {}, 'hello');
  assert.is(r.code, 3);
  assert.is(r.signal, null);
  assert.is(r.stdout.toString(), 'hello');
  assert.is(r.stderr.toString(), 'oops\n');
});

test('exactly the environment given, nothing of ours', async () => {
  const r = await runProcess('/usr/bin/env', [], { A: 'x y', B: '' });
  assert.equal(r.stdout.toString().split('\n').filter(Boolean).sort(), ['A=x y', 'B=']);
});

test('a signal ends it: code 128 and the signal number', async () => {
  const r = await runProcess('/bin/sh', ['-c', 'kill -9 $$'], {});
  assert.is(r.code, 128);
  assert.is(r.signal, 9);
});

test('the child starts with default dispositions and no blocked signals', async () => {
  const r = await runProcess('/bin/sh', ['-c', 'grep -E "^Sig(Ign|Blk)" /proc/self/status'], {});
  assert.match(r.stdout.toString(), /SigBlk:\s+0+\n/);
  // The shell itself ignores nothing at start; SIGPIPE (bit 13) must not be inherited as ignored.
  const ign = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(r.stdout.toString())![1]}`);
  assert.is(ign & (1n << 12n), 0n, 'SIGPIPE is ignored in the child');
});

test('megabytes both ways; a child that never reads stdin does not block the call', async () => {
  const big = Buffer.alloc(3 << 20, 0x61);
  const echoed = await runProcess('/bin/cat', [], {}, big);
  assert.is(echoed.stdout.length, big.length);
  assert.ok(echoed.stdout.equals(big));
  const ignored = await runProcess('/bin/true', [], {}, big);
  assert.is(ignored.code, 0);
});

test('cannot start: the errno, as a rejection', async () => {
  const dir = box.dir('proc');
  const notExec = join(dir, 'plain');
  writeFileSync(notExec, '#!/bin/sh\n');
  chmodSync(notExec, 0o644);
  for (const [path, code] of [
    [join(dir, 'absent'), 'ENOENT'],
    [notExec, 'EACCES'],
  ]) {
    try {
      await runProcess(path, [], {});
      assert.unreachable(`${path} started`);
    } catch (e) {
      assert.is((e as NodeJS.ErrnoException).code, code);
      assert.ok((e as Error).message.startsWith(`${path}: `), (e as Error).message);
    }
  }
});

test('another world: the child enters the network namespace and root, and runs with the uid and gid given', async () => {
  const ns = await box.netns('pw');
  const root = box.dir('root');
  chmodSync(root, 0o755); // the uid below must be able to reach its executable
  mkdirSync(join(root, 'bin'));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  writeFileSync(join(root, 'marker'), 'in the root');
  const r = await runProcess(
    '/bin/busybox',
    ['sh', '-c', '/bin/busybox cat /marker; echo; pwd; /bin/busybox id -u; /bin/busybox id -g; /bin/busybox id -G'],
    {},
    '',
    {
      netns: ns.path,
      root,
      uid: 65534,
      gid: 65534,
    },
  );
  assert.is(r.code, 0, r.stderr.toString());
  assert.equal(r.stdout.toString().split('\n'), ['in the root', '/', '65534', '65534', '65534', '']);
  // the network namespace (checked where /proc is: without a root change)
  const inNs = await runProcess('/bin/readlink', ['/proc/self/ns/net'], {}, '', { netns: ns.path });
  assert.is(inNs.stdout.toString().trim(), `net:[${statSync(ns.path).ino}]`);
});

test('another world that cannot be entered: the step and errno, and nothing runs', async () => {
  try {
    await runProcess('/bin/true', [], {}, '', { netns: '/nonexistent/netns' });
    assert.unreachable('it ran');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'ENOENT');
    assert.is((e as NodeJS.ErrnoException).syscall, 'open network namespace');
  }
  try {
    await runProcess('/bin/true', [], {}, '', { netns: '/proc/self/ns/mnt' }); // not a network namespace
    assert.unreachable('it ran');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'EINVAL');
    assert.is((e as NodeJS.ErrnoException).syscall, 'setns (network)');
  }
});

test('64 at once, each with its own output', async () => {
  const rs = await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      runProcess('/bin/sh', ['-c', 'printf "%s" "$N"; cat'], { N: `${i}:` }, `${i}`),
    ),
  );
  for (const [i, r] of rs.entries()) assert.is(r.stdout.toString(), `${i}:${i}`);
});

test.run();

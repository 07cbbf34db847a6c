// The caller context's path lookup: inside a caller's root, symlinks and ".." never lead out of it (here a
// symlink to "/" and one to "../../.." inside a caller root must not reach a file that exists only outside).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callerContext, processWorld, ownCaller, resolveInRoot } from '../../host/cni/caller.ts';
import { lackOfAuthority } from '../../host/daemon/authority.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('caller context: resolve');
let root = '';
let outside = '';

test.before(() => {
  root = box.dir('root');
  outside = box.dir('outside');
  writeFileSync(join(outside, 'secret'), 'daemon only');
  mkdirSync(join(root, 'run/netns'), { recursive: true });
  mkdirSync(join(root, 'var/lib'), { recursive: true });
  writeFileSync(join(root, 'run/netns/pod'), 'caller netns');
  symlinkSync('../run', join(root, 'var/run')); // the usual /var/run -> ../run
  symlinkSync('/', join(root, 'abs'));
  symlinkSync('../../..', join(root, 'up'));
  symlinkSync('/run/netns', join(root, 'var/lib/ns')); // absolute: the caller's /run, not ours
  symlinkSync('loop', join(root, 'loop'));
});

test.after(() => box.cleanup());

const daemonPathOfSecret = () => join(outside, 'secret');

test('the kernel would follow these links out of the root (the hazard is real)', () => {
  assert.ok(existsSync(join(root, 'up', daemonPathOfSecret())));
});

test('a symlink to "/" stays at the caller root', () => {
  const p = resolveInRoot(root, `/abs${daemonPathOfSecret()}`);
  assert.is(p, `${root}${daemonPathOfSecret()}`);
  assert.not.ok(existsSync(p));
});

test('a symlink to "../../.." and ".." components stop at the caller root', () => {
  for (const path of [
    `/up${daemonPathOfSecret()}`,
    `/../../..${daemonPathOfSecret()}`,
    `/var/../../up/up${daemonPathOfSecret()}`,
  ]) {
    const p = resolveInRoot(root, path);
    assert.ok(p.startsWith(`${root}/`), p);
    assert.not.ok(existsSync(p), `${path} -> ${p}`);
  }
});

test("links inside the root resolve in the caller's view", () => {
  assert.is(resolveInRoot(root, '/var/run/netns/pod'), `${root}/run/netns/pod`);
  assert.is(resolveInRoot(root, '/var/lib/ns/pod'), `${root}/run/netns/pod`);
  assert.is(resolveInRoot(root, 'var/run/netns/../netns/pod'), `${root}/run/netns/pod`);
  // missing parts are kept as written (a dataDir may be created afterwards)
  assert.is(resolveInRoot(root, '/var/run/cni/networks/n1'), `${root}/run/cni/networks/n1`);
});

test('a symlink loop is an error, not a hang', () => {
  try {
    resolveInRoot(root, '/loop/x');
    assert.unreachable('expected ELOOP');
  } catch (e) {
    assert.is((e as NodeJS.ErrnoException).code, 'ELOOP');
  }
});

test('the context: identity in our own world, rooted otherwise; errors read in the caller terms', () => {
  assert.is(ownCaller.resolve('/var/run/netns/x'), '/var/run/netns/x');
  assert.ok(ownCaller.own);
  const c = callerContext({ pid: 1, root, netns: null, mntns: null });
  assert.not.ok(c.own);
  assert.is(c.resolve('/var/run/netns/pod'), `${root}/run/netns/pod`);
  assert.is(c.inCallerTerms(`open ${root}/run/netns/pod: gone`), 'open /run/netns/pod: gone');
});

test("processes: our own world runs them as they are; another world's namespaces and root; a granted uid's own", () => {
  assert.is(processWorld(ownCaller), undefined);
  const other = callerContext({ pid: 7, root: '/proc/1/fd/5', netns: '/proc/1/fd/6', mntns: '/proc/1/fd/7' });
  assert.equal(processWorld(other), { netns: '/proc/1/fd/6', mntns: '/proc/1/fd/7', root: '/proc/1/fd/5' });
  const granted = callerContext({ pid: 8, root: '/', netns: null, mntns: null, uid: 1000, gid: 100 });
  assert.is(processWorld(granted), undefined); // a host tool, as the daemon
  // an executable the call names: never as the daemon
  assert.equal(processWorld(granted, { asCaller: true }), {
    netns: null,
    mntns: null,
    root: null,
    uid: 1000,
    gid: 100,
  });
});

test("authority: capabilities, user namespace, and the --allow-uid grant (only in the daemon's own view)", () => {
  const all = (1n << 41n) - 1n;
  const own = { root: '/', netns: null, mntns: null };
  const allow = new Set([0, 1000]);
  assert.is(lackOfAuthority({ pid: 1, uid: 0, capEff: all, sameUserns: true, data: own }, allow), null);
  assert.match(
    String(lackOfAuthority({ pid: 1, uid: 0, capEff: 0n, sameUserns: true, data: own }, allow)),
    /CAP_NET_ADMIN and CAP_SYS_ADMIN/,
  );
  assert.match(
    String(lackOfAuthority({ pid: 1, uid: 0, capEff: all, sameUserns: false, data: own }, allow)),
    /another user namespace/,
  );
  assert.is(lackOfAuthority({ pid: 1, uid: 1000, capEff: 0n, sameUserns: true, data: own }, allow), null);
  assert.match(
    String(lackOfAuthority({ pid: 1, uid: 1001, capEff: all, sameUserns: true, data: own }, allow)),
    /may not use/,
  );
  const elsewhere = { root: '/proc/1/fd/5', netns: null, mntns: '/proc/1/fd/6' };
  assert.match(
    String(lackOfAuthority({ pid: 1, uid: 1000, capEff: 0n, sameUserns: true, data: elsewhere }, allow)),
    /only in the daemon's own mount namespace/,
  );
});

test.run();

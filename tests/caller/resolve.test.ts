// The caller context's path lookup: inside a caller's root, symlinks and ".." never lead out of it (here a
// symlink to "/" and one to "../../.." inside a caller root must not reach a file that exists only outside).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callerContext, ownCaller, resolveInRoot } from '../../host/cni/caller.ts';
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

test.run();

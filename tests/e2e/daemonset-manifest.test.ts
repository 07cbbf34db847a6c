// The small YAML reader and the manifest → `podman run` translation that daemonset.test.ts relies on: the subset
// is read exactly, anything outside it is refused, and the manifest's host settings and mounts all reach podman.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { parseYaml } from '../_lib/yaml-subset.ts';
import {
  effectiveCaps,
  podmanRunPlan,
  readCommentedSecurityContext,
  readDaemonSet,
  securityContextOf,
  securityOptions,
} from '../_lib/daemonset-manifest.ts';
import { readDockerfile } from '../_lib/rootfs.ts';
import { projectRoot } from '../../host/paths.ts';

const test = suite('e2e: DaemonSet manifest reader');

test('block mappings and sequences, flow collections, quoting, comments', () => {
  const doc = parseYaml(
    [
      '# comment',
      'a: 1',
      'b: { c: "x # not a comment", d: [1, two, "3"] }   # trailing',
      'list:',
      '- name: first',
      '  image: repo/img:1.0',
      "  args: [\"--x\", 'it''s']",
      '- { name: second, on: true }',
      'nested:',
      '  deeper:',
      '    key: value:with:colons',
      '  empty: ""',
      '  nothing:',
    ].join('\n'),
  );
  assert.equal(doc, {
    a: 1,
    b: { c: 'x # not a comment', d: [1, 'two', '3'] },
    list: [
      { name: 'first', image: 'repo/img:1.0', args: ['--x', "it's"] },
      { name: 'second', on: true },
    ],
    nested: { deeper: { key: 'value:with:colons' }, empty: '', nothing: null },
  });
});

test('refuses what it does not read: anchors, several documents, multi-line flow, bad indentation', () => {
  for (const src of ['a: &x 1', 'a: 1\n---\nb: 2', 'a: [1,\n  2]', 'a:\n  b: 1\n c: 2', 'a: |\n  text']) {
    assert.throws(() => parseYaml(src), undefined, JSON.stringify(src));
  }
});

test('deploy/daemonset.yaml: host settings, containers and hostPath mounts reach podman', () => {
  const pod = readDaemonSet(join(projectRoot, 'deploy', 'daemonset.yaml'));
  const df = readDockerfile(join(projectRoot, 'deploy', 'Dockerfile'));
  const daemon = pod.containers[0]!;
  const plan = podmanRunPlan(pod, daemon, '/hr', 'x', df.entrypoint, df.env);
  assert.equal(plan.command, [...df.entrypoint, ...daemon.args]);
  const opts = plan.options.join(' ');
  assert.ok(opts.includes('--network host') && opts.includes('--pid host') && opts.includes('--privileged'), opts);
  assert.ok(opts.includes('--volume /hr/run/wasm-cni:/run/wasm-cni:rw'), opts);
  assert.ok(opts.includes('--env NODE_OPTIONS='), opts);
  const init = podmanRunPlan(pod, pod.initContainers[0]!, '/hr', 'y', df.entrypoint, df.env);
  assert.ok(init.options.join(' ').includes('--volume /hr/opt/cni/bin:/host/opt/cni/bin:rw'), init.options.join(' '));
});

test('securityContext: privileged, or exactly the runtime default caps less drop plus add, and the profiles', () => {
  const manifest = join(projectRoot, 'deploy', 'daemonset.yaml');
  const narrower = readCommentedSecurityContext(manifest);
  assert.equal(narrower, {
    privileged: false,
    capAdd: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE'],
    capDrop: [],
    seccompProfile: 'RuntimeDefault',
    appArmorProfile: null,
  });
  const opts = securityOptions(narrower);
  assert.is(opts.slice(0, 2).join(' '), '--cap-drop ALL');
  for (const c of narrower.capAdd) assert.ok(opts.join(' ').includes(`--cap-add ${c}`), opts.join(' '));
  assert.not.ok(opts.includes('--privileged') || opts.some((o) => o.startsWith('seccomp=')), opts.join(' '));
  assert.equal(securityOptions(securityContextOf({ privileged: true, capabilities: { add: ['NET_ADMIN'] } })), [
    '--privileged',
  ]);
  const bare = securityContextOf({ capabilities: { drop: ['ALL'], add: ['cap_net_admin'] } });
  assert.equal(effectiveCaps(bare), ['NET_ADMIN']);
  assert.equal(securityOptions(bare), [
    '--cap-drop',
    'ALL',
    '--cap-add',
    'NET_ADMIN',
    '--security-opt',
    'seccomp=unconfined',
  ]);
  assert.ok(effectiveCaps(securityContextOf({ capabilities: { drop: ['KILL'] } })).every((c) => c !== 'KILL'));
  assert.equal(securityOptions(securityContextOf({ appArmorProfile: { type: 'Unconfined' } })).slice(-2), [
    '--security-opt',
    'apparmor=unconfined',
  ]);
  assert.throws(() => securityContextOf({ seccompProfile: { type: 'Localhost' } }));
});

test.run();

// `wasm-cni pod up|down|status` and `wasm-cni doctor` as a user runs them (the CLI from sources), with kubenet on
// our plugins: the netns made from the pod's name, the state dir, JSON status, exit codes, plain errors.
// Subnet 10.200.107.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cniBinDir, projectRoot } from '../../host/paths.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { run } from '../_lib/run.ts';
import { removeUnusedHostportChains } from '../_lib/firewall.ts';

const sb = new Sandbox();
const cli = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(projectRoot, 'host/cli/main.ts'), ...args], {
    cwd: projectRoot,
    timeoutMs: 60_000,
  });
const T = suite('kubelet CLI: pod up/down/status, doctor');
let state = '';
let flags: string[] = [];
const pod = sb.prefix; // a DNS label: 'w' + hex
const netnsName = `wasm-cni-${pod}-web`;

T.before(() => {
  state = sb.dir('state');
  flags = [
    '--network-plugin=kubenet',
    `--cni-bin-dir=${cniBinDir}`,
    `--cni-cache-dir=${sb.dir('cache')}`,
    '--pod-cidr=10.200.107.0/24',
    '--non-masquerade-cidr=0.0.0.0/0',
    '--hairpin-mode=hairpin-veth',
    '--state-dir',
    state,
    '--bridge',
    sb.name('br'),
    '--ipam-dir',
    sb.dir('ipam'),
  ];
});
T.after(async () => {
  await cli(['pod', 'down', '--namespace', pod, '--name', 'web', '--state-dir', state]);
  await run('ip', ['netns', 'delete', netnsName]);
  await run('ip', ['link', 'delete', sb.name('br')]);
  await removeUnusedHostportChains();
  await sb.cleanup();
});

T('usage errors exit 2 with a plain message; --help exits 0', async () => {
  const help = await cli(['pod', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /usage: wasm-cni pod up/);
  const missing = await cli(['pod', 'up', '--name', 'x']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /--namespace and --name are required/);
  const badPort = await cli(['pod', 'up', '--namespace', 'a', '--name', 'b', '--port', '99999:80']);
  assert.is(badPort.code, 2);
  assert.match(badPort.stderr, /invalid port "99999:80"/);
  const badFlag = await cli(['pod', 'up', '--namespace', 'a', '--name', 'b', '--network-plugin-mtu', 'x']);
  assert.is(badFlag.code, 2);
  const badSub = await cli(['pod', 'sideways']);
  assert.is(badSub.code, 2);
});

T('up creates the netns and sets the pod up; status shows it; down removes it all', async () => {
  const up = await cli([
    'pod',
    'up',
    '--namespace',
    pod,
    '--name',
    'web',
    '--port',
    '30907:80/tcp',
    '--annotation',
    'kubernetes.io/ingress-bandwidth=5M',
    ...flags,
  ]);
  assert.is(up.code, 0, up.stderr);
  assert.match(up.stdout, /up \(kubenet, .*: 10\.200\.107\.\d+/);
  assert.ok(existsSync(`/var/run/netns/${netnsName}`));
  const again = await cli(['pod', 'up', '--namespace', pod, '--name', 'web', ...flags]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /already up/);

  const st = await cli(['pod', 'status', '--namespace', pod, '--name', 'web', '--json', '--state-dir', state]);
  assert.is(st.code, 0, st.stderr);
  const [s] = JSON.parse(st.stdout);
  assert.ok(s.ips[0].startsWith('10.200.107.'));
  assert.equal(s.ports, [{ hostIP: '', hostPort: 30907, containerPort: 80, protocol: 'TCP' }]);
  assert.is(s.shaping.ingressTbf, 5_000_000);
  assert.ok(s.interfaces.some((i: { name: string; mtu: number }) => i.name === 'eth0'));
  const table = await cli(['pod', 'status', '--state-dir', state]);
  assert.match(table.stdout, /POD\s+IPS/);
  assert.match(table.stdout, new RegExp(`${pod}/web\\s+10\\.200\\.107\\.`));

  const down = await cli(['pod', 'down', '--namespace', pod, '--name', 'web', '--state-dir', state]);
  assert.is(down.code, 0, down.stderr);
  assert.not.ok(existsSync(`/var/run/netns/${netnsName}`));
  assert.equal(
    readdirSync(state).filter((f) => !f.startsWith('.')),
    [],
  );
  const twice = await cli(['pod', 'down', '--namespace', pod, '--name', 'web', '--state-dir', state]);
  assert.is(twice.code, 1);
  assert.match(twice.stderr, /no pod/);
});

T('a failed up leaves nothing behind (no netns, no record)', async () => {
  const bad = await cli([
    'pod',
    'up',
    '--namespace',
    pod,
    '--name',
    'bad',
    ...flags.filter((f) => !f.startsWith('--cni-bin-dir')),
    `--cni-bin-dir=${sb.dir('empty')}`,
  ]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /could not locate kubenet required CNI plugins/);
  assert.not.ok(existsSync(`/var/run/netns/wasm-cni-${pod}-bad`));
  assert.equal(
    readdirSync(state).filter((f) => f.endsWith('.json')),
    [],
  );
});

T('doctor checks the node and reports in JSON', async () => {
  const r = await cli(['doctor', '--json', '--network-plugin=kubenet', `--cni-bin-dir=${cniBinDir}`]);
  const checks = JSON.parse(r.stdout) as Array<{ area: string; verdict: string; detail: string }>;
  for (const area of ['binaries', 'config', 'sysctl', 'br_netfilter', 'firewall', 'mtu', 'daemon'])
    assert.ok(
      checks.some((c) => c.area === area),
      area,
    );
  assert.is(r.code, checks.some((c) => c.verdict === 'fail') ? 2 : checks.some((c) => c.verdict === 'warn') ? 1 : 0);
  assert.ok(checks.some((c) => c.area === 'binaries' && c.verdict === 'ok' && c.detail.startsWith('kubenet:')));
  const missing = await cli(['doctor', '--json', '--network-plugin=kubenet', `--cni-bin-dir=${sb.dir('nothing')}`]);
  assert.is(missing.code, 2);
  assert.is((await cli(['doctor', '--bogus'])).code, 2);
});

T.run();

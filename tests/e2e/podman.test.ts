// A real, unmodified client: Debian's podman with `network_backend = "cni"` and cni_plugin_dirs = build/cni/.
// The container gets its address from our host-local, reaches its gateway through our bridge, publishes a port
// through our portmap (host→gateway:port and host→127.0.0.1:port), and after `podman rm` nothing of it is left.
// Subnet 10.200.140.0/24; everything named with the sandbox prefix; private podman config and storage.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../_lib/sandbox.ts';
import { run } from '../_lib/run.ts';
import { askTcpFromHost, natSave, removeUnusedHostportChains, freePort } from '../_lib/firewall.ts';
import { cniBinDir } from '../../host/paths.ts';
import { PrivatePodman, podmanMissing, type PodmanNetwork } from './podman-kit.ts';

const test = suite('e2e: podman (CNI backend) on our plugins');

const SUBNET = '10.200.140.0/24';
const GATEWAY = '10.200.140.1';
const CONTAINER_PORT = 8080;
const LIBCNI_CACHE = '/var/lib/cni/results';

interface Ctx {
  sb: Sandbox;
  pm: PrivatePodman;
  net: PodmanNetwork;
  hostPort: number;
  container: string;
  id: string;
  ip: string;
  netnsBefore: Set<string>;
}
const ctx = {} as Ctx;

async function netnsNames(): Promise<Set<string>> {
  const r = await run('ip', ['netns', 'list']);
  return new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean),
  );
}

async function hardNofile(): Promise<number> {
  const r = await run('sh', ['-c', 'ulimit -Hn']);
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1048576) : 1048576;
}

test.before(async () => {
  const why = await podmanMissing();
  if (why) throw new Error(why);
  assert.ok(existsSync(join(cniBinDir, 'bridge')), `no ${cniBinDir}/bridge: run bash build.sh`);
  ctx.sb = new Sandbox();
  ctx.pm = new PrivatePodman(ctx.sb.dir('podman'), cniBinDir, ctx.sb.prefix, await hardNofile());
  ctx.sb.defer(async () => {
    await ctx.pm.removeAll();
    await removeUnusedHostportChains([4]);
  });
  ctx.net = {
    name: `${ctx.sb.prefix}-net`,
    bridge: ctx.sb.name('pm0'),
    subnet: SUBNET,
    gateway: GATEWAY,
    ipamDir: join(ctx.pm.dir, 'ipam'),
  };
  ctx.pm.writeNetwork(ctx.net);
  await ctx.pm.importImage();
  ctx.hostPort = await freePort();
  ctx.container = `${ctx.sb.prefix}-c1`;
  ctx.netnsBefore = await netnsNames();
});

test.after(async () => {
  await ctx.sb?.cleanup();
});

test('podman lists our network from the private config dir', async () => {
  const out = await ctx.pm.podmanOk(['network', 'ls', '--format', '{{.Name}}']);
  assert.ok(out.split('\n').includes(ctx.net.name), out);
});

test('podman run: address from our host-local, default route and gateway via our bridge', async () => {
  ctx.id = (
    await ctx.pm.podmanOk([
      'run',
      '-d',
      '--name',
      ctx.container,
      '--network',
      ctx.net.name,
      '-p',
      `${ctx.hostPort}:${CONTAINER_PORT}`,
      ctx.pm.image,
      'sh',
      '-c',
      `while true; do echo "hello from $(hostname)" | nc -l -p ${CONTAINER_PORT}; done`,
    ])
  ).trim();
  assert.match(ctx.id, /^[0-9a-f]{64}$/);
  const addr = await ctx.pm.podmanOk(['exec', ctx.container, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
  const m = /inet (10\.200\.140\.\d+)\/24/.exec(addr);
  assert.ok(m, `container eth0 has no 10.200.140.x/24 address: ${addr}`);
  ctx.ip = m![1]!;
  // host-local's store (our dataDir) names the IP and holds the container id: our IPAM made the allocation.
  const lease = join(ctx.net.ipamDir, ctx.net.name, ctx.ip);
  assert.ok(existsSync(lease), `no host-local lease ${lease}`);
  assert.equal(readFileSync(lease, 'utf8').split(/\r?\n/)[0], ctx.id);
  const routes = await ctx.pm.podmanOk(['exec', ctx.container, 'ip', '-4', 'route']);
  assert.match(routes, new RegExp(`default via ${GATEWAY.replace(/\./g, '\\.')} dev eth0`));
  const master = await run('ip', ['-o', 'link', 'show', 'master', ctx.net.bridge]);
  assert.is(
    master.stdout.trim().split('\n').filter(Boolean).length,
    1,
    `one veth on ${ctx.net.bridge}: ${master.stdout}`,
  );
});

test('container reaches its gateway', async () => {
  const r = await ctx.pm.podman(['exec', ctx.container, 'ping', '-c', '1', '-W', '2', GATEWAY]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 packets received/);
});

test('published port (-p) works from the host: gateway:port and 127.0.0.1:port', async () => {
  // podman's conmon also binds the host port; only our DNAT makes the pod answer.
  const hostname = (await ctx.pm.podmanOk(['exec', ctx.container, 'hostname'])).trim();
  for (const host of [GATEWAY, '127.0.0.1']) {
    let answer = '';
    for (let i = 0; i < 20 && !answer.startsWith('hello'); i++) {
      answer = await askTcpFromHost(host, ctx.hostPort);
      if (!answer.startsWith('hello')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(answer, `hello from ${hostname}`, `${host}:${ctx.hostPort}`);
  }
  const nat = await natSave(4);
  assert.ok(
    nat.some((l) => l.includes(`--to-destination ${ctx.ip}:${CONTAINER_PORT}`)),
    'portmap DNAT rule present',
  );
});

test('podman rm: nothing of the container is left', async () => {
  await ctx.pm.podmanOk(['rm', '-f', '-t', '0', ctx.container]);
  assert.is((await ctx.pm.podmanOk(['ps', '-a', '-q'])).trim(), '');
  const leases = readdirSync(join(ctx.net.ipamDir, ctx.net.name)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  assert.equal(leases, [], 'host-local released the address');
  const nat = await natSave(4);
  const left = nat.filter((l) => l.includes(ctx.id) || l.includes(`${ctx.ip}/32`) || l.includes(`${ctx.ip}:`));
  assert.equal(left, [], 'no nat rule for the container');
  const master = await run('ip', ['-o', 'link', 'show', 'master', ctx.net.bridge]);
  assert.is(master.stdout.trim(), '', 'no veth left on the bridge');
  const newNetns = [...(await netnsNames())].filter((n) => !ctx.netnsBefore.has(n) && n.startsWith('cni-'));
  assert.equal(newNetns, [], 'podman removed the container netns');
  assert.ok(!(await askTcpFromHost(GATEWAY, ctx.hostPort)).startsWith('hello'), 'port no longer served');
  // podman's libcni keeps its result cache in the global /var/lib/cni/results; the DEL removed our entry.
  const cache = existsSync(LIBCNI_CACHE)
    ? readdirSync(LIBCNI_CACHE).filter((f) => f.startsWith(`${ctx.net.name}-`))
    : [];
  assert.equal(cache, [], 'no libcni cache entry left');
});

test('podman run --rm: one-shot container gets an address and its DEL releases it', async () => {
  const r = await ctx.pm.podman([
    'run',
    '--rm',
    '--network',
    ctx.net.name,
    ctx.pm.image,
    'sh',
    '-c',
    `ip -4 -o addr show eth0 && ping -c 1 -W 2 ${GATEWAY}`,
  ]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /inet 10\.200\.140\.\d+\/24/);
  // The DEL runs from `podman container cleanup`, started by conmon after the container exits.
  let leases: string[] = [];
  for (let i = 0; i < 50; i++) {
    leases = readdirSync(join(ctx.net.ipamDir, ctx.net.name)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    if (leases.length === 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(leases, []);
});

test.run();

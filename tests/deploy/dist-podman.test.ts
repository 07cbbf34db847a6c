// The release tarball under a real client: Debian's podman (CNI backend, the private set-up of
// tests/e2e/podman-kit.ts) with cni_plugin_dirs = the unpacked tarball, run in a private mount namespace where
// Node.js is hidden (/usr/bin/node, /usr/bin/nodejs, /usr/local/bin/node bind-mounted over with an empty file).
// A one-shot `podman run --rm` container gets its address from our host-local, pings its gateway through our
// bridge, and its removal releases the address: first with no daemon (cold path on the kit's runtime), then
// with on-demand start. Subnet 10.200.183.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { PrivatePodman, podmanMissing, type PodmanNetwork } from '../e2e/podman-kit.ts';
import { run, sh, type RunResult } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { unpackedDist } from './_dist.ts';
import { daemonsServing, killDaemons, reservations } from './_daemons.ts';

const SUBNET = '10.200.183.0/24';
const GATEWAY = '10.200.183.1';
const box = new Sandbox();
const test = suite('deploy: release tarball under podman, no Node.js');
let dir = '';
let empty = '';
let socket = '';
let pm: PrivatePodman;
let net: PodmanNetwork;

/** podman with Node.js hidden: its plugins (and a daemon they start) live in that mount namespace. */
class NodelessPodman extends PrivatePodman {
  override podman(args: string[], timeoutMs = 120_000): Promise<RunResult> {
    const script = `for n in /usr/bin/node /usr/bin/nodejs /usr/local/bin/node; do
  if [ -e "$n" ]; then mount --bind "$EMPTY" "$n" || exit 97; fi
done
if node -e 0 2>/dev/null; then echo "node still runs" >&2; exit 98; fi
exec podman "$@"`;
    return run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...args], {
      env: { ...this.env, EMPTY: empty, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      timeoutMs,
    });
  }
}

async function oneShot(name: string): Promise<RunResult> {
  return pm.podman([
    'run',
    '--rm',
    '--name',
    name,
    '--network',
    net.name,
    pm.image,
    'sh',
    '-c',
    `ip -4 -o addr show eth0 && ping -c 1 -W 2 ${GATEWAY}`,
  ]);
}

test.before(async () => {
  const why = await podmanMissing();
  if (why) throw new Error(why);
  dir = await unpackedDist(box);
  empty = join(box.dir('empty'), 'node');
  writeFileSync(empty, '');
  socket = join(box.dir('run'), 'wasm-cni.sock');
  const hard = Number((await sh('sh', ['-c', 'ulimit -Hn'])).trim()) || 1048576;
  pm = new NodelessPodman(box.dir('podman'), dir, box.prefix, Math.min(hard, 1048576));
  box.defer(() => pm.removeAll().then(() => undefined));
  net = {
    name: `${box.prefix}-net`,
    bridge: box.name('pm0'),
    subnet: SUBNET,
    gateway: GATEWAY,
    ipamDir: join(pm.dir, 'ipam'),
  };
  pm.writeNetwork(net);
  await pm.importImage();
});

test.after(async () => {
  await killDaemons(socket).catch(() => {});
  await box.cleanup();
  await run('ip', ['link', 'delete', net?.bridge ?? '']);
});

test('no daemon: podman run --rm gets an address, pings its gateway, and releases the address', async () => {
  writeFileSync(join(dir, 'wasm-cni.conf'), `on-demand = false\nsocket = ${socket}\n`);
  const r = await oneShot(`${box.prefix}-cold`);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /inet 10\.200\.183\.\d+\/24/);
  assert.match(r.stdout, /1 packets received/);
  assert.equal(reservations(net.ipamDir, net.name), [], 'released on removal');
  assert.equal(daemonsServing(socket), []);
});

test('on-demand start: the same through a daemon started by the first call', async () => {
  writeFileSync(join(dir, 'wasm-cni.conf'), `on-demand = true\nidle-exit = 60\nsocket = ${socket}\n`);
  const r = await oneShot(`${box.prefix}-warm`);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /inet 10\.200\.183\.\d+\/24/);
  assert.match(r.stdout, /1 packets received/);
  assert.equal(reservations(net.ipamDir, net.name), [], 'released on removal');
  const status = await requestStatus(socket);
  assert.is(status.origin?.startedBy, 'on-demand');
  const bridge = status.calls.filter((c) => c.plugin === 'bridge' && c.command !== 'VERSION');
  assert.equal(
    bridge.map((c) => `${c.command} ${c.calls} ${c.errors}`).sort(),
    ['ADD 1 0', 'DEL 1 0'],
    'podman ADD and DEL were served by the daemon',
  );
  await killDaemons(socket);
});

test.run();

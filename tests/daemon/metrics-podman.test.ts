// The metrics endpoint under a real client: Debian's podman (CNI backend) runs containers on an installed bin dir
// (`wasm-cni install`, its wasm-cni.conf naming a private socket, as an operator would set it: conmon's cleanup
// process runs DELs without podman's environment, so only the file reaches every call) served by
// a `wasm-cni daemon --metrics-address unix:...` on that socket; scrapes before and after show the call
// counters moving by exactly the plugin calls podman made (for bridge and portmap: VERSION then ADD per container
// start, VERSION then DEL per removal), the latency histograms counting the same, and host-local's gauge following the container.
// Subnet 10.200.233.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { projectRoot } from '../../host/paths.ts';
import { installForAnyUser } from '../_lib/installed.ts';
import { removeUnusedHostportChains } from '../_lib/firewall.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { PrivatePodman, podmanMissing, type PodmanNetwork } from '../e2e/podman-kit.ts';

const test = suite('daemon metrics under podman');
const sb = new Sandbox();
let pm: PrivatePodman;
let net: PodmanNetwork;
let daemon: ChildProcess | undefined;
let daemonLog = '';
let socket = '';
let metricsSock = '';

/** Series name{labels} → value, from the exposition (format checks live in metrics.test.ts). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function scrape(): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: metricsSock, path: '/metrics', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(samples(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

async function hardNofile(): Promise<number> {
  const r = await run('sh', ['-c', 'ulimit -Hn']);
  const n = Number(r.stdout.trim());
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1048576) : 1048576;
}

test.before(async () => {
  const why = await podmanMissing();
  if (why) throw new Error(why);
  const dir = sb.dir('run');
  socket = join(dir, 'wasm-cni.sock');
  metricsSock = join(dir, 'metrics.sock');
  daemon = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(projectRoot, 'host/cli/main.ts'),
      'daemon',
      '--socket',
      socket,
      '--metrics-address',
      `unix:${metricsSock}`,
    ],
    { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr!.on('data', (b) => {
    daemonLog += b;
  });
  for (let i = 0; i < 200 && !(/metrics-listening/.test(daemonLog) && /"event":"listening"/.test(daemonLog)); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(metricsSock) && existsSync(socket), `daemon and metrics sockets did not appear: ${daemonLog}`);

  const binDir = await installForAnyUser(sb);
  writeFileSync(join(binDir, 'wasm-cni.conf'), `socket = ${socket}\non-demand = false\n`);
  pm = new PrivatePodman(sb.dir('podman'), binDir, sb.prefix, await hardNofile());
  sb.defer(async () => {
    await pm.removeAll();
    await removeUnusedHostportChains([4]);
  });
  net = {
    name: `${sb.prefix}-net`,
    bridge: sb.name('pm0'),
    subnet: '10.200.233.0/24',
    gateway: '10.200.233.1',
    ipamDir: join(pm.dir, 'ipam'),
  };
  pm.writeNetwork(net);
  await pm.importImage();
});

test.after(async () => {
  await sb.cleanup();
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon!.once('exit', r));
  }
});

test('a container started and removed by podman moves the counters by exactly its plugin calls', async () => {
  const before = await scrape();
  const name = `${sb.prefix}-c1`;
  await pm.podmanOk(['run', '-d', '--name', name, '--network', net.name, pm.image, 'sleep', '600']);
  let up = await scrape();
  // the gauge is read from the data directory at scrape time; on a loaded machine give it a moment
  const allocatedKey = (m: Map<string, number>) =>
    [...m.keys()].find((k) => k.startsWith('wasm_cni_ipam_range_allocated_addresses{')) ?? '';
  for (let i = 0; i < 30 && (up.get(allocatedKey(up)) ?? 0) < 1; i++) {
    await new Promise((r) => setTimeout(r, 100));
    up = await scrape();
  }
  const delta = (after: Map<string, number>, from: Map<string, number>, key: string) =>
    (after.get(key) ?? 0) - (from.get(key) ?? 0);
  const calls = (plugin: string, command: string) =>
    `wasm_cni_daemon_calls_total{plugin="${plugin}",command="${command}"}`;
  assert.is(delta(up, before, calls('bridge', 'ADD')), 1, daemonLog);
  assert.is(delta(up, before, calls('portmap', 'ADD')), 1);
  // libcni asks each plugin of the list for its versions before using it
  assert.is(delta(up, before, calls('bridge', 'VERSION')), 1);
  assert.is(delta(up, before, calls('portmap', 'VERSION')), 1);
  assert.is(
    delta(up, before, 'wasm_cni_daemon_call_duration_seconds_count{plugin="bridge",command="ADD"}'),
    1,
    'the histogram counts the same calls',
  );
  const range = `{network="${net.name}",data_dir="${net.ipamDir}",range_set="0",range="10.200.233.1-10.200.233.254"}`;
  assert.is(up.get(`wasm_cni_ipam_range_allocated_addresses${range}`), 1);
  assert.is(up.get(`wasm_cni_ipam_range_size_addresses${range}`), 253);

  await pm.podmanOk(['rm', '-f', '-t', '0', name]);
  // the DEL may come from podman rm or from the cleanup process conmon starts when the container exits
  let down = await scrape();
  for (let i = 0; i < 50 && delta(down, up, calls('bridge', 'DEL')) < 1; i++) {
    await new Promise((r) => setTimeout(r, 100));
    down = await scrape();
  }
  const total = (m: Map<string, number>) =>
    [...m].filter(([k]) => k.startsWith('wasm_cni_daemon_calls_total{')).reduce((n, [, v]) => n + v, 0);
  assert.is(down.get('wasm_cni_daemon_calls_in_flight'), 0);
  assert.is(delta(down, up, calls('bridge', 'DEL')), 1, daemonLog);
  assert.is(delta(down, up, calls('portmap', 'DEL')), 1);
  assert.is(delta(down, up, calls('bridge', 'VERSION')), 1);
  assert.is(delta(down, up, calls('portmap', 'VERSION')), 1);
  assert.is(total(down) - total(before), 8, 'no other call reached the daemon');
  assert.is(down.get(`wasm_cni_ipam_range_allocated_addresses${range}`), 0);
  const errors = [...down].filter(([k]) => k.startsWith('wasm_cni_daemon_call_errors_total{'));
  assert.equal(errors, [], 'no call failed');
});

test.run();

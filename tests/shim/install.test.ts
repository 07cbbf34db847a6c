// `wasm-cni install --bin-dir DIR`: a bin dir that works on its own (the kit: bundles, core, addon and a
// JavaScript runtime beside the executables), through the daemon and on the cold path; where nothing can run,
// CNI error 11 naming what is missing, and the retry succeeds once a daemon is back.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDir, cliEntryPath } from '../../host/paths.ts';
import { checkKit, kitDirName, placeKit, runtimeRel, settingsFileName } from '../../host/daemon/kit.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { bridgeCall, type BridgeNet, reservations } from '../deploy/_daemons.ts';

const box = new Sandbox();
const test = suite('install');
const daemons: FixtureDaemon[] = [];

test.after(async () => {
  for (const d of daemons) await d.stop();
  await box.cleanup();
});

test('installs every plugin, the wasm-cni command, the kit with its runtime and the settings; re-running replaces in place', async () => {
  const binDir = join(box.dir('bin'), 'opt-cni-bin');
  const r = await run(process.execPath, [cliEntryPath, 'install', '--bin-dir', binDir], { timeoutMs: 120_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /check: the kit's runtime \(bun [\d.]+\) ran the cold path and the CLI/);
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth', 'kubenet', 'wasm-cni']) {
    assert.is(statSync(join(binDir, p)).mode & 0o777, 0o755, p);
  }
  for (const f of ['js/cni-plugin.mjs', 'js/wasm-cni.mjs', 'core.wasm', 'native/wasm_cni.node', runtimeRel, 'REVISION'])
    assert.ok(existsSync(join(binDir, kitDirName, 'build', f)), f);
  assert.ok(existsSync(join(binDir, kitDirName, 'package.json')));
  assert.match(readFileSync(join(binDir, settingsFileName), 'utf8'), /^on-demand = true$/m);
  writeFileSync(join(binDir, settingsFileName), 'on-demand = false\n'); // the operator's choice survives
  const again = placeKit(binDir, buildDir);
  assert.not.ok(again.settingsWritten);
  assert.is(readFileSync(join(binDir, settingsFileName), 'utf8'), 'on-demand = false\n');
  assert.equal(
    readdirSync(binDir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary files left',
  );
  const version = await run(join(binDir, 'wasm-cni'), ['version', '--json']);
  const v = JSON.parse(version.stdout);
  assert.match(v.runtime, /^bun /, 'the wasm-cni command runs on the kit runtime');
  assert.is(v.revision, readFileSync(join(buildDir, 'REVISION'), 'utf8').trim());
});

test('an installed executable runs the cold path on the kit runtime, and the daemon when one listens', async () => {
  const binDir = box.dir('bin2');
  placeKit(binDir, buildDir, ['loopback', 'bridge']);
  assert.not.ok(existsSync(join(binDir, 'portmap')), 'only the plugins asked for');
  const socket = join(binDir, 'd.sock');
  const env = { WASM_CNI_SOCKET: socket, WASM_CNI_ON_DEMAND: 'false', CNI_COMMAND: 'VERSION', PATH: '/usr/sbin:/sbin' };
  const input = '{"cniVersion":"1.0.0","name":"n","type":"loopback"}';
  const cold = await run(join(binDir, 'loopback'), [], { input, env });
  assert.is(cold.code, 0, cold.stdout + cold.stderr);
  const d = await spawnFixtureDaemon(socket);
  daemons.push(d);
  const warm = await run(join(binDir, 'loopback'), [], { input, env });
  assert.is(warm.code, 0, warm.stdout + warm.stderr);
  assert.equal(JSON.parse(warm.stdout), JSON.parse(cold.stdout), 'the daemon and the cold path give the same answer');
});

test('install says clearly when what it placed does not run here', () => {
  const binDir = box.dir('bin3');
  placeKit(binDir, buildDir, ['loopback']);
  const runtime = join(binDir, kitDirName, 'build', runtimeRel);
  writeFileSync(runtime, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])); // an ELF header and nothing else
  chmodSync(runtime, 0o755);
  const check = checkKit(binDir);
  assert.not.ok(check.ok);
  assert.match(check.detail, /the cold path does not run on this host/);
  assert.match(check.detail, /"code": 11/);
});

test('install refuses plugins we do not have', () => {
  assert.throws(() => placeKit(box.dir('bin4'), buildDir, ['nosuch']), /not built: nosuch/);
});

test('nothing can run: ADD, CHECK and DEL fail with CNI error 11 naming what is missing, change nothing; retries succeed once a daemon is back', async () => {
  const binDir = box.dir('bin5');
  placeKit(binDir, buildDir, ['bridge', 'host-local']);
  const runtime = join(binDir, kitDirName, 'build', runtimeRel);
  renameSync(runtime, `${runtime}.away`); // a kit that lost its runtime; on-demand start (on) needs it too
  const socket = join(binDir, 'run', 'd.sock');
  const ns = await box.netns('p');
  const net: BridgeNet = {
    binDir,
    netns: ns.path,
    bridge: box.name('br'),
    subnet: '10.200.180.0/24',
    dataDir: box.dir('ipam'),
  };
  const env = { WASM_CNI_SOCKET: socket };
  const linkExists = async (name: string) => (await run('ip', ['link', 'show', name])).code === 0;

  const failedAdd = await bridgeCall(net, 'ADD', 'c1', env);
  assert.is(failedAdd.code, 1);
  const e = JSON.parse(failedAdd.stdout);
  assert.is(e.code, 11, failedAdd.stdout);
  assert.match(e.msg, /try again later/);
  assert.match(e.details, new RegExp(`${runtimeRel.replace('/', '\\/')} is missing`));
  assert.not.ok(await linkExists(net.bridge), 'no bridge');
  assert.equal(reservations(net.dataDir, `${net.bridge}-net`), [], 'no reservation');

  const d = await spawnFixtureDaemon(socket);
  daemons.push(d);
  const added = await bridgeCall(net, 'ADD', 'c1', env);
  assert.is(added.code, 0, added.stdout + added.stderr);
  assert.equal(reservations(net.dataDir, `${net.bridge}-net`), ['10.200.180.2']);
  await d.stop();

  const failedCheck = await bridgeCall(net, 'CHECK', 'c1', env, JSON.parse(added.stdout));
  assert.is(JSON.parse(failedCheck.stdout).code, 11, failedCheck.stdout);
  const failedDel = await bridgeCall(net, 'DEL', 'c1', env);
  assert.is(JSON.parse(failedDel.stdout).code, 11);
  assert.equal(
    reservations(net.dataDir, `${net.bridge}-net`),
    ['10.200.180.2'],
    'DEL that could not run changed nothing',
  );

  const back = await spawnFixtureDaemon(socket);
  daemons.push(back);
  const del = await bridgeCall(net, 'DEL', 'c1', env);
  assert.is(del.code, 0, del.stdout + del.stderr);
  assert.equal(reservations(net.dataDir, `${net.bridge}-net`), [], 'the next DEL removed the reservation');
  const veths = (await run('ip', ['-o', 'link', 'show', 'master', net.bridge])).stdout.trim();
  assert.is(veths, '', 'and the pod veth');
  await run('ip', ['link', 'delete', net.bridge]);
});

test.run();

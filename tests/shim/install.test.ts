// `wasm-cni install --bin-dir DIR`: a bin dir that works on its own, through the daemon and on the cold path.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { install, kitDirName } from '../../host/daemon/install.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { run } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('install');
let daemon: FixtureDaemon | undefined;

test.after(async () => {
  await daemon?.stop();
  await box.cleanup();
});

test('installs every plugin executable and the cold-path kit; re-running replaces them in place', () => {
  const binDir = join(box.dir('bin'), 'opt-cni-bin');
  const first = install(binDir);
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth']) {
    assert.ok(first.plugins.includes(p), p);
    assert.is(statSync(join(binDir, p)).mode & 0o777, 0o755);
  }
  assert.ok(existsSync(join(binDir, kitDirName, 'build', 'js', 'cni-plugin.mjs')));
  assert.ok(existsSync(join(binDir, kitDirName, 'package.json')));
  install(binDir);
  assert.equal(
    readdirSync(binDir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary files left',
  );
});

test('an installed executable runs the cold path from the kit, and the daemon when one listens', async () => {
  const binDir = box.dir('bin2');
  install(binDir, ['loopback', 'bridge']);
  assert.not.ok(existsSync(join(binDir, 'portmap')), 'only the plugins asked for');
  const socket = join(binDir, 'd.sock');
  const env = { WASM_CNI_SOCKET: socket, WASM_CNI_HOME: undefined, CNI_COMMAND: 'VERSION' };
  const input = '{"cniVersion":"1.0.0","name":"n","type":"loopback"}';
  const cold = await run(join(binDir, 'loopback'), [], { input, env });
  assert.is(cold.code, 0, cold.stdout + cold.stderr);
  daemon = await spawnFixtureDaemon(socket);
  const warm = await run(join(binDir, 'loopback'), [], { input, env });
  assert.is(warm.code, 0, warm.stdout + warm.stderr);
  assert.equal(JSON.parse(warm.stdout), JSON.parse(cold.stdout), 'the daemon and the cold path give the same answer');
});

test('install refuses plugins that were not built', () => {
  assert.throws(() => install(box.dir('bin3'), ['nosuch']), /not built: nosuch/);
});

test.run();

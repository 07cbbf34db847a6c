// The V8 flags the daemon runs with under Node are one list in three places: host/daemon/runtime-flags.ts, the
// shim that starts the daemon (`wasm-cni daemon`, on demand) and deploy/Dockerfile's ENTRYPOINT. And the shim
// really passes them: the daemon it starts has them on its command line.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { nodeDaemonFlags } from '../../host/daemon/runtime-flags.ts';
import { buildDir, projectRoot } from '../../host/paths.ts';
import { cleanEnv } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const box = new Sandbox();
const test = suite('daemon runtime flags');
test.after(() => box.cleanup());

test('the shim source lists the same flags for node', () => {
  const c = readFileSync(join(projectRoot, 'shims', 'exec', 'coldpath.c'), 'utf8');
  const list = /node_daemon_flags\[\] = \{([^}]*)\}/.exec(c)?.[1];
  assert.ok(list, 'node_daemon_flags not found in coldpath.c');
  const flags = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  assert.equal(flags, [...nodeDaemonFlags]);
});

test("the DaemonSet image's ENTRYPOINT starts node with them", () => {
  const docker = readFileSync(join(projectRoot, 'deploy', 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(docker)?.[1];
  assert.ok(entry);
  assert.equal(JSON.parse(entry), ['node', ...nodeDaemonFlags, '/app/build/js/wasm-cni.mjs']);
});

test('`wasm-cni daemon` through the shim runs node with them', async () => {
  const dir = box.dir('flags');
  const cli = join(dir, 'wasm-cni');
  symlinkSync(join(buildDir, 'native', 'cni-shim'), cli);
  const socket = join(dir, 'd.sock');
  const child = spawn(cli, ['daemon', '--socket', socket], { env: cleanEnv(), stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  box.defer(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  let status: Awaited<ReturnType<typeof requestStatus>> | undefined;
  for (let i = 0; i < 100 && !status; i++) {
    status = await requestStatus(socket, 500).catch(() => undefined);
    if (!status) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(status, 'the daemon did not answer');
  const argv = readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').split('\0');
  assert.equal(argv.slice(1, 1 + nodeDaemonFlags.length), [...nodeDaemonFlags]);
  assert.ok(argv.includes('daemon'));
  child.kill('SIGTERM');
  await exited;
});

test.run();

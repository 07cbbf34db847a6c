// The native CNI executable (build/native/cni-shim, installed as build/cni/<plugin>) against a real daemon,
// a daemon that dies or stalls, foreign replies, and no daemon at all (the cold path).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { buildDir, cniBinDir } from '../../host/paths.ts';
import { requestStatus } from '../../host/daemon/client.ts';
import { encodeReject, RejectReason } from '../../host/daemon/wire.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { installForAnyUser } from '../_lib/installed.ts';
import { cleanEnv, run, type RunResult } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';

const shimBinary = join(buildDir, 'native', 'cni-shim');
const box = new Sandbox();
const test = suite('shim');
let dir = ''; // symlinks named like plugins, sockets
let installed = ''; // `wasm-cni install` output any uid can reach: what callers of another uid run
let socket = '';
let daemon: FixtureDaemon | undefined;
const servers: Server[] = [];

/**
 * Runs the shim under a plugin name, like a runtime: CNI_* env, config on stdin. With `asUid`, the installed copy
 * runs (cwd and CNI_PATH there too): another uid may not be able to enter the checkout.
 */
function shim(
  plugin: string,
  opts: { stdin?: string | Buffer; stdinFile?: string; env?: Record<string, string | undefined>; asUid?: number } = {},
): Promise<RunResult> {
  const env = {
    WASM_CNI_SOCKET: socket,
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/var/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: opts.asUid === undefined ? cniBinDir : installed,
    ...opts.env,
  };
  const exe = join(dir, plugin);
  if (opts.stdinFile) return runFromFile(exe, opts.stdinFile, env);
  if (opts.asUid !== undefined) {
    const args = [`--reuid=${opts.asUid}`, `--regid=${opts.asUid}`, '--clear-groups', join(installed, plugin)];
    return run('setpriv', args, { input: opts.stdin ?? '{}', env, cwd: installed, timeoutMs: 20_000 });
  }
  return run(exe, [], { input: opts.stdin ?? '{}', env, timeoutMs: 20_000 });
}

/** Runs exe with stdin read from a file (the shim may stop reading early; a pipe writer would see EPIPE). */
function runFromFile(exe: string, file: string, env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const fd = openSync(file, 'r');
    const child = spawn(exe, [], { env: cleanEnv(env), stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    let stdout = '',
      stderr = '';
    child.stdout!.on('data', (b) => {
      stdout += b;
    });
    child.stderr!.on('data', (b) => {
      stderr += b;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

function cniError(r: RunResult): { code: number; msg: string; details?: string } {
  assert.is(r.code, 1, `exit code (stdout ${r.stdout}, stderr ${r.stderr})`);
  const e = JSON.parse(r.stdout);
  assert.type(e.code, 'number');
  assert.type(e.msg, 'string');
  return e;
}

/** A socket that answers every connection with one canned frame, like a foreign or newer daemon. */
async function cannedServer(path: string, reply: Buffer): Promise<void> {
  const server = createServer((sock) => {
    sock.once('data', () => sock.end(reply));
    sock.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, () => r()));
}

test.before(async () => {
  dir = box.dir('shim');
  chmodSync(dir, 0o755); // the setpriv'd callers below must reach the sockets
  for (const name of ['echo', 'sleep', 'flood', 'nosuch', 'loopback']) symlinkSync(shimBinary, join(dir, name));
  socket = join(dir, 'd.sock');
  installed = await installForAnyUser(box, ['echo', 'nosuch']);
  daemon = await spawnFixtureDaemon(socket, [4242]);
});

test.after(async () => {
  await daemon?.stop();
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  await box.cleanup();
});

test('the build put the executable under every plugin name', () => {
  for (const p of ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth'])
    assert.ok(existsSync(join(cniBinDir, p)), p);
});

test('forwards CNI_* env and stdin to the daemon and replays exit code, stdout and stderr', async () => {
  const stdin = '{"cniVersion":"1.0.0","name":"n","type":"echo","x":"é\\u0000"}';
  const r = await shim('echo', { stdin, env: { CNI_ARGS: 'EXIT=3;STDERR=warned', NOT_CNI: 'secret' } });
  assert.is(r.code, 3);
  assert.is(r.stderr, 'warned');
  const seen = JSON.parse(r.stdout);
  assert.is(seen.stdin, stdin);
  assert.is(seen.env.CNI_COMMAND, 'ADD');
  assert.is(seen.env.CNI_IFNAME, 'eth0');
  assert.is(seen.env.NOT_CNI, undefined, 'only CNI_* variables travel');
});

test('calls for the same container are serialized, other containers run concurrently', async () => {
  const spans = async (cids: string[]) => {
    const rs = await Promise.all(
      cids.map((cid) => shim('sleep', { env: { CNI_CONTAINERID: cid, CNI_ARGS: 'MS=250' } })),
    );
    return rs
      .map((r) => {
        assert.is(r.code, 0, r.stdout);
        return JSON.parse(r.stdout) as { start: number; end: number };
      })
      .sort((a, b) => a.start - b.start);
  };
  const same = await spans(['same', 'same', 'same']);
  for (let i = 1; i < same.length; i++)
    assert.ok(same[i]!.start >= same[i - 1]!.end, `call ${i} overlapped the one before`);
  const different = await spans(['a', 'b', 'c']);
  assert.ok(different[2]!.start < different[0]!.end, 'calls for different containers ran one after another');
});

test('stdin over the limit: CNI error, nothing sent to the daemon', async () => {
  const before = (await requestStatus(socket)).served;
  const big = join(box.dir('big'), 'stdin');
  writeFileSync(big, Buffer.alloc(3 << 20, 0x20)); // from a file: the shim stops reading at the limit
  const e = cniError(await shim('echo', { stdinFile: big }));
  assert.is(e.code, 5);
  assert.match(e.msg, /too large/);
  assert.is((await requestStatus(socket)).served, before);
});

test('a reply over the limit becomes a CNI error from the daemon', async () => {
  const e = cniError(await shim('flood', { env: { CNI_ARGS: `BYTES=${5 << 20}` } }));
  assert.is(e.code, 999);
  assert.match(e.msg, /limit/);
});

test('a caller whose uid is not allowed gets a permission error; an allowed uid is served', async () => {
  const denied = cniError(await shim('echo', { asUid: 65534 }));
  assert.match(denied.msg, /permission denied/);
  assert.match(denied.details ?? '', /uid 65534/);
  const allowed = await shim('echo', { asUid: 4242 });
  assert.is(allowed.code, 0, allowed.stdout);
});

test('a root-only daemon socket: a non-root caller cannot connect and runs the plugin on the cold path itself', async () => {
  const privateDir = box.dir('rootonly'); // mode 0700, like /run/wasm-cni
  const path = join(privateDir, 'd.sock');
  const rootOnly = await spawnFixtureDaemon(path);
  try {
    const served = (await requestStatus(path)).served;
    const e = cniError(await shim('nosuch', { asUid: 65534, env: { WASM_CNI_SOCKET: path } }));
    assert.match(e.msg, /unknown plugin "nosuch"/, "answered by the cold path, with the caller's own privileges");
    assert.is((await requestStatus(path)).served, served);
  } finally {
    await rootOnly.stop();
  }
});

test('a daemon that answers with another protocol version or is draining: the cold path runs instead', async () => {
  for (const reason of [RejectReason.Version, RejectReason.Draining]) {
    const path = join(dir, `reject${reason}.sock`);
    await cannedServer(path, encodeReject(reason, 'not me'));
    const e = cniError(await shim('nosuch', { env: { WASM_CNI_SOCKET: path } }));
    assert.match(e.msg, /unknown plugin "nosuch"/, 'answered by the bundled entry');
  }
});

test('a socket that does not speak the protocol: try-again error, no hang', async () => {
  const path = join(dir, 'garbage.sock');
  await cannedServer(path, Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const e = cniError(await shim('echo', { env: { WASM_CNI_SOCKET: path } }));
  assert.is(e.code, 11);
});

test('a daemon that stalls: try-again error after the reply timeout', async () => {
  const stalled = await spawnFixtureDaemon(join(dir, 'stalled.sock'));
  try {
    stalled.proc.kill('SIGSTOP');
    const t0 = Date.now();
    const e = cniError(
      await shim('echo', { env: { WASM_CNI_SOCKET: join(dir, 'stalled.sock'), WASM_CNI_REPLY_TIMEOUT_MS: '400' } }),
    );
    assert.is(e.code, 11);
    assert.match(e.details ?? '', /timeout/);
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    stalled.proc.kill('SIGCONT');
    await stalled.kill();
  }
});

test('the daemon killed mid-call: try-again error at once; then its stale socket sends calls to the cold path', async () => {
  const path = join(dir, 'dying.sock');
  const dying = await spawnFixtureDaemon(path);
  const call = shim('sleep', { env: { WASM_CNI_SOCKET: path, CNI_ARGS: 'MS=10000' } });
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  await dying.kill();
  const e = cniError(await call);
  assert.is(e.code, 11);
  assert.match(e.details ?? '', /closed the connection/);
  assert.ok(Date.now() - t0 < 3000, 'the shim noticed the daemon was gone');
  assert.ok(existsSync(path), 'SIGKILL leaves the socket file behind');
  const cold = cniError(await shim('nosuch', { env: { WASM_CNI_SOCKET: path } }));
  assert.match(cold.msg, /unknown plugin "nosuch"/);
});

test('no daemon: the cold path gets stdin, env and the plugin name, without NODE_OPTIONS/NODE_EXTRA_CA_CERTS', async () => {
  const home = box.dir('home');
  mkdirSync(join(home, 'build', 'js'), { recursive: true });
  writeFileSync(
    join(home, 'build', 'js', 'cni-plugin.mjs'),
    `import { readFileSync } from 'node:fs';
process.stdout.write(JSON.stringify({ plugin: process.argv[2], stdin: readFileSync(0, 'utf8'),
  options: process.env.NODE_OPTIONS ?? null, ca: process.env.NODE_EXTRA_CA_CERTS ?? null, cmd: process.env.CNI_COMMAND }));
process.exitCode = 4;`,
  );
  const env = {
    WASM_CNI_SOCKET: join(dir, 'absent.sock'),
    WASM_CNI_HOME: home,
    NODE_OPTIONS: '--require /nonexistent.js',
    NODE_EXTRA_CA_CERTS: '/nonexistent.pem',
  };
  const r = await shim('loopback', { stdin: '{"cniVersion":"1.0.0"}', env });
  assert.is(r.code, 4, r.stderr);
  assert.equal(JSON.parse(r.stdout), {
    plugin: 'loopback',
    stdin: '{"cniVersion":"1.0.0"}',
    options: null,
    ca: null,
    cmd: 'ADD',
  });
  // stdin already read by the shim (the daemon said "other version") reaches the cold path intact
  const path = join(dir, 'old.sock');
  await cannedServer(path, encodeReject(RejectReason.Version, 'v2 here'));
  const big = 'y'.repeat(300_000);
  const r2 = await shim('loopback', { stdin: big, env: { ...env, WASM_CNI_SOCKET: path } });
  assert.is(JSON.parse(r2.stdout).stdin, big);
});

test('no daemon, real bundle: an unknown plugin name is a CNI error', async () => {
  const e = cniError(await shim('nosuch', { env: { WASM_CNI_SOCKET: join(dir, 'absent.sock') } }));
  assert.is(e.code, 999);
});

test('no daemon, real bundle: loopback answers VERSION from the build tree copy', async () => {
  const r = await run(join(cniBinDir, 'loopback'), [], {
    input: '{"cniVersion":"1.0.0","name":"lo","type":"loopback"}',
    env: { WASM_CNI_SOCKET: join(dir, 'absent.sock'), CNI_COMMAND: 'VERSION' },
  });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(JSON.parse(r.stdout).supportedVersions.includes('1.0.0'));
});

test.run();

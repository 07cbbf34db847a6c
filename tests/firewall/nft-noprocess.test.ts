// No process on the hot path: the daemon serving a whole nftables chain (bridge with ipMasq and macspoofchk,
// portmap, bandwidth) ADD, CHECK and DEL starts no process (strace -f -e trace=execve on the daemon), and it
// needs no `nft` executable (the daemon runs in a mount namespace where /usr/sbin/nft is not executable).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../../host/daemon/client.ts';
import { bundlesFresh, cliEntryPath, projectRoot } from '../../host/paths.ts';
import { rulesetText } from '../_lib/nft-oracle.ts';
import { run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const test = suite('firewall: no process on the nftables hot path');
const sb = new Sandbox();
let host: TestNetns;
let pod: TestNetns;

test.before(async () => {
  host = await sb.netns('h');
  pod = await sb.netns('p');
});
test.after(() => sb.cleanup());

test('ADD, CHECK, DEL of bridge(ipMasq nftables, macspoofchk)+portmap(nftables)+bandwidth start nothing', async () => {
  const dir = sb.dir('np');
  const socket = join(dir, 'd.sock');
  const log = join(dir, 'strace.log');
  const daemonArgs =
    existsSync(cliEntryPath) && bundlesFresh()
      ? [cliEntryPath, 'daemon', '--socket', socket]
      : ['--import', 'tsx', join(projectRoot, 'host', 'cli', 'main.ts'), 'daemon', '--socket', socket];
  const script = `mount --bind /dev/null /usr/sbin/nft && exec strace -f -qq -e trace=execve -o ${log} ${process.execPath} ${daemonArgs.join(' ')}`;
  const daemon = spawn('ip', ['netns', 'exec', host.name, 'unshare', '-m', 'sh', '-c', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    detached: true, // its own process group: strace and the daemon under it are stopped together
  });
  let err = '';
  daemon.stderr!.on('data', (b) => {
    err += b;
  });
  const exited = new Promise<void>((r) => daemon.once('exit', () => r()));
  sb.defer(async () => {
    if (daemon.exitCode === null) process.kill(-daemon.pid!, 'SIGTERM');
    await exited;
    daemon.stderr!.destroy();
  });
  for (let i = 0; ; i++) {
    try {
      await requestStatus(socket, 500);
      break;
    } catch {
      if (daemon.exitCode !== null || i > 150) throw new Error(`daemon did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const before = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('execve(')).length;

  const child = await run(
    'ip',
    [
      'netns',
      'exec',
      host.name,
      process.execPath,
      '--import',
      'tsx',
      join(projectRoot, 'tests', 'firewall', '_nft-chain-child.ts'),
      `${sb.prefix}-np`,
      sb.name('br'),
      '10.200.217.0/24',
      pod.path,
      sb.dir('cache'),
      sb.dir('ipam'),
    ],
    { env: { WASM_CNI_SOCKET: socket, PATH: process.env.PATH }, timeoutMs: 60_000 },
  );
  assert.is(child.stdout.trim(), 'ok', `${child.stdout}\n${child.stderr}`);
  const status = await requestStatus(socket, 2000);
  assert.ok(JSON.stringify(status).includes('portmap'), 'the calls went through the daemon');

  const execs = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('execve('))
    .slice(before)
    .filter((l) => !l.includes('/esbuild')); // the test's TypeScript loader when the bundle is stale, not a plugin
  assert.equal(execs, [], 'no process started during the calls');
  // and the pod's rules are gone again (the tables and base chains stay, as the reference leaves them)
  const left = await rulesetText(host.name);
  assert.not.match(left, `${sb.prefix}-np-pod`);
  assert.match(left, 'table ip cni_hostport');
  assert.match(left, 'table inet cni_plugins_masquerade');
});

test.run();

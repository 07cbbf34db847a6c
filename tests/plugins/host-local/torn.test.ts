// A reservation appears whole or not at all, and what a killed writer left is reclaimed under the lock:
// our plugin killed (SIGKILL, WASM_CNI_FAULT) after writing its temporary file or right after linking it, and an
// empty reservation planted as the reference leaves one when killed between its O_EXCL create and its write.
// Each time: DEL exits 0, the address is handed out again, and only lock/last_reserved_ip remain.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cniBinDir } from '../../../host/paths.ts';
import { run } from '../../_lib/run.ts';
import { referenceCniPath } from '../../_lib/oracle.ts';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';

const test = suite('host-local torn reservations');
const sb = new Sandbox();
let pod: TestNetns;

test.before(async () => {
  pod = await sb.netns('torn');
});
test.after(async () => {
  await sb.cleanup();
});

function conf(dataDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'torn',
    type: 'host-local',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.221.0/29' }]] },
  });
}

/** Our executable on the cold path (a private socket path no daemon listens on), or the reference. */
async function call(
  impl: 'ours' | 'reference',
  command: 'ADD' | 'DEL',
  dataDir: string,
  containerId: string,
  fault?: string,
) {
  const dir = impl === 'ours' ? cniBinDir : referenceCniPath;
  return run(join(dir, 'host-local'), [], {
    input: conf(dataDir),
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: pod.path,
      CNI_IFNAME: 'eth0',
      CNI_PATH: dir,
      WASM_CNI_SOCKET: join(dataDir, 'no-daemon.sock'),
      WASM_CNI_FAULT: fault,
    },
    timeoutMs: 30_000,
  });
}

const files = (dataDir: string) => readdirSync(join(dataDir, 'torn')).sort();
const ipOf = (stdout: string) => (JSON.parse(stdout) as { ips: Array<{ address: string }> }).ips[0]!.address;

for (const fault of ['host-local:temp-written', 'host-local:linked']) {
  test(`killed at ${fault}: the address is whole or absent, then reclaimed`, async () => {
    const dataDir = sb.dir('torn');
    const killed = await call('ours', 'ADD', dataDir, 'victim', fault);
    assert.ok(killed.code !== 0, 'the killed ADD did not succeed');
    for (const f of files(dataDir)) {
      if (/^\d/.test(f)) assert.is(readFileSync(join(dataDir, 'torn', f), 'latin1'), 'victim\r\neth0', `${f} whole`);
    }
    const del = await call('ours', 'DEL', dataDir, 'victim');
    assert.is(del.code, 0, del.stdout);
    assert.equal(files(dataDir), ['lock'], 'the temporary file and the reservation are gone');
    const again = await call('ours', 'ADD', dataDir, 'next');
    assert.is(again.code, 0, again.stdout);
    assert.is(ipOf(again.stdout), '10.200.221.2/29', 'the first address is free again');
    assert.is((await call('ours', 'DEL', dataDir, 'next')).code, 0);
    assert.equal(files(dataDir), ['last_reserved_ip.0', 'lock']);
  });
}

test('an empty reservation (a torn write by the reference) is reclaimed by ADD, DEL and GC alike', async () => {
  const dataDir = sb.dir('torn');
  // The reference makes the directory and the lock; then a 0-byte file as its O_EXCL create leaves it.
  assert.is((await call('reference', 'ADD', dataDir, 'first')).code, 0);
  assert.is((await call('reference', 'DEL', dataDir, 'first')).code, 0);
  writeFileSync(join(dataDir, 'torn', '10.200.221.3'), '', { mode: 0o600 });
  writeFileSync(join(dataDir, 'torn', '10.200.221.2'), '', { mode: 0o600 });
  const add = await call('ours', 'ADD', dataDir, 'c1');
  assert.is(add.code, 0, add.stdout);
  // last_reserved_ip is .2: round robin goes on at .3, which was torn and is free again
  assert.is(ipOf(add.stdout), '10.200.221.3/29');
  assert.equal(files(dataDir), ['10.200.221.3', 'last_reserved_ip.0', 'lock']);
  assert.is((await call('ours', 'DEL', dataDir, 'c1')).code, 0);
  // DEL alone reclaims one too
  writeFileSync(join(dataDir, 'torn', '10.200.221.4'), '', { mode: 0o600 });
  assert.is((await call('ours', 'DEL', dataDir, 'other')).code, 0);
  assert.equal(files(dataDir), ['last_reserved_ip.0', 'lock']);
  // and the reference reads what we write
  assert.is((await call('ours', 'ADD', dataDir, 'c2')).code, 0);
  assert.is((await call('reference', 'DEL', dataDir, 'c2')).code, 0);
  assert.equal(files(dataDir), ['last_reserved_ip.0', 'lock']);
});

test('GC removes an empty reservation', async () => {
  const dataDir = sb.dir('torn');
  assert.is((await call('ours', 'ADD', dataDir, 'keep')).code, 0);
  writeFileSync(join(dataDir, 'torn', '10.200.221.5'), '', { mode: 0o600 });
  const gc = await run(join(cniBinDir, 'host-local'), [], {
    input: JSON.stringify({
      cniVersion: '1.1.0',
      name: 'torn',
      type: 'host-local',
      'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }],
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.221.0/29' }]] },
    }),
    env: { CNI_COMMAND: 'GC', CNI_PATH: cniBinDir, WASM_CNI_SOCKET: join(dataDir, 'no-daemon.sock') },
    timeoutMs: 30_000,
  });
  assert.is(gc.code, 0, gc.stdout);
  assert.equal(files(dataDir), ['10.200.221.2', 'last_reserved_ip.0', 'lock']);
  assert.is((await call('ours', 'DEL', dataDir, 'keep')).code, 0);
});

test.run();

// host-local GC (spec 1.1; the reference has none, and Debian's v1.1.1 stops at spec 1.0.0): reservations
// whose (containerID, ifname) is not in cni.dev/valid-attachments are removed, nothing else. Subnet 10.200.65.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';
import { callPlugin } from './harness.ts';

const test = suite('host-local GC');
const sb = new Sandbox();
let pod: TestNetns;

test.before(async () => {
  pod = await sb.netns('hlgc');
});
test.after(async () => {
  await sb.cleanup();
});

test('GC keeps valid attachments (and legacy records of valid container IDs), removes the rest', async () => {
  const dataDir = sb.dir('gc-data');
  const conf = {
    cniVersion: '1.1.0',
    name: 'gcnet',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.65.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] },
  };
  const add = async (id: string, ifName: string) => {
    const r = await callPlugin('ours', { command: 'ADD', containerId: id, ifName, netns: pod.path, conf });
    assert.is(r.code, 0, r.stdout);
  };
  await add('keep', 'eth0');
  await add('keep', 'eth1');
  await add('drop', 'eth0');
  const dir = join(dataDir, 'gcnet');
  writeFileSync(join(dir, '10.200.65.100'), 'legacykeep', { mode: 0o600 });
  writeFileSync(join(dir, '10.200.65.101'), 'legacydrop', { mode: 0o600 });

  const gc = {
    ...conf,
    'cni.dev/valid-attachments': [
      { containerID: 'keep', ifname: 'eth0' },
      { containerID: 'legacykeep', ifname: 'eth0' },
    ],
  };
  const r = await callPlugin('ours', { command: 'GC', netns: '', conf: gc });
  assert.is(r.code, 0, r.stdout);
  assert.is(r.stdout, '');

  const owners = readdirSync(dir)
    .filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.'))
    .map((f) => `${f}=${readFileSync(join(dir, f), 'utf8')}`)
    .sort();
  assert.equal(owners, ['10.200.65.100=legacykeep', '10.200.65.2=keep\r\neth0', 'fd00:200:60::2=keep\r\neth0']);
});

test('GC needs a 1.1.0 config and a valid one', async () => {
  const dataDir = sb.dir('gc-data2');
  const old = await callPlugin('ours', {
    command: 'GC',
    netns: '',
    conf: { cniVersion: '1.0.0', name: 'gcnet', ipam: { type: 'host-local', dataDir, subnet: '10.200.65.0/24' } },
  });
  assert.equal(JSON.parse(old.stdout), { code: 1, msg: 'config version does not allow GC' });
  const bad = await callPlugin('ours', {
    command: 'GC',
    netns: '',
    conf: { cniVersion: '1.1.0', name: 'gcnet', ipam: { type: 'host-local', dataDir, subnet: '10.200.65.0/33' } },
  });
  assert.equal(JSON.parse(bad.stdout), { code: 999, msg: 'invalid CIDR address: 10.200.65.0/33' });
  assert.equal(readdirSync(dataDir), []);
});

test.run();

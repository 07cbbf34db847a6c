// Ours and the reference host-local allocating from ONE data directory at the same time (flock interop):
// 100 parallel ADDs (every other one by the reference), then 100 parallel DELs (mixed the other way round).
// No address may be handed out twice, every ADD must succeed, and nothing but lock/last_reserved_ip may remain.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';
import { callPlugin, type Impl } from './harness.ts';

const test = suite('host-local concurrency');
const sb = new Sandbox();
let pod: TestNetns;

test.before(async () => {
  pod = await sb.netns('hlcc');
});
test.after(async () => {
  await sb.cleanup();
});

const count = 100;

/** Runs fn over items with at most `width` in flight. */
async function parallel<T, R>(items: T[], width: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

test('100 parallel ADDs then DELs, ours and the reference mixed on one data dir', async () => {
  const dataDir = sb.dir('cc-data');
  const conf = {
    cniVersion: '1.0.0',
    name: 'ccnet',
    ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.200.68.0/24' }], [{ subnet: 'fd00:200:60::/64' }]] },
  };
  const ids = Array.from({ length: count }, (_, i) => i);
  const who = (i: number, flip: boolean): Impl => ((i % 2 === 0) !== flip ? 'reference' : 'ours');

  const adds = await parallel(ids, 32, (i) =>
    callPlugin(who(i, false), { command: 'ADD', containerId: `cc${i}`, ifName: 'eth0', netns: pod.path, conf }),
  );
  for (const [i, r] of adds.entries()) assert.is(r.code, 0, `ADD cc${i} by ${who(i, false)}: ${r.stdout}`);
  const v4 = adds.map((r) => (JSON.parse(r.stdout) as { ips: Array<{ address: string }> }).ips[0]!.address);
  const v6 = adds.map((r) => (JSON.parse(r.stdout) as { ips: Array<{ address: string }> }).ips[1]!.address);
  assert.is(new Set(v4).size, count, 'duplicate IPv4 address handed out');
  assert.is(new Set(v6).size, count, 'duplicate IPv6 address handed out');

  const netDir = join(dataDir, 'ccnet');
  const files = readdirSync(netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.'));
  assert.is(files.length, 2 * count);
  for (const [i, addr] of v4.entries()) {
    assert.is(readFileSync(join(netDir, addr.split('/')[0]!), 'utf8'), `cc${i}\r\neth0`);
    assert.is(readFileSync(join(netDir, v6[i]!.split('/')[0]!), 'utf8'), `cc${i}\r\neth0`);
  }

  const dels = await parallel(ids, 32, (i) =>
    callPlugin(who(i, true), { command: 'DEL', containerId: `cc${i}`, ifName: 'eth0', netns: pod.path, conf }),
  );
  for (const [i, r] of dels.entries()) assert.is(r.code, 0, `DEL cc${i}: ${r.stdout}`);
  assert.equal(readdirSync(netDir).sort(), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});

test.run();

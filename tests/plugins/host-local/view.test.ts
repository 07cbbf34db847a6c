// The cached reservation view of a warm process (the daemon case): our handler runs in this process, the
// reference binary changes the same directory in between, and every answer must still be the one a fresh
// reader of the directory would give. Subnet 10.200.69.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginHandler } from '../../../host/cni/handler.ts';
import { plugins } from '../../../host/plugins/registry.ts';
import { viewFor } from '../../../host/plugins/host-local/view.ts';
import { cleanEnv } from '../../_lib/run.ts';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';
import { callPlugin } from './harness.ts';

const test = suite('host-local cached view');
const sb = new Sandbox();
let pod: TestNetns;
let handler: PluginHandler;

test.before(async () => {
  pod = await sb.netns('hlview');
  handler = await plugins['host-local']!();
});
test.after(async () => {
  await sb.cleanup();
});

async function ours(
  command: string,
  id: string,
  conf: unknown,
  cniArgs = '',
): Promise<{ code: number; out: Record<string, unknown> | undefined }> {
  const env = {
    ...cleanEnv(),
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: pod.path,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/nonexistent',
    CNI_ARGS: cniArgs,
  };
  const r = await handler({ env, stdin: new TextEncoder().encode(JSON.stringify(conf)) });
  return { code: r.exitCode, out: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined };
}
async function reference(command: 'ADD' | 'DEL', id: string, conf: unknown, cniArgs = ''): Promise<void> {
  const r = await callPlugin('reference', { command, containerId: id, ifName: 'eth0', netns: pod.path, conf, cniArgs });
  assert.is(r.code, 0, r.stdout);
}
const addressOf = (out: Record<string, unknown> | undefined) => (out!.ips as Array<{ address: string }>)[0]!.address;

test("own changes keep the view trusted; the reference's changes (incl. a re-created file) are picked up", async () => {
  const dataDir = sb.dir('view-data');
  const conf = {
    cniVersion: '1.0.0',
    name: 'viewnet',
    ipam: { type: 'host-local', dataDir, subnet: '10.200.69.0/24' },
  };
  const dir = join(dataDir, 'viewnet');

  assert.is(addressOf((await ours('ADD', 'o1', conf)).out), '10.200.69.2/24');
  const view = viewFor(dir);
  const before = { ...view.stats };
  assert.is(addressOf((await ours('ADD', 'o2', conf)).out), '10.200.69.3/24');
  assert.is(addressOf((await ours('ADD', 'o3', conf)).out), '10.200.69.4/24');
  assert.is(view.stats.listed, before.listed, 'the directory was listed although only we changed it');
  assert.is(view.stats.filesRead, before.filesRead, 'reservation files were re-read although only we changed them');

  // The reference allocates .5 (its last_reserved_ip is .4) and a requested .50 for swapA (last_reserved_ip .50).
  await reference('ADD', 'r1', conf);
  await reference('ADD', 'swapA', conf, 'IP=10.200.69.50');
  assert.is(
    addressOf((await ours('ADD', 'o4', conf)).out),
    '10.200.69.51/24',
    'round robin continues after the reference',
  );
  assert.ok(view.stats.listed > before.listed);
  assert.is(view.owners.get('10.200.69.50'), 'swapA\r\neth0');

  // Swap: the reference releases .50 of swapA and hands .50 to swapB (same file name, same size).
  await reference('DEL', 'swapA', conf);
  await reference('ADD', 'swapB', conf, 'IP=10.200.69.50');
  // A stale view would now delete swapB's file on swapA's DEL, and miss swapB's duplicate.
  assert.is((await ours('DEL', 'swapA', conf)).code, 0);
  assert.is(readFileSync(join(dir, '10.200.69.50'), 'utf8'), 'swapB\r\neth0');
  assert.is((await ours('CHECK', 'swapB', conf)).code, 0);
  const dup = await ours('ADD', 'swapB', conf);
  assert.is(dup.code, 1);
  assert.is(
    dup.out?.msg,
    'failed to allocate for range 0: 10.200.69.50 has been allocated to swapB, duplicate allocation is not allowed',
  );

  // Our DELs of everything, and the reference's: nothing left but the lock and last_reserved_ip.
  for (const id of ['o1', 'o2', 'o3', 'o4', 'r1']) assert.is((await ours('DEL', id, conf)).code, 0);
  await reference('DEL', 'swapB', conf);
  assert.is((await ours('CHECK', 'swapB', conf)).code, 1);
  assert.is(view.owners.size, 0);
  assert.not.ok(existsSync(join(dir, '10.200.69.50')));
});

test("a reservation file created behind the view's back is never handed out twice", async () => {
  const dataDir = sb.dir('view-data2');
  const conf = {
    cniVersion: '1.0.0',
    name: 'viewnet2',
    ipam: { type: 'host-local', dataDir, subnet: '10.200.69.0/28' },
  };
  assert.is(addressOf((await ours('ADD', 'a', conf)).out), '10.200.69.2/28');
  // Fill .3–.14 with the reference; the next free after our .2 is therefore none but the released ones.
  for (let i = 3; i <= 14; i++) await reference('ADD', `r${i}`, conf);
  const full = await ours('ADD', 'b', conf);
  assert.is(full.code, 1);
  assert.is(
    full.out?.msg,
    'failed to allocate for range 0: no IP addresses available in range set: 10.200.69.1-10.200.69.14',
  );
  await reference('DEL', 'r9', conf);
  assert.is(addressOf((await ours('ADD', 'b', conf)).out), '10.200.69.9/28');
});

test.run();

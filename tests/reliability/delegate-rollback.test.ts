// A failed ADD leaves nothing, delegates included: bridge with `"ipam":{"type":"loopback"}` fails (loopback's
// ::1/128 cannot go on eth0) after loopback's ADD set lo up; the rollback calls loopback's DEL, and the pod's
// namespace is exactly as before (lo down, no address), the bridge has no port left.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run, sh } from '../_lib/run.ts';
import { spawnFixtureDaemon, type FixtureDaemon } from '../_lib/daemon-fixture.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { callOn, errorOf } from './paths.ts';

const test = suite('delegate rollback');
const sb = new Sandbox();

test.after(async () => {
  await sb.cleanup();
});

/** A namespace as a runtime makes it: lo down, no address (Sandbox.netns sets lo up). */
async function freshNetns(suffix: string): Promise<string> {
  const name = `${sb.prefix}-${suffix}`;
  await sh('ip', ['netns', 'add', name]);
  return name;
}

/** Links and addresses; not the qdisc: the kernel gives lo `noqueue` the first time it comes up, for good. */
const stateOf = async (ns: string) =>
  (await sh('ip', ['-n', ns, '-o', 'addr', 'show'])) +
  (await sh('ip', ['-n', ns, '-o', 'link', 'show'])).replace(/ qdisc \S+/g, '');

for (const path of ['cold', 'daemon'] as const) {
  test(`[${path}] bridge + ipam loopback: the ADD fails and the pod namespace is as before`, async () => {
    const ns = await freshNetns(`dr${path[0]}`);
    const bridge = sb.name(`dr${path[0]}`);
    const before = await stateOf(ns);
    let sock = join(sb.dir('dr'), 'absent.sock'); // the cold path
    let daemon: FixtureDaemon | undefined;
    if (path === 'daemon') {
      sock = join(sb.dir('drd'), 'd.sock');
      daemon = await spawnFixtureDaemon(sock);
    }
    try {
      const r = await callOn(path, sock, {
        plugin: 'bridge',
        stdin: JSON.stringify({ cniVersion: '1.0.0', name: 'dr', type: 'bridge', bridge, ipam: { type: 'loopback' } }),
        env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'drc', CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: 'eth0' },
      });
      assert.is(r.code, 1, r.stdout);
      assert.ok(errorOf(r.stdout), r.stdout);
      assert.is(await stateOf(ns), before, 'the pod namespace is unchanged');
      const ports = (await run('ip', ['-o', 'link', 'show', 'master', bridge])).stdout.trim();
      assert.is(ports, '', 'no veth left on the bridge');
    } finally {
      await daemon?.stop();
      await run('ip', ['link', 'delete', bridge]);
    }
  });
}

test.run();

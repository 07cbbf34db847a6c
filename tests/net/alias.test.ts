// host/net link aliases (IFLA_IFALIAS): set through RTM_SETLINK, read back by get/list, checked against
// `ip -j link show` (ifalias) and against aliases set by iproute2.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NetHandle, NetlinkError } from '../../host/net/index.ts';
import { sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
let host: NetHandle;
let inNs: NetHandle;

async function ifalias(name: string, netns?: string): Promise<string | undefined> {
  const shown = JSON.parse(
    await sh('ip', [...(netns ? ['-n', netns] : []), '-j', 'link', 'show', 'dev', name]),
  ) as Array<{ ifalias?: string }>;
  return shown[0]?.ifalias;
}

const Alias = suite('net: link alias');
Alias.before(async () => {
  ns = await sb.netns('a');
  host = await NetHandle.open();
  inNs = await NetHandle.open(ns.path);
  await host.link.addVeth({ name: sb.name('a0'), peer: { name: sb.name('a1'), netns: ns.path } });
});
Alias.after(async () => {
  host?.close();
  inNs?.close();
  await sb.cleanup();
});

Alias("a new link has no alias; setAlias by name shows as ip's ifalias and in get/list", async () => {
  const name = sb.name('a0');
  assert.is(await ifalias(name), undefined);
  assert.is((await host.link.get(name)).alias, undefined);
  await host.link.setAlias(name, 'wasm-cni:net-a:cid-1');
  assert.is(await ifalias(name), 'wasm-cni:net-a:cid-1');
  const got = await host.link.get(name);
  assert.is(got.alias, 'wasm-cni:net-a:cid-1');
  assert.is((await host.link.list()).find((l) => l.index === got.index)?.alias, 'wasm-cni:net-a:cid-1');
});

Alias('by index, together with other changes in one request, inside another namespace', async () => {
  const peer = await inNs.link.get(sb.name('a1'));
  await inNs.link.set(peer.index, { alias: 'peer side', mtu: 1400, up: true });
  assert.is(await ifalias(sb.name('a1'), ns.name), 'peer side');
  const now = await inNs.link.get(peer.index);
  assert.equal([now.alias, now.mtu, now.up], ['peer side', 1400, true]);
  assert.is((await host.link.get(sb.name('a0'))).alias, 'wasm-cni:net-a:cid-1', 'the other end keeps its own alias');
});

Alias('an alias set by ip is read back; replacing and clearing it', async () => {
  const name = sb.name('a0');
  await sh('ip', ['link', 'set', 'dev', name, 'alias', 'set by iproute2']);
  assert.is((await host.link.get(name)).alias, 'set by iproute2');
  await host.link.setAlias(name, 'x'.repeat(255));
  assert.is(await ifalias(name), 'x'.repeat(255));
  assert.is((await host.link.get(name)).alias, 'x'.repeat(255));
  await host.link.setAlias(name, '');
  assert.is(await ifalias(name), undefined);
  assert.is((await host.link.get(name)).alias, undefined);
  assert.is(readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8'), '', 'sysfs agrees: no alias');
});

Alias('errors: too long an alias (ERANGE from the kernel, nothing changed), missing device', async () => {
  const name = sb.name('a0');
  await host.link.setAlias(name, 'kept');
  let err: unknown;
  try {
    await host.link.setAlias(name, 'y'.repeat(256));
  } catch (e) {
    err = e;
  }
  assert.instance(err, NetlinkError);
  assert.is((err as NetlinkError).code, 'ERANGE');
  assert.is(await ifalias(name), 'kept');
  err = undefined;
  try {
    await host.link.setAlias(sb.name('nope'), 'z');
  } catch (e) {
    err = e;
  }
  assert.is((err as NetlinkError).code, 'ENODEV');
});

Alias.run();

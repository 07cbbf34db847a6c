// loopback, ours against the reference (/usr/lib/cni/loopback), in throw-away namespaces
// (plugins/main/loopback/loopback_test.go v1.9.1 per version, its errors and idempotency). Address: 10.200.69.1 (the
// non-loopback case).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../../_lib/sandbox.ts';
import { sh } from '../../_lib/run.ts';
import { callPlugin, impls, parsedOutput, type Impl } from '../host-local/harness.ts';

const test = suite('loopback');
const sb = new Sandbox();
test.after(async () => {
  await sb.cleanup();
});

const conf = (v: string, extra: Record<string, unknown> = {}) => ({
  cniVersion: v,
  name: 'cni-loopback',
  type: 'loopback',
  ...extra,
});
let nsCount = 0;

/** A fresh namespace whose lo is down (the sandbox brings lo up; undo that). */
async function freshNs(): Promise<string> {
  const ns = await sb.netns(`lo${nsCount++}`);
  await sh('ip', ['-n', ns.name, 'link', 'set', 'lo', 'down']);
  return ns.path;
}

async function loUp(nsPath: string): Promise<boolean> {
  const out = await sh('nsenter', [`--net=${nsPath}`, 'ip', '-j', 'link', 'show', 'lo']);
  return (JSON.parse(out) as Array<{ flags: string[] }>)[0]!.flags.includes('UP');
}

const call = (impl: Impl, command: 'ADD' | 'DEL' | 'CHECK', netns: string, c: unknown) =>
  callPlugin(impl, {
    type: 'loopback',
    command,
    containerId: 'lo-test',
    ifName: 'eth0',
    netns,
    conf: c,
    cniArgs: 'none',
  });

for (const v of ['1.0.0']) {
  test(`[${v}] ADD sets lo up and both print the same result; DEL sets it down and prints nothing`, async () => {
    for (const impl of impls) {
      const ns = await freshNs();
      const add = await call(impl, 'ADD', ns, conf(v));
      assert.is(add.code, 0, add.stdout);
      assert.ok(await loUp(ns), `${impl}: lo is not up after ADD`);
      assert.equal(
        parsedOutput(add.stdout),
        {
          cniVersion: v,
          interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: ns }],
          ips: [
            { interface: 0, address: '127.0.0.1/8' },
            { interface: 0, address: '::1/128' },
          ],
        },
        impl,
      );
      const chk = await call(impl, 'CHECK', ns, conf(v));
      assert.is(chk.code, 0, chk.stdout);
      const del = await call(impl, 'DEL', ns, conf(v));
      assert.is(del.code, 0, del.stdout);
      assert.is(del.stdout, '');
      assert.not.ok(await loUp(ns), `${impl}: lo is still up after DEL`);
    }
  });
}

// The reference builds a 1.0.0-shaped result and only relabels it with the requested version, so for every
// 0.x version it prints `interfaces` + `ips` without `version` (0.3.x/0.4.0) or instead of `ip4`/`ip6`
// (0.1.0/0.2.0) — "loopback 0.4.0 result lacks ips[].version" (docs/reference-notes.md §2.5). Ours prints
// each version's own shape.
const perVersion: Record<string, unknown> = {
  '0.1.0': { cniVersion: '0.1.0', ip4: { ip: '127.0.0.1/8' }, ip6: { ip: '::1/128' }, dns: {} },
  '0.2.0': { cniVersion: '0.2.0', ip4: { ip: '127.0.0.1/8' }, ip6: { ip: '::1/128' }, dns: {} },
};
for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
  perVersion[v] = {
    cniVersion: v,
    interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: '<ns>' }],
    ips: [
      { version: '4', interface: 0, address: '127.0.0.1/8' },
      { version: '6', interface: 0, address: '::1/128' },
    ],
    dns: {},
  };
}
for (const [v, expected] of Object.entries(perVersion)) {
  test(`[${v}] ADD prints the ${v} result shape (the reference mislabels a 1.0.0 result), DEL sets lo down`, async () => {
    for (const impl of impls) {
      const ns = await freshNs();
      const add = await call(impl, 'ADD', ns, conf(v));
      assert.is(add.code, 0, add.stdout);
      assert.ok(await loUp(ns));
      const got = JSON.parse(add.stdout.replaceAll(ns, '<ns>')) as Record<string, unknown>;
      if (impl === 'ours') {
        assert.equal(got, expected);
      } else {
        assert.equal(
          got.ips,
          [
            { interface: 0, address: '127.0.0.1/8' },
            { interface: 0, address: '::1/128' },
          ],
          'reference quirk changed',
        );
        assert.is(got.cniVersion, v);
      }
      const del = await call(impl, 'DEL', ns, conf(v));
      assert.is(del.code, 0, del.stdout);
      assert.not.ok(await loUp(ns));
    }
  });
}

test('[1.1.0] ours supports 1.1.0 (the Debian reference stops at 1.0.0)', async () => {
  const ns = await freshNs();
  const add = await call('ours', 'ADD', ns, conf('1.1.0'));
  assert.is(add.code, 0, add.stdout);
  assert.is((JSON.parse(add.stdout) as { cniVersion: string }).cniVersion, '1.1.0');
  assert.is((await call('ours', 'CHECK', ns, conf('1.1.0'))).code, 0);
  assert.is((await call('ours', 'DEL', ns, conf('1.1.0'))).code, 0);
});

test('ADD is idempotent; CHECK fails when lo is down, with the reference message', async () => {
  for (const impl of impls) {
    const ns = await freshNs();
    const down = await call(impl, 'CHECK', ns, conf('1.0.0'));
    assert.is(down.code, 1);
    assert.equal(JSON.parse(down.stdout), { code: 999, msg: 'loopback interface is down' });
    assert.is((await call(impl, 'ADD', ns, conf('1.0.0'))).code, 0);
    assert.is((await call(impl, 'ADD', ns, conf('1.0.0'))).code, 0);
    assert.ok(await loUp(ns));
  }
});

test('ADD passes a chained prevResult through unchanged', async () => {
  for (const impl of impls) {
    const ns = await freshNs();
    const prevResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: ns }],
      ips: [{ interface: 0, address: '10.200.69.5/24', gateway: '10.200.69.1' }],
      dns: {},
    };
    const add = await call(impl, 'ADD', ns, conf('1.0.0', { prevResult }));
    assert.is(add.code, 0, add.stdout);
    assert.equal(
      parsedOutput(add.stdout),
      {
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', sandbox: ns }],
        ips: [{ interface: 0, address: '10.200.69.5/24', gateway: '10.200.69.1' }],
      },
      impl,
    );
  }
});

test('ADD refuses a non-loopback address on lo', async () => {
  const out: Record<string, unknown> = {};
  for (const impl of impls) {
    const ns = await freshNs();
    await sh('nsenter', [`--net=${ns}`, 'ip', 'addr', 'add', '10.200.69.1/32', 'dev', 'lo']);
    const add = await call(impl, 'ADD', ns, conf('1.0.0'));
    assert.is(add.code, 1);
    out[impl] = JSON.parse(add.stdout);
  }
  assert.equal(out.ours, out.reference);
  assert.equal(out.ours, { code: 999, msg: 'loopback interface found with non-loopback address "10.200.69.1"' });
});

test('DEL succeeds with an empty CNI_NETNS and with a vanished namespace; CHECK reports the missing netns', async () => {
  const gone = `/var/run/netns/${sb.prefix}-gone`;
  for (const impl of impls) {
    assert.is((await call(impl, 'DEL', '', conf('1.0.0'))).code, 0, impl);
    assert.is((await call(impl, 'DEL', gone, conf('1.0.0'))).code, 0, impl);
  }
  const chk: Record<string, unknown> = {};
  for (const impl of impls) chk[impl] = JSON.parse((await call(impl, 'CHECK', gone, conf('1.0.0'))).stdout);
  assert.equal(chk.ours, chk.reference);
  assert.equal(chk.ours, { code: 999, msg: `failed to Statfs "${gone}": no such file or directory` });
});

test.run();

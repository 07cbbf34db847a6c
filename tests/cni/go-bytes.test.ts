// Go's exact bytes, compared as text with the reference binaries: integer fields refuse `1.0`/`1e3` and name the
// number as written, nesting deeper than 10,000 is refused before parsing, CNI_ARGS errors quote like Go's %q,
// `<`/`>`/`&` are escaped, a prevResult IP config without an address is accepted (printed as Go's zero IPNet),
// and stdin over 2 MiB gets the same answer on both of our paths.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { nestingDepthError } from '../../host/cni/limits.ts';
import { parseJson, DecodeError } from '../../host/cni/decode.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { callOn, errorOf, type CallSpec } from '../reliability/paths.ts';

const test = suite('go bytes');
const sb = new Sandbox();
let socket = '';

test.before(() => {
  socket = join(sb.dir('gob'), 'no-daemon.sock');
});
test.after(async () => {
  await sb.cleanup();
});

const env = (extra: Record<string, string> = {}) => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'gob',
  CNI_NETNS: '/var/run/netns/wasm-cni-test-no-such-netns',
  CNI_IFNAME: 'eth0',
  ...extra,
});

/** Ours (cold) and the reference print the same bytes and exit code. */
async function sameText(c: CallSpec, label: string) {
  const [ours, ref] = await Promise.all([callOn('cold', socket, c), callOn('reference', socket, c)]);
  assert.is(ours.stdout, ref.stdout, `${label}: stdout`);
  assert.is(ours.code, ref.code, `${label}: exit code`);
  return ours;
}

test('integer fields: 1.0, 1e3, 1.50 and 1e20 are refused and named as written', async () => {
  for (const lit of ['1.0', '1e3', '1E3', '1.50', '99999999999999999999', '-1']) {
    // a bridge of ours by name: the reference creates the bridge before it looks at the netns, so "-1" (valid for
    // Go) would otherwise leave the default cni0 behind
    const stdin = `{"cniVersion":"0.4.0","name":"n","type":"bridge","bridge":"${sb.name('gb')}","mtu":${lit}}`;
    const r = await sameText({ plugin: 'bridge', env: env(), stdin }, lit);
    assert.ok(r.stdout.includes(`number ${lit} into Go struct field`) || lit === '-1', r.stdout);
  }
});

test('nesting deeper than 10,000 is refused like Go, and 10,000 is parsed', async () => {
  for (const [open, close] of [
    ['[', ']'],
    ['{"a":', '}'],
  ] as const) {
    for (const depth of [10_000, 10_001, 200_000]) {
      const stdin = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
      const r = await sameText({ plugin: 'loopback', env: env({ CNI_IFNAME: 'lo' }), stdin }, `${open} × ${depth}`);
      if (depth > 10_000) assert.ok(errorOf(r.stdout)?.msg.endsWith('exceeded max depth'), r.stdout);
    }
  }
  assert.is(nestingDepthError('"[[[["'.padEnd(20_000, ' ')), undefined, 'brackets in strings do not count');
  assert.throws(
    () => parseJson('['.repeat(10_001)),
    (e: unknown) => e instanceof DecodeError,
  );
});

test("CNI_ARGS errors quote like Go's %q", async () => {
  const stdin = JSON.stringify({
    cniVersion: '0.4.0',
    name: 'n',
    type: 'host-local',
    ipam: { type: 'host-local', subnet: '10.200.222.0/24', dataDir: sb.dir('gob-data') },
  });
  for (const args of [
    'IP=\x01;a',
    'K=\u200b',
    'K=é\x7f"\\',
    'IP=1.2.3.4\t',
    'a=b=c\x1b',
    'IgnoreUnknown=x;IP=1',
    'K=<&>',
  ]) {
    await sameText({ plugin: 'host-local', env: env({ CNI_ARGS: args }), stdin }, JSON.stringify(args));
  }
});

test('prevResult with an IP config without address is accepted, printed as Go prints a zero IPNet', async () => {
  for (const plugin of ['portmap', 'bandwidth']) {
    const stdin = JSON.stringify({
      cniVersion: '0.4.0',
      name: 'n',
      type: plugin,
      prevResult: { cniVersion: '0.4.0', ips: [{}] },
    });
    const r = await sameText({ plugin, env: env(), stdin }, plugin);
    assert.is(r.code, 0, r.stdout);
    assert.ok(r.stdout.includes('"\\u003cnil\\u003e"'), r.stdout);
  }
});

test('stdin over 2 MiB: the same code-5 error on the cold path as through the daemon', async () => {
  const stdin = `{"cniVersion":"0.4.0","name":"n","type":"loopback","pad":"${'x'.repeat(2 << 20)}"}`;
  const r = await callOn('cold', socket, { plugin: 'loopback', env: env({ CNI_IFNAME: 'lo' }), stdin });
  assert.is(r.code, 1);
  assert.equal(errorOf(r.stdout), {
    code: 5,
    msg: 'wasm-cni: the network configuration on stdin is too large',
    details: `the limit is ${2 << 20} bytes`,
  });
});

test.run();

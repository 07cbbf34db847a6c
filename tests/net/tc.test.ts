// host/net tc: root tbf, ingress qdisc, u32 match-all + mirred redirect to an ifb. Each is installed once by
// us and once by tc(8) with the same parameters on a twin link; `tc -s qdisc show` / `tc filter show` must agree.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NetHandle, NetlinkError } from '../../host/net/index.ts';
import { sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const sb = new Sandbox();
let ns: TestNetns;
let h: NetHandle;

const tc = (...args: string[]) => sh('ip', ['netns', 'exec', ns.name, 'tc', ...args]);
/** tc's text for one link with the device name and run-dependent counters normalised away. */
const normalise = (text: string, dev: string) =>
  text
    .replaceAll(`dev ${dev}`, 'dev X')
    .replace(/device \S+\)/g, 'device IFB)')
    .replace(/index \d+ ref/g, 'index N ref')
    .replace(/ installed \d+ sec( used \d+ sec)?/g, '')
    .replace(/ firstused \d+ sec/g, '');

/** The bandwidth plugin's numbers (ifb_creator.go createTBF, tick = 64 ns): rate bytes/s, buffer ticks, limit bytes. */
function tbfParams(rateBits: number, burstBits: number) {
  const rate = Math.floor(rateBits / 8);
  const burst = Math.floor(burstBits / 8);
  const tUs = Math.trunc((burst * 1e6) / rate);
  const buffer = Number(BigInt.asUintN(32, BigInt(Math.trunc(tUs * 15.625))));
  const limit = (Math.trunc((rate * 25000) / 1e6) + burst) >>> 0;
  return { rate, burst, buffer, limit };
}

const T = suite('net: tc');
T.before(async () => {
  ns = await sb.netns('t');
  h = await NetHandle.open(ns.path);
  await h.link.addVeth({ name: 'ours0', up: true, peer: { name: 'ours1' } });
  await h.link.addVeth({ name: 'tcs0', up: true, peer: { name: 'tcs1' } });
  await h.link.addIfb({ name: 'ifbours', up: true, txQueueLen: 0 });
  await h.link.addIfb({ name: 'ifbtc', up: true, txQueueLen: 0 });
});
T.after(async () => {
  h?.close();
  await sb.cleanup();
});

for (const [rateBits, burstBits] of [
  [1_000_000, 1_000_000],
  [8_000, 16_000],
  [10_000_000, 10_000_000],
  [100_000_000, 4_294_967_295],
  [1_000_000_000, 4_294_967_295],
  [8, 8],
]) {
  T(`root tbf ${rateBits} bit/s burst ${burstBits} bit reads back like tc's`, async () => {
    const p = tbfParams(rateBits, burstBits);
    await h.qdisc.replaceTbf('ours0', { rate: p.rate, buffer: p.buffer, limit: p.limit });
    await tc(
      'qdisc',
      'replace',
      'dev',
      'tcs0',
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      `${p.rate}bps`,
      'burst',
      `${p.burst}b`,
      'limit',
      `${p.limit}b`,
    );
    assert.is(
      normalise(await tc('-s', 'qdisc', 'show', 'dev', 'ours0'), 'ours0'),
      normalise(await tc('-s', 'qdisc', 'show', 'dev', 'tcs0'), 'tcs0'),
    );
    const [q] = await h.qdisc.list('ours0');
    assert.is(q.kind, 'tbf');
    assert.is(q.handle, 0x10000);
    assert.equal(
      [q.tbf!.rate, q.tbf!.limit, q.tbf!.buffer],
      [BigInt(p.rate), p.limit, p.buffer],
      'buffer reads back exactly as computed',
    );
    const [j] = JSON.parse(await tc('-j', 'qdisc', 'show', 'dev', 'ours0'));
    assert.equal(
      [j.kind, j.handle, j.root, j.options.rate, j.options.lat !== undefined],
      ['tbf', '1:', true, p.rate, true],
    );
  });
}

T('tbf with a 64-bit rate (≥ 2^32 bytes/s)', async () => {
  const rate = 5_000_000_000;
  await h.qdisc.replaceTbf('ours0', { rate, buffer: 100, limit: 1_000_000 });
  const [q] = await h.qdisc.list('ours0');
  assert.is(q.tbf!.rate, BigInt(rate));
  const [j] = JSON.parse(await tc('-j', 'qdisc', 'show', 'dev', 'ours0'));
  assert.is(j.options.rate, rate);
});

T('a second root tbf with add fails with EEXIST; delete removes it', async () => {
  const again = await h.qdisc.addTbf('ours0', { rate: 125000, buffer: 15625000, limit: 128125 }).then(
    () => undefined,
    (e) => e as NetlinkError,
  );
  assert.is(again?.code, 'EEXIST');
  await h.qdisc.delete('ours0');
  assert.not.ok((await h.qdisc.list('ours0')).some((q) => q.kind === 'tbf'));
  assert.not.match(await tc('qdisc', 'show', 'dev', 'ours0'), /tbf/);
  await tc('qdisc', 'del', 'dev', 'tcs0', 'root');
});

T('ingress qdisc + u32 match-all mirred egress redirect reads back like tc filter add ...', async () => {
  await h.qdisc.addIngress('ours0');
  await h.filter.addU32MirredRedirect('ours0', { redirectTo: 'ifbours' });
  await tc('qdisc', 'add', 'dev', 'tcs0', 'ingress');
  await tc(
    'filter',
    'add',
    'dev',
    'tcs0',
    'parent',
    'ffff:',
    'protocol',
    'all',
    'prio',
    '1',
    'u32',
    'match',
    'u32',
    '0',
    '0',
    'flowid',
    '1:1',
    'action',
    'mirred',
    'egress',
    'redirect',
    'dev',
    'ifbtc',
  );
  assert.is(
    normalise(await tc('-s', 'qdisc', 'show', 'dev', 'ours0'), 'ours0'),
    normalise(await tc('-s', 'qdisc', 'show', 'dev', 'tcs0'), 'tcs0'),
  );
  const ours = normalise(await tc('filter', 'show', 'dev', 'ours0', 'parent', 'ffff:'), 'ours0');
  assert.is(ours, normalise(await tc('filter', 'show', 'dev', 'tcs0', 'parent', 'ffff:'), 'tcs0'));
  assert.match(ours, /mirred \(Egress Redirect to device IFB\) stolen/);
  const [j] = JSON.parse(await tc('-j', 'filter', 'show', 'dev', 'ours0', 'parent', 'ffff:')).filter(
    (f: { options?: { actions?: unknown } }) => f.options?.actions,
  );
  assert.equal(
    [j.options.flowid, j.options.actions[0].to_dev, j.options.actions[0].mirred_action],
    ['1:1', 'ifbours', 'redirect'],
  );

  const filters = await h.filter.list('ours0');
  const withAction = filters.filter((f) => f.mirred.length);
  assert.is(withAction.length, 1);
  assert.equal(
    [withAction[0].prio, withAction[0].protocol, withAction[0].classId, withAction[0].mirred[0].ifindex],
    [1, 0x0003, 0x10001, (await h.link.get('ifbours')).index],
  );
  assert.ok((await h.qdisc.list('ours0')).some((q) => q.kind === 'ingress' && q.handle === 0xffff0000));
});

T('tbf on the ifb, then delete filter and ingress qdisc', async () => {
  const p = tbfParams(1_000_000, 1_000_000);
  await h.qdisc.addTbf('ifbours', { rate: p.rate, buffer: p.buffer, limit: p.limit });
  assert.match(
    await tc('qdisc', 'show', 'dev', 'ifbours'),
    /qdisc tbf 1: root refcnt 2 rate 1Mbit burst 125000b lat 25ms/,
  );
  await h.filter.delete('ours0', { prio: 1 });
  assert.is((await tc('filter', 'show', 'dev', 'ours0', 'parent', 'ffff:')).trim(), '');
  await h.qdisc.deleteIngress('ours0');
  assert.not.match(await tc('qdisc', 'show', 'dev', 'ours0'), /ingress/);
  const missing = await h.qdisc.deleteIngress('ours0').then(
    () => undefined,
    (e) => e as NetlinkError,
  );
  assert.ok(missing instanceof NetlinkError);
});

T.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuantity, parseBandwidthQuantity, tbf, tickInUsecFromPsched, CoreError } from '../../host/core/index.ts';

const FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX = "unable to parse quantity's suffix";
// int64's maximum (2^63 − 1) as a JavaScript number, which rounds it to 2^63.
const MAX = 2 ** 63;

const q = suite('core: Kubernetes quantities (bits/s, rounded up)');
const values: Array<[string, number]> = [
  ['1M', 1_000_000],
  ['1Mi', 1_048_576],
  ['500k', 500_000],
  ['1G', 1e9],
  ['10G', 1e10],
  ['1.5M', 1_500_000],
  ['1e3', 1000],
  ['1E3', 1000],
  ['1e+3', 1000],
  ['1.5e3', 1500],
  ['0.5', 1],
  ['100m', 1],
  ['1k', 1000],
  ['1Ki', 1024],
  ['1.5Ki', 1536],
  ['0.1Ki', 103],
  ['1P', 1e15],
  ['1Pi', 1125899906842624],
  ['1E', 1e18],
  ['10E', MAX],
  ['+5', 5],
  ['-5', -5],
  ['.5', 1],
  ['5.', 5],
  ['1.G', 1e9],
  ['1n', 1],
  ['1u', 1],
  ['0', 0],
  ['00', 0],
  ['0.0', 0],
  ['+', 0],
  ['123456789012345678901234', MAX],
  ['1e-3', 1],
  ['1000e-3', 1],
  ['1001e-3', 2],
  ['2Ti', 2199023255552],
  ['0.000000000001', 1],
  ['12345678901234567890e-10', 1234567891],
  ['1e18', 1e18],
  ['1e19', MAX],
  ['999.5', 1000],
  ['1000000000000000.5', 1000000000000001],
];
for (const [text, want] of values) q(`${text} → ${want}`, () => assert.is(parseQuantity(text), want));

const qerr = suite('core: quantity errors (apimachinery texts)');
const errors: Array<[string, string]> = [
  ['', FORMAT],
  ['1kb', FORMAT],
  ['1 k', FORMAT],
  ['abc', FORMAT],
  ['1Mb', FORMAT],
  ['1.2.3', FORMAT],
  [' 1', FORMAT],
  ['1K', SUFFIX],
  ['1e', SUFFIX],
  ['1ee3', SUFFIX],
  ['1Mi5', SUFFIX],
  ['--1', SUFFIX],
  ['1kk', SUFFIX],
  ['1i', SUFFIX],
  ['1e99999999999999999999', SUFFIX],
];
for (const [text, msg] of errors) {
  qerr(JSON.stringify(text), () => {
    try {
      parseQuantity(text);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, CoreError);
      assert.is((e as Error).message, msg);
    }
  });
}

const limits = suite('core: bandwidth annotation limits (1k..1P)');
limits('accepted at both ends, and just above 999 after rounding up', () => {
  assert.is(parseBandwidthQuantity('1k'), 1000);
  assert.is(parseBandwidthQuantity('1P'), 1e15);
  assert.is(parseBandwidthQuantity('999.5'), 1000);
  assert.is(parseBandwidthQuantity('10M'), 1e7);
});
limits('rejected below 1k (also negative and zero) and above 1P (also 1Pi), with the kubelet texts', () => {
  for (const t of ['999', '0', '-1M', '1'])
    assert.throws(
      () => parseBandwidthQuantity(t),
      (e: Error) => e.message === 'resource is unreasonably small (< 1kbit)',
    );
  for (const t of ['1Pi', '1000000000000001', '2P', '1E', '10E'])
    assert.throws(
      () => parseBandwidthQuantity(t),
      (e: Error) => e.message === 'resoruce is unreasonably large (> 1Pbit)',
    );
  assert.throws(
    () => parseBandwidthQuantity('fast'),
    (e: Error) => e.message === FORMAT,
  );
});

const t = suite('core: tbf parameters (worked values of bandwidth ifb_creator.go, v1.9.1)');
const table: Array<[number, number, number, number, number, number]> = [
  // rate bits, burst bits, rateB, burstB, buffer ticks, limit bytes
  [8, 8, 1, 1, 15_625_000, 1],
  [16, 8, 2, 1, 7_812_500, 1],
  [8_000, 16_000, 1_000, 2_000, 31_250_000, 2_025],
  [1_000_000, 1_000_000, 125_000, 125_000, 15_625_000, 128_125],
  [10_000_000, 10_000_000, 1_250_000, 1_250_000, 15_625_000, 1_281_250],
  [1_000_000, 4_294_967_295, 125_000, 536_870_911, 2_684_354_435, 536_874_036],
  [100_000_000, 4_294_967_295, 12_500_000, 536_870_911, 671_088_625, 537_183_411],
  [1_000_000_000, 4_294_967_295, 125_000_000, 536_870_911, 67_108_859, 539_995_911],
];
for (const [rate, burst, rateB, burstB, buffer, limit] of table) {
  t(`rate ${rate} burst ${burst}`, () => {
    const r = tbf({ rateBits: rate, burstBits: burst });
    assert.equal(
      [r.rateBytes, r.burstBytes, r.bufferTicks, r.limitBytes, r.latencyUs, r.rate64],
      [rateB, burstB, buffer, limit, 25_000, false],
    );
  });
}
t('the wrapped buffer is flagged; saturating mode clamps at 2^32-1 instead', () => {
  assert.ok(tbf({ rateBits: 1_000_000, burstBits: 4_294_967_295 }).wrapped);
  assert.not.ok(tbf({ rateBits: 1_000_000_000, burstBits: 4_294_967_295 }).wrapped);
  const s = tbf({ rateBits: 1_000_000, burstBits: 4_294_967_295, mode: 'saturating' });
  assert.is(s.bufferTicks, 4294967295);
  assert.is(s.limitBytes, 536_874_036);
  assert.not.ok(s.wrapped);
  assert.equal(tbf({ rateBits: 1e7, burstBits: 1e7, mode: 'saturating' }), tbf({ rateBits: 1e7, burstBits: 1e7 }));
});
t('reference mode wraps the burst (uint32) and the limit sum, saturating does not', () => {
  const ref = tbf({ rateBits: 8e9, burstBits: 8 * 4294967300 });
  assert.is(ref.burstBytes, 4);
  assert.ok(ref.wrapped);
  const sat = tbf({ rateBits: 8e9, burstBits: 8 * 4294967300, mode: 'saturating' });
  assert.is(sat.burstBytes, 4294967295);
  assert.is(sat.limitBytes, 4294967295);
});
t('rates of 2^32 bytes/s and more need the 64-bit attribute', () => {
  assert.ok(tbf({ rateBits: 8 * 2 ** 32, burstBits: 8000 }).rate64);
  assert.not.ok(tbf({ rateBits: 8 * (2 ** 32 - 1), burstBits: 8000 }).rate64);
});
t('1-7 bits/s and a zero burst are rejected; an unreadable psched gives buffer 0', () => {
  assert.throws(() => tbf({ rateBits: 7, burstBits: 8 }), /invalid rate: 7/);
  assert.throws(() => tbf({ rateBits: 8000, burstBits: 0 }), /invalid burst: 0/);
  assert.is(tbf({ rateBits: 8000, burstBits: 8000, tickInUsec: 0 }).bufferTicks, 0);
  assert.is(tbf({ rateBits: 8000, burstBits: 8000, latencyMs: 50 }).limitBytes, (1000 * 50) / 1000 + 1000);
});
t('psched: modern kernels give 15.625 ticks/µs', () => {
  assert.is(tickInUsecFromPsched('000003e8 00000040 000f4240 3b9aca00\n'), 15.625);
  assert.is(tickInUsecFromPsched('00000001 00000001 000f4240 00000064'), 1);
  assert.is(tickInUsecFromPsched('00000001 00000002 3b9aca00 00000064'), 1000);
  assert.is(tickInUsecFromPsched(''), 0);
  assert.is(tickInUsecFromPsched('zz 1 2 3'), 0);
  assert.is(tickInUsecFromPsched('1 0 2'), 0);
});

q.run();
qerr.run();
limits.run();
t.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  parseIP,
  tryParseIP,
  isIP,
  canonicalIP,
  formatIP,
  ipToBytes,
  compareIP,
  nextIP,
  prevIP,
  CoreError,
} from '../../host/core/index.ts';

const valid = suite('core: IP parse and canonical format');

const canonical: Array<[string, string, 4 | 6]> = [
  ['0.0.0.0', '0.0.0.0', 4],
  ['255.255.255.255', '255.255.255.255', 4],
  ['10.1.2.3', '10.1.2.3', 4],
  ['192.168.0.1', '192.168.0.1', 4],
  ['::', '::', 6],
  ['::1', '::1', 6],
  ['2001:DB8::1', '2001:db8::1', 6],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 6],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 6],
  ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::', 6],
  ['1:0:0:0:0:0:0:0', '1::', 6],
  ['0:0:0:0:0:0:0:1', '::1', 6],
  ['::ffff:1.2.3.4', '::ffff:1.2.3.4', 6],
  ['::FFFF:0102:0304', '::ffff:1.2.3.4', 6],
  ['::1.2.3.4', '::102:304', 6],
  ['fe80::1:2:3:4', 'fe80::1:2:3:4', 6],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', 6],
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', 6],
  ['2001:db8::1.2.3.4', '2001:db8::102:304', 6],
  ['fd00:200:20::a', 'fd00:200:20::a', 6],
  ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0', 6],
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3', 6],
];
for (const [input, text, family] of canonical) {
  valid(`parse ${input} → ${text}`, () => {
    assert.equal(parseIP(input), { family, text });
    assert.ok(isIP(input));
  });
}

const invalid = suite('core: IP text rejected');
const bad = [
  '',
  '1.2.3.04',
  '01.2.3.4',
  '256.0.0.1',
  '1.2.3',
  '1.2.3.4.5',
  '1..2.3',
  '.1.2.3',
  '1.2.3.',
  ' 1.2.3.4',
  '1.2.3.4 ',
  'a.b.c.d',
  '1.2.3.-1',
  '1:2:3:4:5:6:7:8:9',
  '1::2::3',
  '12345::1',
  'fe80::1%eth0',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:',
  '1:2:3:4:5:6:7::8',
  '::1.2.3',
  '1:2:3:4:5:6:7:1.2.3.4',
  'g::1',
  '1:2:3:4:5:6:7',
  ':::',
  '10.0.0.1/24',
  'é::1',
  '1.2.3.4:80',
];
for (const text of bad) {
  invalid(`rejects ${JSON.stringify(text)}`, () => {
    assert.is(tryParseIP(text), null);
    assert.not.ok(isIP(text));
    try {
      parseIP(text);
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, CoreError);
      assert.is((e as Error).message, `invalid IP address: ${text}`);
    }
  });
}

const helpers = suite('core: IP helpers');
helpers('canonicalIP unmaps IPv4-mapped addresses like Go net.IP.String()', () => {
  assert.is(canonicalIP('::ffff:10.1.2.3'), '10.1.2.3');
  assert.is(canonicalIP('::FFFF:a01:203'), '10.1.2.3');
  assert.is(canonicalIP('2001:DB8::0001'), '2001:db8::1');
  assert.is(canonicalIP('10.1.2.3'), '10.1.2.3');
});
helpers('formatIP and ipToBytes are inverse', () => {
  assert.is(formatIP(new Uint8Array([10, 1, 2, 3])), '10.1.2.3');
  assert.equal([...ipToBytes('10.1.2.3')], [10, 1, 2, 3]);
  const v6 = ipToBytes('2001:db8::ff00:42:8329');
  assert.is(v6.length, 16);
  assert.is(formatIP(v6), '2001:db8::ff00:42:8329');
  assert.throws(() => formatIP(new Uint8Array(5)));
});
helpers('compareIP orders IPv4 before IPv6, then by value', () => {
  assert.is(compareIP('10.0.0.1', '10.0.0.2'), -1);
  assert.is(compareIP('10.0.0.2', '10.0.0.1'), 1);
  assert.is(compareIP('10.0.0.1', '10.0.0.1'), 0);
  assert.is(compareIP('255.255.255.255', '::'), -1);
  assert.is(compareIP('2001:db8::1', '2001:db8::'), 1);
  assert.is(compareIP('2001:db8:0:0:1::', '2001:db8::ffff'), 1);
});
helpers('nextIP / prevIP carry across words and wrap at the ends', () => {
  assert.is(nextIP('10.0.0.255'), '10.0.1.0');
  assert.is(prevIP('10.0.1.0'), '10.0.0.255');
  assert.is(nextIP('255.255.255.255'), '0.0.0.0');
  assert.is(prevIP('0.0.0.0'), '255.255.255.255');
  assert.is(nextIP('2001:db8::ffff:ffff:ffff:ffff'), '2001:db8:0:1::');
  assert.is(prevIP('2001:db8:0:1::'), '2001:db8::ffff:ffff:ffff:ffff');
  assert.is(nextIP('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), '::');
  assert.is(prevIP('::'), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
});

const props = suite('core: IP properties');
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
props('IPv4: format(parse(x)) = x for 5000 random addresses', () => {
  const r = rng(7);
  for (let i = 0; i < 5000; i++) {
    const v = r();
    const text = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    assert.is(parseIP(text).text, text);
  }
});
props('IPv6: our canonical text equals the WHATWG URL serializer (RFC 5952 rules) for 5000 addresses', () => {
  const r = rng(11);
  for (let i = 0; i < 5000; i++) {
    const groups = Array.from({ length: 8 }, () => (r() % 3 === 0 ? 0 : r() & 0xffff));
    if (
      groups[0] === 0 &&
      groups[1] === 0 &&
      groups[2] === 0 &&
      groups[3] === 0 &&
      groups[4] === 0 &&
      groups[5] === 0xffff
    )
      groups[5] = 1;
    const full = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
    const expected = new URL(`http://[${full}]/`).hostname.slice(1, -1);
    const got = parseIP(full).text;
    assert.is(got, expected, full);
    assert.is(parseIP(got).text, got);
    assert.equal([...ipToBytes(got)], [...ipToBytes(full)]);
  }
});
props('IPv6 with upper-case hex and embedded IPv4 parse to the same bytes as the hex form', () => {
  const r = rng(5);
  for (let i = 0; i < 500; i++) {
    const v = r();
    const quad = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    const hex = `${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
    assert.is(parseIP(`2001:DB8::${quad}`).text, parseIP(`2001:db8::${hex}`).text);
  }
});

valid.run();
invalid.run();
helpers.run();
props.run();

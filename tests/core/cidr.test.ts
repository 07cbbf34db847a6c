import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Cidr, CoreError } from '../../host/core/index.ts';

const parse = suite('core: CIDR parse (Go net.ParseCIDR)');
const good: Array<
  [
    string,
    { family: 4 | 6; prefix: number; ip: string; network: string; broadcast: string; mask: string; hostBits: boolean },
  ]
> = [
  [
    '10.0.0.0/8',
    {
      family: 4,
      prefix: 8,
      ip: '10.0.0.0',
      network: '10.0.0.0',
      broadcast: '10.255.255.255',
      mask: '255.0.0.0',
      hostBits: false,
    },
  ],
  [
    '10.1.2.3/24',
    {
      family: 4,
      prefix: 24,
      ip: '10.1.2.3',
      network: '10.1.2.0',
      broadcast: '10.1.2.255',
      mask: '255.255.255.0',
      hostBits: true,
    },
  ],
  [
    '0.0.0.0/0',
    {
      family: 4,
      prefix: 0,
      ip: '0.0.0.0',
      network: '0.0.0.0',
      broadcast: '255.255.255.255',
      mask: '0.0.0.0',
      hostBits: false,
    },
  ],
  [
    '255.255.255.255/32',
    {
      family: 4,
      prefix: 32,
      ip: '255.255.255.255',
      network: '255.255.255.255',
      broadcast: '255.255.255.255',
      mask: '255.255.255.255',
      hostBits: false,
    },
  ],
  [
    '172.16.5.4/12',
    {
      family: 4,
      prefix: 12,
      ip: '172.16.5.4',
      network: '172.16.0.0',
      broadcast: '172.31.255.255',
      mask: '255.240.0.0',
      hostBits: true,
    },
  ],
  [
    '10.0.0.0/024',
    {
      family: 4,
      prefix: 24,
      ip: '10.0.0.0',
      network: '10.0.0.0',
      broadcast: '10.0.0.255',
      mask: '255.255.255.0',
      hostBits: false,
    },
  ],
  [
    '::/0',
    {
      family: 6,
      prefix: 0,
      ip: '::',
      network: '::',
      broadcast: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      mask: '::',
      hostBits: false,
    },
  ],
  [
    '2001:db8::/32',
    {
      family: 6,
      prefix: 32,
      ip: '2001:db8::',
      network: '2001:db8::',
      broadcast: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
      mask: 'ffff:ffff::',
      hostBits: false,
    },
  ],
  [
    '2001:DB8:1::1/64',
    {
      family: 6,
      prefix: 64,
      ip: '2001:db8:1::1',
      network: '2001:db8:1::',
      broadcast: '2001:db8:1:0:ffff:ffff:ffff:ffff',
      mask: 'ffff:ffff:ffff:ffff::',
      hostBits: true,
    },
  ],
  [
    'fd00:200:20::/48',
    {
      family: 6,
      prefix: 48,
      ip: 'fd00:200:20::',
      network: 'fd00:200:20::',
      broadcast: 'fd00:200:20:ffff:ffff:ffff:ffff:ffff',
      mask: 'ffff:ffff:ffff::',
      hostBits: false,
    },
  ],
  [
    '2001:db8::8/125',
    {
      family: 6,
      prefix: 125,
      ip: '2001:db8::8',
      network: '2001:db8::8',
      broadcast: '2001:db8::f',
      mask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff8',
      hostBits: false,
    },
  ],
  [
    '::1/128',
    {
      family: 6,
      prefix: 128,
      ip: '::1',
      network: '::1',
      broadcast: '::1',
      mask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      hostBits: false,
    },
  ],
  [
    '2001:db8::/65',
    {
      family: 6,
      prefix: 65,
      ip: '2001:db8::',
      network: '2001:db8::',
      broadcast: '2001:db8::7fff:ffff:ffff:ffff',
      mask: 'ffff:ffff:ffff:ffff:8000::',
      hostBits: false,
    },
  ],
];
for (const [text, e] of good) {
  parse(`${text}`, () => {
    const c = Cidr.parse(text);
    assert.is(c.family, e.family);
    assert.is(c.prefix, e.prefix);
    assert.is(c.ip, e.ip);
    assert.is(c.network, e.network);
    assert.is(c.broadcast, e.broadcast);
    assert.is(c.mask, e.mask);
    assert.is(c.hasHostBits, e.hostBits);
    assert.is(c.toString(), `${e.network}/${e.prefix}`);
    assert.is(c.written, `${e.ip}/${e.prefix}`);
    assert.is(c.size, 1n << BigInt((e.family === 4 ? 32 : 128) - e.prefix));
  });
}

const reject = suite("core: CIDR text rejected with Go's message");
for (const text of [
  '10.0.0.0/33',
  '10.0.0.0',
  '10.0.0.0/',
  '10.0.0.0/-1',
  '10.0.0.0/+8',
  '2001:db8::/129',
  'fe80::%eth0/64',
  '10.0.0.0/8/8',
  '10.0.0.256/8',
  ' 10.0.0.0/8',
  '10.0.0.0/8 ',
  '',
  '/8',
  '10.0.0.0/99999999999',
  '1.2.3/24',
]) {
  reject(JSON.stringify(text), () => {
    assert.is(Cidr.tryParse(text), null);
    try {
      Cidr.parse(text);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, CoreError);
      assert.is((e as Error).message, `invalid CIDR address: ${text}`);
    }
  });
}

const ops = suite('core: CIDR operations');
ops('contains (with IPv4-mapped addresses counted as IPv4, like Go)', () => {
  const c = Cidr.parse('10.1.2.0/24');
  assert.ok(c.contains('10.1.2.0'));
  assert.ok(c.contains('10.1.2.255'));
  assert.ok(c.contains('::ffff:10.1.2.7'));
  assert.not.ok(c.contains('10.1.3.0'));
  assert.not.ok(c.contains('2001:db8::1'));
  assert.not.ok(c.contains('garbage'));
  const v6 = Cidr.parse('2001:db8:1::/64');
  assert.ok(v6.contains('2001:db8:1::ffff'));
  assert.not.ok(v6.contains('2001:db8:2::'));
  assert.not.ok(v6.contains('10.1.2.3'));
});
ops('overlaps and containsCidr', () => {
  assert.ok(Cidr.parse('10.0.0.0/8').overlaps('10.200.0.0/16'));
  assert.ok(Cidr.parse('10.200.0.0/16').overlaps('10.0.0.0/8'));
  assert.not.ok(Cidr.parse('10.0.0.0/24').overlaps('10.0.1.0/24'));
  assert.not.ok(Cidr.parse('10.0.0.0/8').overlaps('2001:db8::/32'));
  assert.ok(Cidr.parse('::/0').overlaps('2001:db8::/32'));
  assert.ok(Cidr.parse('10.0.0.0/8').containsCidr('10.2.0.0/16'));
  assert.not.ok(Cidr.parse('10.2.0.0/16').containsCidr('10.0.0.0/8'));
  assert.not.ok(Cidr.parse('10.0.0.0/8').containsCidr('11.0.0.0/16'));
});
ops('nth from the start and from the end', () => {
  const c = Cidr.parse('10.1.2.0/24');
  assert.is(c.nth(0), '10.1.2.0');
  assert.is(c.nth(1), '10.1.2.1');
  assert.is(c.nth(255), '10.1.2.255');
  assert.is(c.nth(-1), '10.1.2.255');
  assert.is(c.nth(-2), '10.1.2.254');
  assert.throws(() => c.nth(256), /outside/);
  assert.throws(() => c.nth(-257), /outside/);
  const v6 = Cidr.parse('2001:db8::/64');
  assert.is(v6.nth(2n ** 64n - 1n), '2001:db8::ffff:ffff:ffff:ffff');
  assert.is(v6.nth(2n ** 32n), '2001:db8::1:0:0');
  assert.is(Cidr.parse('::/0').nth(-1), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
});

const props = suite('core: CIDR properties');
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
const quad = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
props('IPv4 contains/network/broadcast agree with plain integer math (3000 cases)', () => {
  const r = rng(3);
  for (let i = 0; i < 3000; i++) {
    const prefix = r() % 33;
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    const addr = r();
    const c = Cidr.parse(`${quad(addr)}/${prefix}`);
    assert.is(c.network, quad((addr & mask) >>> 0));
    assert.is(c.broadcast, quad((addr | ~mask) >>> 0));
    assert.is(c.hasHostBits, (addr & ~mask) !== 0);
    const probe = r() % 2 === 0 ? r() : ((addr & mask) | (r() & ~mask)) >>> 0;
    assert.is(c.contains(quad(probe)), ((probe ^ addr) & mask) === 0);
  }
});
props('overlap is symmetric and equals "one contains the other\'s network" (2000 pairs)', () => {
  const r = rng(9);
  for (let i = 0; i < 2000; i++) {
    const a = Cidr.parse(`10.${r() % 4}.${r() % 256}.0/${16 + (r() % 9)}`);
    const b = Cidr.parse(`10.${r() % 4}.${r() % 256}.0/${16 + (r() % 9)}`);
    assert.is(a.overlaps(b), b.overlaps(a));
    assert.is(a.overlaps(b), a.contains(b.network) || b.contains(a.network));
  }
});
props('nth(size-1) is the broadcast and nth(0) the network (IPv6, all prefixes)', () => {
  for (let p = 0; p <= 128; p++) {
    const c = Cidr.parse(`2001:db8:abcd:1234:5678:9abc:def0:1234/${p}`);
    assert.is(c.nth(c.size - 1n), c.broadcast);
    assert.is(c.nth(0), c.network);
    assert.ok(c.contains(c.broadcast) && c.contains(c.network));
  }
});

parse.run();
reject.run();
ops.run();
props.run();

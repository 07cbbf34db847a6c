// Rule building without a kernel: nft's compile choices (prefix loads, dependencies, wildcard names), portmap's
// conditions (what is understood, what is rejected), comments as libnftnl user data, and the encoding round trip.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyConditions } from '../../host/firewall/nft/conditions.ts';
import { commentOfUserData, commentUserData, parseAttrs, PayloadWriter } from '../../host/firewall/nft/encode.ts';
import { decodeExprs, encodeExprs } from '../../host/firewall/nft/expr/index.ts';
import { rule } from '../../host/firewall/nft/index.ts';

const test = suite('firewall: nf_tables rule building');

const shape = (r: ReturnType<ReturnType<typeof rule>['build']>) =>
  r.exprs.map((e) => {
    if (e.type === 'payload') return `payload ${e.base}+${e.offset} ${e.len}b`;
    if (e.type === 'cmp') return `cmp ${e.op} ${e.data.toString('hex')}`;
    if (e.type === 'bitwise') return `bitwise & ${e.mask.toString('hex')}`;
    if (e.type === 'meta') return `meta ${e.key}`;
    if (e.type === 'immediate') return 'verdict' in e ? `verdict ${e.verdict.kind}` : `imm ${e.data.toString('hex')}`;
    return e.type;
  });

test('prefixes: byte-aligned loads are cut, others masked, /0 masked; inet adds meta nfproto once', () => {
  const r = rule('inet', 't', 'c')
    .addr('saddr', '10.1.2.3')
    .addr('daddr', '10.1.0.0/16', 'neq')
    .verdict('accept')
    .build();
  assert.equal(shape(r), [
    'meta nfproto',
    'cmp eq 02',
    'payload network+12 4b',
    'cmp eq 0a010203',
    'payload network+16 2b',
    'cmp neq 0a01',
    'verdict accept',
  ]);
  assert.equal(shape(rule('ip', 't', 'c').addr('saddr', '10.0.0.0/0').build()), [
    'payload network+12 4b',
    'bitwise & 00000000',
    'cmp eq 00000000',
  ]);
  assert.equal(shape(rule('ip6', 't', 'c').addr('daddr', 'fd00::/9').build()), [
    'payload network+24 16b',
    'bitwise & ff800000000000000000000000000000',
    'cmp eq fd000000000000000000000000000000',
  ]);
  assert.is(
    rule('ip', 't', 'c').addr('saddr', '10.1.2.3').dport('tcp', 80).build().text,
    'ip saddr 10.1.2.3 tcp dport 80',
  );
});

test('conditions: addresses and interface names compile; anything else is rejected by name', () => {
  const r = applyConditions(rule('ip', 't', 'c'), ['ip saddr != 10.200.0.0/16', 'oifname', '"veth*"']).build();
  assert.equal(shape(r), ['payload network+12 2b', 'cmp neq 0ac8', 'meta oifname', 'cmp eq 76657468']);
  assert.throws(
    () => applyConditions(rule('ip', 't', 'c'), ['meta', 'mark', '0x1']),
    /unsupported nftables condition "meta mark 0x1"/,
  );
  assert.throws(
    () => applyConditions(rule('ip', 't', 'c'), ['ip', 'saddr', 'fd00::1']),
    /unsupported nftables condition/,
  );
  assert.throws(() => rule('ip', 't', 'c').dport('TCP', 80), /unsupported protocol "TCP"/);
});

test('comments are one libnftnl TLV; expressions survive encode and decode', () => {
  const ud = commentUserData('pod-a');
  assert.is(ud.toString('hex'), `0006${Buffer.from('pod-a\0').toString('hex')}`);
  assert.is(commentOfUserData(ud), 'pod-a');
  assert.throws(() => commentUserData('x'.repeat(300)), /comment too long/);
  const r = rule('bridge', 't', 'c')
    .etherTypeAndSaddr('ip6', '0a:58:0a:c8:d2:05')
    .iifname('veth1')
    .addr('saddr', 'fd00::/64')
    .counter()
    .dnat('fd00::5', 8080)
    .verdict('jump', 'next')
    .build();
  const w = new PayloadWriter();
  encodeExprs(w, 4, r.exprs);
  const back = decodeExprs(parseAttrs(w.bytes()).get(4));
  const expected = r.exprs.map((e) => (e.type === 'counter' ? { ...e, bytes: 0n, packets: 0n } : e));
  assert.equal(back, expected);
});

test.run();

// host/firewall: generated names, restore rendering, atomic transactions, ensure/remove (fast and slow paths).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Sandbox } from '../_lib/sandbox.ts';
import { natChainRules, natLinesMentioning, natSave, removeNatChains } from '../_lib/firewall.ts';
import { chainName, goQuote, hashWithPrefix, ipMasqComment } from '../../host/firewall/names.ts';
import {
  applyIptables,
  IptTransaction,
  listChain,
  quoteArg,
  splitSaveLine,
  tryIptables,
} from '../../host/firewall/iptables.ts';
import { ensureRules, removeRules, type SetupPlan } from '../../host/firewall/ensure.ts';
import { parseIpNet } from '../../host/firewall/addr.ts';

const names = suite('firewall: names and text');

names('chain names are the reference hashes (utils.MustFormatChainNameWithPrefix vectors)', () => {
  assert.is(chainName('mynet', 'abc'), 'CNI-e88f49d94512ff752ebe6070');
  assert.is(chainName('mynet', 'abc', 'DN-'), 'CNI-DN-e88f49d94512ff752ebe6');
  assert.is(hashWithPrefix(15, 'bwp', 'mynetabc'), 'bwpe88f49d94512');
  assert.is(chainName('refnet', 'refpod-a'), 'CNI-720ff4d3e3bdb7c3e348abd5');
  assert.is(chainName('refnet', 'refpod-a', 'DN-'), 'CNI-DN-720ff4d3e3bdb7c3e348a');
  const longId =
    'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';
  assert.is(chainName('testNetName', longId, 'DN-'), 'CNI-DN-bfd599665540dd91d5d28');
  assert.is(chainName('test', longId, 'DN-'), 'CNI-DN-67e92b96e692a494b6b85');
});

names('comments use Go %q quoting', () => {
  assert.is(ipMasqComment('refnet', 'refpod-a'), 'name: "refnet" id: "refpod-a"');
  assert.is(goQuote('a"b\\c\nd\x01'), '"a\\"b\\\\c\\nd\\x01"');
});

names('restore quoting round-trips through iptables -S spelling', () => {
  assert.is(quoteArg('CNI-HOSTPORT-DNAT'), 'CNI-HOSTPORT-DNAT');
  assert.is(quoteArg('10.0.0.2/24'), '10.0.0.2/24');
  assert.is(quoteArg('dnat name: "n" id: "c"'), '"dnat name: \\"n\\" id: \\"c\\""');
  assert.throws(() => quoteArg('a\nb'));
  assert.equal(splitSaveLine('-A X -m comment --comment "dnat name: \\"n\\" it\\\'s" -j Y'), [
    '-A',
    'X',
    '-m',
    'comment',
    '--comment',
    'dnat name: "n" it\'s',
    '-j',
    'Y',
  ]);
  const tx = new IptTransaction(4)
    .newChain('A')
    .insert('POSTROUTING', 1, ['-s', '1.2.3.4', '-j', 'A'])
    .check('A', ['-j', 'RETURN']);
  assert.is(tx.render(), '*nat\n-N A\n-I POSTROUTING 1 -s 1.2.3.4 -j A\n-C A -j RETURN\nCOMMIT\n');
});

names('addresses print as Go prints them', () => {
  assert.equal(parseIpNet('10.1.2.3/24'), { family: 4, ip: '10.1.2.3', prefix: 24, network: '10.1.2.0' });
  assert.equal(parseIpNet('2001:0db8:0:0:1:0:0:1/64'), {
    family: 6,
    ip: '2001:db8::1:0:0:1',
    prefix: 64,
    network: '2001:db8::',
  });
  assert.is(parseIpNet('fd00:200:50::2/64').network, 'fd00:200:50::');
  assert.throws(() => parseIpNet('10.1.2.3/33'));
  assert.throws(() => parseIpNet('nope'));
});

names.run();

const tx = suite('firewall: transactions on the live nat table');
const sb = new Sandbox();
const chainA = () => `${sb.prefix.toUpperCase()}-A`;
const chainB = () => `${sb.prefix.toUpperCase()}-B`;
const hook = () => `${sb.prefix.toUpperCase()}-HOOK`;

tx.after(async () => {
  await removeNatChains([chainA(), chainB(), hook()]);
  await sb.cleanup();
});

tx('a failing transaction changes nothing', async () => {
  const t = new IptTransaction(4)
    .newChain(chainA())
    .append(chainA(), ['-s', '10.200.55.0/24', '-j', 'RETURN'])
    .append('NO-SUCH-CHAIN-X', ['-j', 'RETURN']);
  assert.is(await tryIptables(t), false);
  assert.is(await listChain(4, 'nat', chainA()), null);
  const err = await applyIptables(t).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /iptables-restore --noflush --wait\]: exit status/);
});

tx('one transaction creates, checks and deletes', async () => {
  await applyIptables(
    new IptTransaction(4)
      .newChain(chainA())
      .append(chainA(), ['-s', '10.200.55.2', '-m', 'comment', '--comment', 'x "y"', '-j', 'RETURN']),
  );
  assert.equal(await listChain(4, 'nat', chainA()), [
    `-A ${chainA()} -s 10.200.55.2/32 -m comment --comment "x \\"y\\"" -j RETURN`,
  ]);
  assert.ok(
    await tryIptables(
      new IptTransaction(4).check(chainA(), [
        '-s',
        '10.200.55.2',
        '-m',
        'comment',
        '--comment',
        'x "y"',
        '-j',
        'RETURN',
      ]),
    ),
  );
  assert.not.ok(await tryIptables(new IptTransaction(4).check(chainA(), ['-s', '10.200.55.3', '-j', 'RETURN'])));
  await applyIptables(new IptTransaction(4).flushChain(chainA()).deleteChain(chainA()));
  assert.is(await listChain(4, 'nat', chainA()), null);
});

function plan(own: string, shared: string, family: 4 | 6 = 4): SetupPlan {
  const src = family === 4 ? '10.200.55.7' : 'fd00:200:55::7';
  return {
    family,
    table: 'nat',
    chains: [
      { name: shared, own: false },
      { name: own, own: true },
    ],
    rules: [
      { chain: shared, own: false, rule: ['-m', 'comment', '--comment', 'shared rule', '-j', 'RETURN'] },
      { chain: hook(), own: false, prepend: true, rule: ['-m', 'comment', '--comment', 'hook', '-j', shared] },
      { chain: own, own: true, rule: ['-s', src, '-j', 'RETURN'] },
      { chain: own, own: true, rule: ['-s', src, '-j', 'RETURN'] }, // duplicate: added once, like check-then-append
      { chain: shared, own: true, rule: ['-s', src, '-j', own] },
    ],
  };
}

tx('ensureRules builds everything on the slow path, is idempotent, and repairs a removed shared rule', async () => {
  for (const f of [4, 6] as const) {
    await applyIptables(new IptTransaction(f).newChain(hook()).append(hook(), ['-j', 'RETURN']));
    await ensureRules(plan(chainA(), chainB(), f));
    const first = await natLinesMentioning(f, [chainA(), chainB(), hook()]);
    await ensureRules(plan(chainA(), chainB(), f)); // own chain exists → slow path, nothing duplicated
    assert.equal(await natLinesMentioning(f, [chainA(), chainB(), hook()]), first);
    assert.is(
      (await natChainRules(f, hook()))[0],
      `-A ${hook()} -m comment --comment hook -j ${chainB()}`,
      'prepended at 1',
    );
    assert.is((await natChainRules(f, chainA())).length, 1);
    // damage the shared part: the fast transaction's -C fails, the slow path re-adds only what is missing
    await applyIptables(
      new IptTransaction(f).delete(chainB(), ['-m', 'comment', '--comment', 'shared rule', '-j', 'RETURN']),
    );
    await removeRules({
      family: f,
      table: 'nat',
      chains: [chainA()],
      entryRules: [{ chain: chainB(), rule: ['-s', f === 4 ? '10.200.55.7' : 'fd00:200:55::7', '-j', chainA()] }],
      scanForJumps: [],
    });
    await ensureRules(plan(chainA(), chainB(), f));
    assert.equal((await natLinesMentioning(f, [chainA(), chainB(), hook()])).sort(), [...first].sort());
  }
});

tx('removeRules: fast path, slow path by listing, and idempotent', async () => {
  for (const f of [4, 6] as const) {
    // jump spelled differently from the plan (extra comment) → found by listing the scanned chain
    await applyIptables(
      new IptTransaction(f).append(chainB(), ['-m', 'comment', '--comment', 'other spelling', '-j', chainA()]),
    );
    const p = {
      family: f,
      table: 'nat',
      chains: [chainA()],
      scanForJumps: [chainB()],
      entryRules: [{ chain: chainB(), rule: ['-s', f === 4 ? '10.200.55.7' : 'fd00:200:55::7', '-j', chainA()] }],
    };
    await removeRules(p);
    assert.is(await listChain(f, 'nat', chainA()), null);
    assert.not.ok((await natSave(f)).some((l) => l.endsWith(`-j ${chainA()}`)));
    await removeRules(p); // already gone: no error
  }
});

tx.run();

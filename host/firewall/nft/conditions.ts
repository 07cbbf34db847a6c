// portmap's nftables `conditionsV4/V6`: match text (tokens) appended to the jump rules, compiled here instead of by
// `nft`. The forms understood: `ip|ip6 saddr|daddr [==|!=] <address[/prefix]>` and `iifname|oifname [==|!=]
// <name>` (quoted or not, `*` suffix as a wildcard); anything else is rejected with the tokens named.
import type { RuleBuilder } from './match.ts';

export function applyConditions(b: RuleBuilder, tokens: readonly string[]): RuleBuilder {
  const t = tokens.flatMap((x) => x.split(/\s+/)).filter((x) => x !== '');
  let i = 0;
  const fail = (): never => {
    throw new Error(`unsupported nftables condition "${t.join(' ')}" (supported: ip/ip6 saddr/daddr, iifname/oifname)`);
  };
  const op = (): 'eq' | 'neq' => {
    if (t[i] === '!=') {
      i++;
      return 'neq';
    }
    if (t[i] === '==') i++;
    return 'eq';
  };
  while (i < t.length) {
    const w = t[i++];
    if ((w === 'ip' || w === 'ip6') && (t[i] === 'saddr' || t[i] === 'daddr')) {
      const dir = t[i++] as 'saddr' | 'daddr';
      const o = op();
      const addr = t[i++] ?? fail();
      if (addr.includes(':') !== (w === 'ip6')) fail();
      try {
        b.addr(dir, addr, o);
      } catch {
        fail();
      }
    } else if (w === 'iifname' || w === 'oifname') {
      const o = op();
      const name = (t[i++] ?? fail()).replace(/^"(.*)"$/, '$1');
      b.ifname(w, name, o);
    } else fail();
  }
  return b;
}

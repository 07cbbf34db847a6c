// The iptables backend: ADD = one restore per family, DEL = one restore per family (fast path), CHECK = reads
// only this pod's chain. See host/firewall/ensure.ts for the fast/slow path.
import { annotate } from '../../errors.ts';
import type { IpNet } from '../../firewall/addr.ts';
import {
  ensureRules,
  removeRules,
  type PlannedChain,
  type PlannedRule,
  type SetupPlan,
} from '../../firewall/ensure.ts';
import {
  IptTransaction,
  iptablesInstalled,
  iptablesUsable,
  listChain,
  tryIptables,
  type IpFamily,
  type Rule,
} from '../../firewall/iptables.ts';
import { dnatChain, markMasqChain, setMarkChain, topLevelDnatChain, type Chain } from './chains.ts';
import type { PortMapConfig } from './config.ts';

/** The whole ADD for one family as a plan: shared chains first (checked), then the pod's own chain (created). */
export function setupPlan(conf: PortMapConfig, containerId: string, cont: IpNet): SetupPlan {
  const chains: PlannedChain[] = [];
  const rules: PlannedRule[] = [];
  const add = (c: Chain, own: boolean) => {
    chains.push({ name: c.name, own });
    for (const rule of c.rules) rules.push({ chain: c.name, rule, own });
    for (const entry of c.entryChains) {
      for (const r of c.entryRules)
        rules.push({ chain: entry, rule: [...r, '-j', c.name], own, prepend: c.prependEntry });
    }
  };
  if (conf.snat && conf.externalSetMarkChain === undefined) {
    add(setMarkChain(conf.markMasqBit), false);
    add(markMasqChain(conf.markMasqBit), false);
  }
  add(topLevelDnatChain(), false);
  add(dnatChain(conf, containerId, cont), true);
  return { family: cont.family, table: 'nat', chains, rules };
}

export async function forwardPorts(conf: PortMapConfig, containerId: string, cont: IpNet): Promise<void> {
  try {
    await ensureRules(setupPlan(conf, containerId, cont));
  } catch (e) {
    throw annotate(e, 'unable to setup DNAT');
  }
}

/** Removes the pod's chain in both families (each only where usable); idempotent. */
export async function unforwardPorts(conf: PortMapConfig, containerId: string): Promise<void> {
  const families = [4, 6] as const;
  const errors = await Promise.all(
    families.map(async (family) => {
      if (!iptablesInstalled(family))
        return { family, usable: new Error(`${family === 4 ? 'iptables' : 'ip6tables'} not found in $PATH`) };
      try {
        await teardownFamily(conf, containerId, family);
        return null;
      } catch (e) {
        return { family, failure: e as Error, usable: await iptablesUsable(family) };
      }
    }),
  );
  const e4 = errors[0];
  const e6 = errors[1];
  if (e4?.usable && e6?.usable) {
    throw new Error(
      `neither iptables nor ip6tables is usable, (iptables) ${e4.usable.message}, (ip6tables) ${e6.usable.message}`,
    );
  }
  for (const e of [e4, e6]) {
    if (e && !e.usable && 'failure' in e)
      throw new Error(`could not teardown ipv${e.family} dnat: ${e.failure!.message}`);
  }
}

async function teardownFamily(conf: PortMapConfig, containerId: string, family: IpFamily): Promise<void> {
  // the entry rules are rebuilt from the DEL's own mappings; if they differ from the ADD's, the slow path finds
  // the real ones by listing CNI-HOSTPORT-DNAT
  const probe: IpNet =
    family === 4
      ? { family: 4, ip: '0.0.0.0', prefix: 32, network: '0.0.0.0' }
      : { family: 6, ip: '::', prefix: 128, network: '::' };
  const c = dnatChain(conf, containerId, probe);
  await removeRules({
    family,
    table: 'nat',
    chains: [c.name],
    scanForJumps: c.entryChains,
    entryRules: c.entryChains.flatMap((chain) =>
      c.entryRules.map((r) => ({ chain, rule: [...r, '-j', c.name] as Rule })),
    ),
  });
}

/** CHECK for one address: the chain exists and holds every expected rule, and every entry rule exists. */
export async function checkPorts(conf: PortMapConfig, containerId: string, cont: IpNet): Promise<void> {
  const family = cont.family;
  const c = dnatChain(conf, containerId, cont);
  try {
    if ((await listChain(family, 'nat', c.name)) === null)
      throw new Error(`chain ${c.name} not found in iptables table nat`);
    // the reference checks the rules last to first, then the entry rules; one restore of -C lines does the same
    const checks: Array<{ chain: string; rule: Rule; report: string }> = [];
    for (let i = c.rules.length - 1; i >= 0; i--)
      checks.push({
        chain: c.name,
        rule: c.rules[i]!,
        report: `rule ${goList(c.rules)} in chain ${c.name} not found in table nat`,
      });
    for (const entry of c.entryChains) {
      for (let i = c.entryRules.length - 1; i >= 0; i--) {
        checks.push({
          chain: entry,
          rule: [...c.entryRules[i]!, '-j', c.name],
          report: `rule ${goList(c.entryRules)} in chain ${entry} not found in table nat`,
        });
      }
    }
    const tx = new IptTransaction(family, 'nat');
    for (const k of checks) tx.check(k.chain, k.rule);
    if (await tryIptables(tx)) return;
    for (const k of checks) {
      // find the first missing one for the message
      const one = new IptTransaction(family, 'nat').check(k.chain, k.rule);
      if (!(await tryIptables(one))) throw new Error(k.report);
    }
  } catch (e) {
    throw annotate(e, `could not check ipv${family} dnat`);
  }
}

/** Go's %s of a [][]string: `[[a b] [c d]]`. */
function goList(rules: Rule[]): string {
  return `[${rules.map((r) => `[${r.join(' ')}]`).join(' ')}]`;
}

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
  splitSaveLine,
  tryIptables,
  type IpFamily,
  type Rule,
} from '../../firewall/iptables.ts';
import {
  dnatChain,
  dnatChainName,
  dnatComment,
  markMasqChain,
  setMarkChain,
  TOP_LEVEL_DNAT_CHAIN,
  topLevelDnatChain,
  type Chain,
} from './chains.ts';
import { readIptTable, specKey, type IptTableView } from '../../firewall/iptview.ts';
import type { PortMapConfig } from './config.ts';
import type { PortMapper } from './mapper.ts';

export const iptablesMapper: PortMapper = {
  async forward(conf, containerId) {
    for (const cont of [conf.contIPv4, conf.contIPv6]) if (cont) await forwardPorts(conf, containerId, cont);
  },
  async check(conf, containerId) {
    for (const cont of [conf.contIPv4, conf.contIPv6]) if (cont) await checkPorts(conf, containerId, cont);
  },
  unforward: unforwardPorts,
  gc: gcPorts,
};

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

async function forwardPorts(conf: PortMapConfig, containerId: string, cont: IpNet): Promise<void> {
  try {
    await ensureRules(setupPlan(conf, containerId, cont));
  } catch (e) {
    throw annotate(e, 'unable to setup DNAT');
  }
}

/** Removes the pod's chain in both families (each only where usable); idempotent. */
async function unforwardPorts(conf: PortMapConfig, containerId: string): Promise<void> {
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
async function checkPorts(conf: PortMapConfig, containerId: string, cont: IpNet): Promise<void> {
  const family = cont.family;
  const c = dnatChain(conf, containerId, cont);
  try {
    const view = await readIptTable(family, 'nat').catch(() => null);
    if (view) return checkInView(view, c);
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

/**
 * CHECK from a netlink read of iptables-nft's nat table (no process): the chain exists, and every expected rule
 * and entry rule has a rule of its own with the same target and comment (last to first, as the reference).
 */
function checkInView(view: IptTableView, c: Chain): void {
  if (!view.chains.has(c.name)) throw new Error(`chain ${c.name} not found in iptables table nat`);
  const pool = [...view.rules];
  const seen = new Set<string>();
  const take = (chain: string, rule: Rule): boolean => {
    // identical rules are written once (ensure.ts), so each distinct one needs one rule of its own
    const id = `${chain}\0${rule.join('\0')}`;
    if (seen.has(id)) return true;
    seen.add(id);
    const k = specKey(rule);
    const i = pool.findIndex((r) => r.chain === chain && r.target === k.target && r.comment === k.comment);
    if (i >= 0) pool.splice(i, 1);
    return i >= 0;
  };
  for (let i = c.rules.length - 1; i >= 0; i--)
    if (!take(c.name, c.rules[i]!))
      throw new Error(`rule ${goList(c.rules)} in chain ${c.name} not found in table nat`);
  for (const entry of c.entryChains)
    for (let i = c.entryRules.length - 1; i >= 0; i--)
      if (!take(entry, [...c.entryRules[i]!, '-j', c.name]))
        throw new Error(`rule ${goList(c.entryRules)} in chain ${entry} not found in table nat`);
}

/** Go's %s of a [][]string: `[[a b] [c d]]`. */
function goList(rules: Rule[]): string {
  return `[${rules.map((r) => `[${r.join(' ')}]`).join(' ')}]`;
}

/**
 * GC (spec 1.1, beyond the reference, whose portmap has none): removes the chains of this network's attachments
 * not in `validContainerIds`. Pods are found by the entry rules' comment `dnat name: "<net>" id: "<cid>"` in
 * CNI-HOSTPORT-DNAT, and the chain name must match it.
 */
async function gcPorts(network: string, validContainerIds: readonly string[]): Promise<void> {
  const keep = new Set(validContainerIds.map((cid) => dnatChainName(network, cid)));
  for (const family of [4, 6] as const) {
    if (!iptablesInstalled(family)) continue;
    // iptables-nft: the entry rules read over netlink (no process); legacy: `iptables -S CNI-HOSTPORT-DNAT`
    const view = await readIptTable(family, 'nat').catch(() => null);
    const entries = view
      ? view.rules
          .filter((r) => r.chain === TOP_LEVEL_DNAT_CHAIN)
          .map((r) => ({ comment: r.comment, target: r.target ?? '' }))
      : ((await listChain(family, 'nat', TOP_LEVEL_DNAT_CHAIN).catch(() => null)) ?? []).map((line) => {
          const tokens = splitSaveLine(line);
          const at = tokens.indexOf('--comment');
          return { comment: at < 0 ? undefined : tokens[at + 1], target: tokens[tokens.length - 1]! };
        });
    const stale = new Set<string>();
    for (const { comment, target } of entries) {
      const cid = comment ? containerIdOf(comment, network) : undefined;
      // the chain name must match the comment, so a rule of another network with a look-alike comment is never hit
      if (cid !== undefined && target === dnatChainName(network, cid) && !keep.has(target)) stale.add(target);
    }
    if (stale.size === 0) continue;
    await removeRules({
      family,
      table: 'nat',
      chains: [...stale],
      entryRules: [],
      scanForJumps: [TOP_LEVEL_DNAT_CHAIN],
    });
  }
}

/** The container ID in an entry-rule comment of `network`, or undefined (other network, truncated comment). */
function containerIdOf(comment: string, network: string): string | undefined {
  const head = `dnat name: "${network}" id: "`;
  if (!comment.startsWith(head) || !comment.endsWith('"')) return undefined;
  const cid = comment.slice(head.length, -1);
  return dnatComment(network, cid) === comment ? cid : undefined;
}

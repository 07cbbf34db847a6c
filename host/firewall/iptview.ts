// Reading iptables' rules without starting iptables: with iptables-nft, its tables (`ip nat`, `ip6 filter`, ...)
// are nf_tables objects, so one netlink dump shows which chains exist and, per rule, where it jumps (or its
// target, e.g. MASQUERADE) and its `-m comment`. That is enough to decide what a transaction must change, so a
// DEL with nothing to remove and a CHECK start no process. Legacy iptables keeps its rules elsewhere: null, and
// the callers use the tools as before. Which flavour the host's iptables is, is decided once per process.
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { IpFamily } from './iptables.ts';
import { listChains, listRules, withNft, type ListedRule } from './nft/index.ts';
import { xtComment } from './nft/expr/xt.ts';
import { runTool, toolPath } from './tools.ts';

export interface IptRuleView {
  chain: string;
  /** the `-j` target: a chain name, ACCEPT/DROP/RETURN, or an extension target (MASQUERADE, DNAT, MARK) */
  target?: string;
  comment?: string;
}

export interface IptTableView {
  chains: Set<string>;
  rules: IptRuleView[];
}

const flavour = new Map<IpFamily, Promise<boolean>>();

/** Whether the host's iptables for this family is iptables-nft (decided once: its binary, else `iptables -V`). */
export function iptablesOnNfTables(family: IpFamily): Promise<boolean> {
  let f = flavour.get(family);
  if (!f) {
    f = detect(family);
    flavour.set(family, f);
  }
  return f;
}

async function detect(family: IpFamily): Promise<boolean> {
  const tool = family === 4 ? 'iptables' : 'ip6tables';
  const path = toolPath(tool);
  if (!path) return false;
  try {
    const real = basename(realpathSync(path));
    if (real.includes('nft')) return true;
    if (real.includes('legacy')) return false;
  } catch {
    /* ask the tool */
  }
  const r = await runTool(tool, ['-V']).catch(() => null);
  return r !== null && r.code === 0 && r.stdout.includes('nf_tables');
}

/** The table as iptables-nft keeps it (an empty view when it does not exist yet), or null with legacy iptables. */
export async function readIptTable(family: IpFamily, table: string): Promise<IptTableView | null> {
  if (!(await iptablesOnNfTables(family))) return null;
  const fam = family === 4 ? 'ip' : 'ip6';
  return withNft(null, async (s) => {
    const [chains, rules] = await Promise.all([listChains(s, fam, table), listRules(s, fam, table)]);
    return { chains: new Set(chains.map((c) => c.name)), rules: rules.map(ruleView) };
  });
}

const VERDICT_TARGET: Record<string, string> = { accept: 'ACCEPT', drop: 'DROP', return: 'RETURN' };

function ruleView(r: ListedRule): IptRuleView {
  const v: IptRuleView = { chain: r.chain };
  for (const e of r.exprs) {
    if (e.type === 'immediate' && 'verdict' in e)
      v.target = e.verdict.chain ?? VERDICT_TARGET[e.verdict.kind] ?? e.verdict.kind;
    else if (e.type === 'target') v.target = e.name;
    else if (e.type === 'match') {
      const c = xtComment(e);
      if (c !== undefined) v.comment = c;
    }
  }
  return v;
}

/** `-j <target>` and `--comment <c>` of an iptables rule spec (as our plans write them). */
export function specKey(rule: readonly string[]): { target?: string; comment?: string } {
  const j = rule.lastIndexOf('-j');
  const c = rule.indexOf('--comment');
  const out: { target?: string; comment?: string } = {};
  if (j >= 0 && rule[j + 1] !== undefined) out.target = rule[j + 1];
  if (c >= 0 && rule[c + 1] !== undefined) out.comment = rule[c + 1];
  return out;
}

/** Rules of `chain` in the view that could be this spec (same target and comment): 0 means it is surely absent. */
export function candidates(view: IptTableView, chain: string, rule: readonly string[]): number {
  const k = specKey(rule);
  return view.rules.filter((r) => r.chain === chain && r.target === k.target && r.comment === k.comment).length;
}

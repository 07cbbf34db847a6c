// Idempotent set-up and tear-down of iptables chains and rules, each committed as ONE restore transaction.
//
// Fast path (the steady state): one transaction that checks (`-C`) the shared rules it relies on, creates the
// caller's own chain (`-N`) and appends its own rules. It succeeds only when the shared part is in place and the
// own chain is new, so no other pod's rules are read. Anything else (first pod on a node, a repeated ADD, a
// damaged skeleton, a concurrent creator) fails atomically and falls back to the slow path: probe exactly the
// chains and rules of the plan (`-S`/`-C`), then commit only what is missing, check-then-append like the reference.
import {
  applyIptables,
  IptTransaction,
  isRaceFailure,
  listChain,
  ruleExists,
  splitSaveLine,
  tryIptables,
  type IpFamily,
  type Rule,
} from './iptables.ts';
import { candidates, readIptTable, type IptTableView } from './iptview.ts';

export interface PlannedChain {
  name: string;
  /** true: this call's own chain (new on the fast path); false: shared, created when missing. */
  own: boolean;
}

export interface PlannedRule {
  chain: string;
  rule: Rule;
  /** Insert at position 1 instead of appending (the reference's prependEntry). */
  prepend?: boolean;
  /** true: appended by this call on the fast path; false: shared, only checked on the fast path. */
  own: boolean;
}

export interface SetupPlan {
  family: IpFamily;
  table: string;
  /** In creation order. */
  chains: PlannedChain[];
  /** In the order the reference adds them (matters inside one chain). */
  rules: PlannedRule[];
}

const ATTEMPTS = 4;
const key = (chain: string, rule: Rule) => `${chain}\0${rule.join('\0')}`;

/** Makes every planned chain and rule exist, adding only what is missing. Throws the last restore error. */
export async function ensureRules(plan: SetupPlan): Promise<void> {
  const view = await readIptTable(plan.family, plan.table).catch(() => null);
  const first = view ? viewSetup(plan, view) : fastSetup(plan);
  if (first?.empty) return;
  if (first && (await tryIptables(first))) return;
  await retryOnRace(() => slowSetup(plan));
}

/** Builds a transaction from what the tables hold now and applies it; again when another writer raced it. */
async function retryOnRace(build: () => Promise<IptTransaction>): Promise<void> {
  let lastError: unknown;
  for (let i = 0; i < ATTEMPTS; i++) {
    const tx = await build();
    try {
      await applyIptables(tx);
      return;
    } catch (e) {
      lastError = e;
      if (!isRaceFailure(e)) break;
    }
  }
  throw lastError;
}

function fastSetup(plan: SetupPlan): IptTransaction {
  const tx = new IptTransaction(plan.family, plan.table);
  for (const c of plan.chains) if (c.own) tx.newChain(c.name);
  const seen = new Set<string>();
  for (const r of plan.rules) {
    const k = key(r.chain, r.rule);
    if (seen.has(k)) continue;
    seen.add(k);
    if (!r.own) tx.check(r.chain, r.rule);
    else if (r.prepend) tx.insert(r.chain, 1, r.rule);
    else tx.append(r.chain, r.rule);
  }
  return tx;
}

/**
 * With iptables-nft, the transaction decided from a netlink read of the table: missing chains created, rules that
 * surely are absent (no rule there with their target and comment) added, shared rules that may be present checked
 * (`-C`, so the restore fails if one is not). null when an own rule may already exist (a repeated ADD): only the
 * tools can compare it exactly.
 */
function viewSetup(plan: SetupPlan, view: IptTableView): IptTransaction | null {
  if (plan.chains.some((c) => c.own && view.chains.has(c.name))) return null;
  const tx = new IptTransaction(plan.family, plan.table);
  for (const c of new Set(plan.chains.map((x) => x.name))) if (!view.chains.has(c)) tx.newChain(c);
  const seen = new Set<string>();
  for (const r of plan.rules) {
    const k = key(r.chain, r.rule);
    if (seen.has(k)) continue;
    seen.add(k);
    if (view.chains.has(r.chain) && candidates(view, r.chain, r.rule) > 0) {
      if (r.own) return null;
      tx.check(r.chain, r.rule);
    } else if (r.prepend) tx.insert(r.chain, 1, r.rule);
    else tx.append(r.chain, r.rule);
  }
  return tx;
}

async function slowSetup(plan: SetupPlan): Promise<IptTransaction> {
  const chainNames = [...new Set(plan.chains.map((c) => c.name))];
  const exists = new Map<string, boolean>();
  await Promise.all(
    chainNames.map(async (c) => {
      exists.set(c, (await listChain(plan.family, plan.table, c)) !== null);
    }),
  );
  const unique: PlannedRule[] = [];
  const seen = new Set<string>();
  for (const r of plan.rules) {
    const k = key(r.chain, r.rule);
    if (!seen.has(k)) {
      seen.add(k);
      unique.push(r);
    }
  }
  const present = await Promise.all(
    unique.map((r) => (exists.get(r.chain) === false ? false : ruleExists(plan.family, plan.table, r.chain, r.rule))),
  );
  const tx = new IptTransaction(plan.family, plan.table);
  for (const c of chainNames) if (!exists.get(c)) tx.newChain(c);
  unique.forEach((r, i) => {
    if (present[i]) return;
    if (r.prepend) tx.insert(r.chain, 1, r.rule);
    else tx.append(r.chain, r.rule);
  });
  return tx;
}

export interface TeardownPlan {
  family: IpFamily;
  table: string;
  /** Rules in other chains that point at the own chains, deleted by their exact spec. */
  entryRules: Array<{ chain: string; rule: Rule }>;
  /** The own chains: flushed and deleted. */
  chains: string[];
  /** Where else a jump to an own chain may live (found by listing, only on the slow path). */
  scanForJumps: string[];
}

/** Removes the own chains and every rule pointing at them; a no-op when they are already gone. */
export async function removeRules(plan: TeardownPlan): Promise<void> {
  // with iptables-nft, a netlink read tells when there is nothing to remove: then no process is started
  const view = await readIptTable(plan.family, plan.table).catch(() => null);
  if (
    view &&
    !plan.chains.some((c) => view.chains.has(c)) &&
    !view.rules.some((r) => plan.chains.includes(r.target ?? '')) &&
    plan.entryRules.every((e) => candidates(view, e.chain, e.rule) === 0)
  )
    return;
  const fast = new IptTransaction(plan.family, plan.table);
  for (const e of plan.entryRules) fast.delete(e.chain, e.rule);
  for (const c of plan.chains) fast.flushChain(c);
  for (const c of plan.chains) fast.deleteChain(c);
  if (await tryIptables(fast)) return;
  await retryOnRace(() => slowTeardown(plan));
}

async function slowTeardown(plan: TeardownPlan): Promise<IptTransaction> {
  const tx = new IptTransaction(plan.family, plan.table);
  const live = (
    await Promise.all(plan.chains.map(async (c) => ((await listChain(plan.family, plan.table, c)) !== null ? c : null)))
  ).filter((c): c is string => c !== null);
  if (live.length === 0) return tx; // nothing can point at a chain that does not exist
  const seen = new Set<string>();
  const del = (chain: string, rule: Rule) => {
    const k = key(chain, rule);
    if (!seen.has(k)) {
      seen.add(k);
      tx.delete(chain, rule);
    }
  };
  // entry rules in a chain that gets listed below are found there (in iptables' own spelling) instead
  const probed = plan.entryRules.filter((e) => !plan.scanForJumps.includes(e.chain));
  const known = await Promise.all(probed.map((e) => ruleExists(plan.family, plan.table, e.chain, e.rule)));
  probed.forEach((e, i) => {
    if (known[i]) del(e.chain, e.rule);
  });
  for (const scan of plan.scanForJumps) {
    const lines = await listChain(plan.family, plan.table, scan);
    for (const line of lines ?? []) {
      const tokens = splitSaveLine(line);
      const target = tokens[tokens.length - 1];
      if (tokens[tokens.length - 2] === '-j' && target && live.includes(target)) {
        tx.delete(scan, tokens.slice(2)); // identical copies are listed once each; each -D removes one
      }
    }
  }
  for (const c of live) tx.flushChain(c);
  for (const c of live) tx.deleteChain(c);
  return tx;
}

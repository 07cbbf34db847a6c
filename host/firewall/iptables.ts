// iptables as one atomic transaction per call: a list of operations rendered to `ip(6)tables-restore --noflush`
// input. Reading back is limited to the chains a caller names (never a whole-table dump on the hot path).
import { runTool, toolPath, type Tool } from './tools.ts';

export type IpFamily = 4 | 6;
/** A rule as the argument list after `-A <chain>` (the same tokens one would pass to iptables). */
export type Rule = readonly string[];

export type IptOp =
  | { op: '-N' | '-F' | '-X'; chain: string }
  | { op: '-A' | '-D' | '-C'; chain: string; rule: Rule }
  | { op: '-I'; chain: string; rule: Rule; position: number };

export class IptablesError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'IptablesError';
  }
}

/** One transaction on one table of one family. `-C` lines make it fail (and change nothing) when a rule is absent. */
export class IptTransaction {
  readonly ops: IptOp[] = [];
  constructor(
    readonly family: IpFamily,
    readonly table = 'nat',
  ) {}

  newChain(chain: string): this {
    this.ops.push({ op: '-N', chain });
    return this;
  }
  flushChain(chain: string): this {
    this.ops.push({ op: '-F', chain });
    return this;
  }
  deleteChain(chain: string): this {
    this.ops.push({ op: '-X', chain });
    return this;
  }
  append(chain: string, rule: Rule): this {
    this.ops.push({ op: '-A', chain, rule });
    return this;
  }
  insert(chain: string, position: number, rule: Rule): this {
    this.ops.push({ op: '-I', chain, rule, position });
    return this;
  }
  delete(chain: string, rule: Rule): this {
    this.ops.push({ op: '-D', chain, rule });
    return this;
  }
  check(chain: string, rule: Rule): this {
    this.ops.push({ op: '-C', chain, rule });
    return this;
  }

  get empty(): boolean {
    return this.ops.length === 0;
  }

  /** The restore input: `*table`, one line per operation, `COMMIT`. */
  render(): string {
    const lines = [`*${this.table}`];
    for (const o of this.ops) {
      const head = [o.op, quoteArg(o.chain)];
      if (o.op === '-I') head.push(String(o.position));
      const rule = 'rule' in o ? o.rule.map(quoteArg) : [];
      lines.push([...head, ...rule].join(' '));
    }
    lines.push('COMMIT', '');
    return lines.join('\n');
  }
}

const restoreTool = (f: IpFamily): Tool => (f === 4 ? 'iptables-restore' : 'ip6tables-restore');
const iptablesTool = (f: IpFamily): Tool => (f === 4 ? 'iptables' : 'ip6tables');

/** Whether the tools for this family are installed (a file-system look-up, no exec). */
export function iptablesInstalled(family: IpFamily): boolean {
  return toolPath(iptablesTool(family)) !== null && toolPath(restoreTool(family)) !== null;
}

/** Applies the transaction atomically with one `ip(6)tables-restore --noflush --wait`. Throws IptablesError. */
export async function applyIptables(tx: IptTransaction): Promise<void> {
  if (tx.empty) return;
  const r = await runTool(restoreTool(tx.family), ['--noflush', '--wait'], tx.render());
  if (r.code !== 0) {
    throw new IptablesError(
      `running [${restoreTool(tx.family)} --noflush --wait]: exit status ${r.code}: ${r.stderr.trim()}`,
      r.stderr,
    );
  }
}

/** Like applyIptables, but reports failure as false instead of throwing (for fast paths with a fallback). */
export async function tryIptables(tx: IptTransaction): Promise<boolean> {
  if (tx.empty) return true;
  const r = await runTool(restoreTool(tx.family), ['--noflush', '--wait'], tx.render());
  return r.code === 0;
}

/** The rules of one chain as `iptables -S` prints them (`-A CHAIN ...`), or null when the chain does not exist. */
export async function listChain(family: IpFamily, table: string, chain: string): Promise<string[] | null> {
  const r = await runTool(iptablesTool(family), ['-t', table, '-S', chain, '--wait']);
  if (r.code !== 0) {
    if (isNotExist(r.stderr)) return null;
    throw new IptablesError(
      `running [${iptablesTool(family)} -t ${table} -S ${chain} --wait]: exit status ${r.code}: ${r.stderr.trim()}`,
      r.stderr,
    );
  }
  return r.stdout.split('\n').filter((l) => l.startsWith('-A '));
}

/**
 * Whether a rule exists (`iptables -C`). Any failure counts as "no" (missing chain or target, or a rule iptables
 * cannot parse): the transaction that would add it then reports the real error.
 */
export async function ruleExists(family: IpFamily, table: string, chain: string, rule: Rule): Promise<boolean> {
  const r = await runTool(iptablesTool(family), ['-t', table, '-C', chain, ...rule, '--wait']);
  return r.code === 0;
}

/** Whether a failed restore may have lost a race with another writer (then it is worth re-probing and retrying). */
export function isRaceFailure(e: unknown): boolean {
  return (
    e instanceof IptablesError &&
    /already exists|No chain\/target\/match|does not exist|Bad rule|Couldn't load target|is incompatible/i.test(
      e.stderr,
    )
  );
}

/** Whether the nat table of this family can be used at all (the reference's `iptables -t nat -L OUTPUT` probe). */
export async function iptablesUsable(family: IpFamily): Promise<Error | null> {
  if (!iptablesInstalled(family)) return new Error(`${iptablesTool(family)} not found in $PATH`);
  const r = await runTool(iptablesTool(family), ['-t', 'nat', '-S', 'OUTPUT', '--wait']);
  return r.code === 0
    ? null
    : new IptablesError(
        `running [${iptablesTool(family)} -t nat -S OUTPUT --wait]: exit status ${r.code}: ${r.stderr.trim()}`,
        r.stderr,
      );
}

// iptables-nft 1.8.9 reports a missing chain as "chain `X' in table `nat' is incompatible, use 'nft' tool".
function isNotExist(stderr: string): boolean {
  return /No chain\/target\/match by that name|does not exist|Bad rule|doesn't exist|is incompatible, use 'nft' tool/i.test(
    stderr,
  );
}

/**
 * Splits one `iptables -S` line into its tokens, undoing iptables' quoting (`"..."` with `\"` and `\\`, and `\'`).
 * The first two tokens are `-A` and the chain.
 */
export function splitSaveLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
      continue;
    }
    if (c === '"') {
      inQuote = !inQuote;
      has = true;
      continue;
    }
    if (c === ' ' && !inQuote) {
      if (has) out.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += c;
    has = true;
  }
  if (has) out.push(cur);
  return out;
}

/** Quotes one argument for iptables-restore's tokenizer (double quotes; `"` and `\` escaped). */
export function quoteArg(a: string): string {
  if (/[\n\r\0]/.test(a))
    throw new IptablesError(`iptables argument contains a line break or NUL: ${JSON.stringify(a)}`, '');
  if (a !== '' && /^[A-Za-z0-9_.:,/=+@%!^-]+$/.test(a)) return a;
  return `"${a.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
}

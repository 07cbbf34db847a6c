// nftables as one `nft -f -` batch per call, and JSON read-back (`nft -j list ...`) of single chains.
import { runTool, toolPath } from './tools.ts';

export class NftError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'NftError';
  }
}

export function nftInstalled(): boolean {
  return toolPath('nft') !== null;
}

/** Applies a batch of nft commands (one per line) atomically. Throws NftError with nft's message. */
export async function applyNft(commands: string[]): Promise<void> {
  if (commands.length === 0) return;
  const r = await runTool('nft', ['-f', '-'], `${commands.join('\n')}\n`);
  if (r.code !== 0) throw new NftError(`/usr/sbin/nft -f -: exit status ${r.code}: ${r.stderr.trim()}`, r.stderr);
}

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

/**
 * The rules of one chain (`nft -j list chain <family> <table> <chain>`), or null when the table or chain does not
 * exist.
 */
export async function listNftChain(family: string, table: string, chain: string): Promise<NftRule[] | null> {
  const r = await runTool('nft', ['-j', 'list', 'chain', family, table, chain]);
  if (r.code !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return null;
    throw new NftError(
      `nft -j list chain ${family} ${table} ${chain}: exit status ${r.code}: ${r.stderr.trim()}`,
      r.stderr,
    );
  }
  return rulesOf(r.stdout);
}

/** Every rule in a table (`nft -j list table`), or null when the table does not exist. */
export async function listNftTable(family: string, table: string): Promise<NftRule[] | null> {
  const r = await runTool('nft', ['-j', 'list', 'table', family, table]);
  if (r.code !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return null;
    throw new NftError(`nft -j list table ${family} ${table}: exit status ${r.code}: ${r.stderr.trim()}`, r.stderr);
  }
  return rulesOf(r.stdout);
}

function rulesOf(json: string): NftRule[] {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  const out: NftRule[] = [];
  for (const item of doc.nftables ?? []) {
    const rule = item.rule as NftRule | undefined;
    if (rule) out.push(rule);
  }
  return out;
}

/** A quoted nft string (comments). nft strings cannot contain a double quote; the reference strips them too. */
export function nftString(s: string): string {
  return `"${s.replace(/"/g, '')}"`;
}

/** `delete rule <family> <table> <chain> handle <n>` for each rule. */
export function deleteRuleCommands(rules: NftRule[]): string[] {
  return rules.map((r) => `delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`);
}

// nf_tables over netlink: the public face. Open a socket in a namespace, build a Batch, commit it (one atomic
// transaction), read back tables, chains and rules. See host/firewall/README.md.
import { firewallNetns } from '../tools.ts';
import { NftSocket } from './socket.ts';

export { Batch, type ChainRef } from './batch.ts';
export type { BaseChainSpec, Chain, ListedChain } from './chain.ts';
export type { NftFamily } from './constants.ts';
export type { Expr } from './expr/index.ts';
export { generation, getChain, getTable, listChains, listRules, listTables } from './list.ts';
export { rule, RuleBuilder } from './match.ts';
export type { ListedRule, Rule } from './rule.ts';
export { NftNetlinkError, NftSocket } from './socket.ts';
export type { ListedTable, Table } from './table.ts';

/** Opens a socket in the namespace at nsPath (none: the current call's host side — the caller's network namespace
 * in the daemon, this process's on the cold path), runs fn, and always closes it. */
export async function withNft<T>(nsPath: string | null | undefined, fn: (s: NftSocket) => Promise<T>): Promise<T> {
  const s = NftSocket.open(nsPath ?? firewallNetns());
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

// Reading what exists: tables, chains and rules by dump (GETTABLE/GETCHAIN/GETRULE), a table or chain by name.
import { PayloadWriter } from '../../net/nl/attrs.ts';
import { decodeChain, type ListedChain } from './chain.ts';
import {
  NFPROTO,
  NFTA_CHAIN_NAME,
  NFTA_CHAIN_TABLE,
  NFTA_GEN_ID,
  NFTA_RULE_CHAIN,
  NFTA_RULE_TABLE,
  NFTA_TABLE_NAME,
  NFT_MSG_GETCHAIN,
  NFT_MSG_GETGEN,
  NFT_MSG_GETRULE,
  NFT_MSG_GETTABLE,
  type NftFamily,
} from './constants.ts';
import { cstr, nfgenmsg, NFGENMSG_LEN, parseAttrs, readBe32, objectPayload } from './encode.ts';
import { decodeRule, type ListedRule } from './rule.ts';
import type { NftSocket } from './socket.ts';
import { decodeTable, type ListedTable } from './table.ts';

const UNSPEC = 0;
const fam = (f?: NftFamily) => (f ? NFPROTO[f] : UNSPEC);

export async function listTables(s: NftSocket, family?: NftFamily): Promise<ListedTable[]> {
  const msgs = await s.dump(NFT_MSG_GETTABLE, nfgenmsg(fam(family)), `list tables ${family ?? ''}`.trim());
  return msgs.map(decodeTable).filter((t): t is ListedTable => t !== null);
}

export async function getTable(s: NftSocket, family: NftFamily, name: string): Promise<ListedTable | null> {
  const p = objectPayload(family).attr(NFTA_TABLE_NAME, cstr(name)).bytes();
  const m = await s.get(NFT_MSG_GETTABLE, p, `list table ${family} ${name}`);
  return m ? decodeTable(m) : null;
}

/** Chains of a family (all families when none), optionally of one table. */
export async function listChains(s: NftSocket, family?: NftFamily, table?: string): Promise<ListedChain[]> {
  const msgs = await s.dump(NFT_MSG_GETCHAIN, nfgenmsg(fam(family)), `list chains ${family ?? ''}`.trim());
  return msgs
    .map(decodeChain)
    .filter((c): c is ListedChain => c !== null && (table === undefined || c.table === table));
}

export async function getChain(
  s: NftSocket,
  family: NftFamily,
  table: string,
  name: string,
): Promise<ListedChain | null> {
  const p = new PayloadWriter()
    .raw(nfgenmsg(NFPROTO[family]))
    .attr(NFTA_CHAIN_TABLE, cstr(table))
    .attr(NFTA_CHAIN_NAME, cstr(name))
    .bytes();
  const m = await s.get(NFT_MSG_GETCHAIN, p, `list chain ${family} ${table} ${name}`);
  return m ? decodeChain(m) : null;
}

/** Rules of a table (or one chain of it), in chain order; empty when the table or chain does not exist. */
export async function listRules(s: NftSocket, family: NftFamily, table: string, chain?: string): Promise<ListedRule[]> {
  const w = objectPayload(family).attr(NFTA_RULE_TABLE, cstr(table));
  if (chain !== undefined) w.attr(NFTA_RULE_CHAIN, cstr(chain));
  const msgs = await s.dump(NFT_MSG_GETRULE, w.bytes(), `list rules ${family} ${table}${chain ? ` ${chain}` : ''}`);
  return msgs
    .map(decodeRule)
    .filter((r): r is ListedRule => r !== null && r.table === table && (chain === undefined || r.chain === chain));
}

/** The ruleset generation (changes with every committed transaction). */
export async function generation(s: NftSocket): Promise<number> {
  const m = await s.get(NFT_MSG_GETGEN, nfgenmsg(UNSPEC), 'get generation');
  return m ? (readBe32(parseAttrs(m, NFGENMSG_LEN), NFTA_GEN_ID) ?? 0) : 0;
}

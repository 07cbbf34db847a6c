// What the nftables users share on top of the netlink client (./nft): whether the kernel speaks nf_tables, and
// "delete the rules a listing selects" as one transaction that survives a concurrent change.
import { addon } from '../native/addon.ts';
import { NLM_F_ACK, NLM_F_REQUEST } from '../net/nl/constants.ts';
import { isErrno } from '../net/nl/error.ts';
import { decodeMessages, encodeMessage } from '../net/nl/message.ts';
import { NETLINK_NETFILTER, NFT_MSG_GETGEN, NFT_MSG_NEWGEN, nftType } from './nft/constants.ts';
import { nfgenmsg } from './nft/encode.ts';
import { Batch, listRules, withNft, type ListedRule, type NftFamily } from './nft/index.ts';

let usable: boolean | undefined;

/**
 * Whether this kernel answers nf_tables requests (decided once per process, without a process start): the
 * nftables backends need nothing else, no `nft` executable.
 */
export function nftablesUsable(): boolean {
  if (usable === undefined) {
    try {
      usable = probeGeneration();
    } catch {
      usable = false;
    }
  }
  return usable;
}

function probeGeneration(): boolean {
  // a synchronous round trip: the kernel answers inside sendmsg(), so the reply is queued when send returns
  const a = addon();
  const fd = a.netlinkOpen(null, NETLINK_NETFILTER);
  try {
    a.netlinkSend(fd, encodeMessage(nftType(NFT_MSG_GETGEN), NLM_F_REQUEST | NLM_F_ACK, 1, nfgenmsg(0)));
    const reply = a.netlinkRecv(fd);
    return reply !== null && decodeMessages(reply)[0]?.type === nftType(NFT_MSG_NEWGEN);
  } finally {
    a.netlinkClose(fd);
  }
}

export interface RuleSelection {
  family: NftFamily;
  table: string;
  /** one chain of the table; none: all of them */
  chain?: string;
}

const ATTEMPTS = 4;

/**
 * Lists the selections, deletes every rule `pick` chooses (plus whatever `more` adds to the batch), all in one
 * transaction; when a chosen rule vanished meanwhile (ENOENT: a concurrent DEL or flush), lists again and retries.
 * Returns the rules deleted.
 */
export async function deleteRulesWhere(
  nsPath: string | null | undefined,
  selections: RuleSelection[],
  pick: (r: ListedRule) => boolean,
  more?: (b: Batch, listed: ListedRule[]) => void,
): Promise<ListedRule[]> {
  return withNft(nsPath, async (s) => {
    for (let attempt = 1; ; attempt++) {
      const listed = (await Promise.all(selections.map((x) => listRules(s, x.family, x.table, x.chain)))).flat();
      const chosen = listed.filter(pick);
      const b = new Batch();
      for (const r of chosen) b.deleteRule({ family: r.family, table: r.table, chain: r.chain, handle: r.handle });
      more?.(b, listed);
      try {
        await s.commit(b.ops);
        return chosen;
      } catch (e) {
        if (!isErrno(e, 'ENOENT') || attempt >= ATTEMPTS) throw e;
      }
    }
  });
}

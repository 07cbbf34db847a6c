// macspoofchk: nftables rules (family bridge) that let only the container's MAC out of its bridge port,
// laid out as the reference's pkg/link/spoofcheck.go so either implementation can remove the other's rules.
//   table bridge nat; chain PREROUTING (filter, hook prerouting, priority -300, policy accept) — never deleted
//   PREROUTING:                 iifname "<hostveth>" jump cni-br-iface-<id>
//   cni-br-iface-<id>:          jump cni-br-iface-<id>-mac
//   cni-br-iface-<id>-mac:      ether saddr <mac> return; drop
// every rule commented `macspoofchk-<id>`, id = `<containerID>-<ifname>`. Written over netlink (host/firewall/nft).
import { isErrno } from '../../net/nl/error.ts';
import {
  Batch,
  listChains,
  listRules,
  rule,
  withNft,
  type ListedChain,
  type ListedRule,
  type NftSocket,
} from '../../firewall/nft/index.ts';
import { annotate } from '../../errors.ts';
import type { Link } from '../../net/link.ts';
import { attachmentId } from './config.ts';
import { taggedFor } from './owner.ts';

const TABLE = 'nat';
const BASE_CHAIN = 'PREROUTING';
const COMMENT_PREFIX = 'macspoofchk-';
const ATTEMPTS = 4;

export const spoofCheckChain = (attachment: string): string => `cni-br-iface-${attachment}`;
export const spoofCheckComment = (attachment: string): string => `${COMMENT_PREFIX}${attachment}`;

/** The set-up transaction: table/chains declared (idempotent), the attachment's chains flushed and refilled. */
export function spoofCheckBatch(hostVeth: string, mac: string, attachment: string): Batch {
  const chain = spoofCheckChain(attachment);
  const macChain = `${chain}-mac`;
  const comment = spoofCheckComment(attachment);
  const ref = (name: string) => ({ family: 'bridge' as const, table: TABLE, name });
  return new Batch()
    .addTable({ family: 'bridge', name: TABLE })
    .addChain({ ...ref(BASE_CHAIN), base: { type: 'filter', hook: 'prerouting', priority: -300, policy: 'accept' } })
    .addChain(ref(chain))
    .addChain(ref(macChain))
    .flushChain(ref(chain))
    .flushChain(ref(macChain))
    .addRule(rule('bridge', TABLE, BASE_CHAIN).iifname(hostVeth).verdict('jump', chain).comment(comment).build())
    .addRule(rule('bridge', TABLE, chain).verdict('jump', macChain).comment(comment).build())
    .addRule(rule('bridge', TABLE, macChain).etherSaddr(mac).verdict('return').comment(comment).build())
    .addRule(rule('bridge', TABLE, macChain).verdict('drop').comment(comment).build());
}

/** One transaction over netlink in the namespace at nsPath (none: this process's). */
export async function setupSpoofCheck(
  hostVeth: string,
  mac: string,
  attachment: string,
  nsPath?: string | null,
): Promise<void> {
  try {
    await withNft(nsPath, (s) => s.commit(spoofCheckBatch(hostVeth, mac, attachment).ops));
  } catch (e) {
    throw annotate(e, 'failed to setup spoof-check');
  }
}

/**
 * Removes the PREROUTING jump(s) (found by comment) and both chains, in one transaction. Idempotent: finds
 * nothing to do when they are gone. Works without the host veth name or MAC (only the attachment id).
 */
export async function teardownSpoofCheck(attachment: string, nsPath?: string | null): Promise<void> {
  try {
    await withNft(nsPath, (s) => retrying(s, (b, seen) => teardownOps(b, seen, attachment)));
  } catch (e) {
    throw annotate(e, 'failed to teardown spoof-check');
  }
}

interface Seen {
  rules: ListedRule[];
  chains: ListedChain[];
}

/** Lists the table, lets fill() build the transaction, commits; lists again when something vanished meanwhile. */
async function retrying(s: NftSocket, fill: (b: Batch, seen: Seen) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const [rules, chains] = await Promise.all([listRules(s, 'bridge', TABLE), listChains(s, 'bridge', TABLE)]);
    const b = new Batch();
    fill(b, { rules, chains });
    try {
      return await s.commit(b.ops);
    } catch (e) {
      if (!isErrno(e, 'ENOENT') || attempt >= ATTEMPTS) throw e;
    }
  }
}

/** What removes one attachment's spoof check: its PREROUTING jump(s), then its two chains (with their rules). */
function teardownOps(b: Batch, seen: Seen, attachment: string): void {
  const chain = spoofCheckChain(attachment);
  const comment = spoofCheckComment(attachment);
  for (const r of seen.rules)
    if (r.chain === BASE_CHAIN && r.comment === comment)
      b.deleteRule({ family: 'bridge', table: TABLE, chain: BASE_CHAIN, handle: r.handle });
  const present = new Set(seen.chains.map((c) => c.name));
  for (const c of [chain, `${chain}-mac`])
    if (present.has(c)) b.deleteChain({ family: 'bridge', table: TABLE, name: c });
}

export interface SpoofCheckGcArgs {
  network: string;
  /** cni.dev/valid-attachments: their spoof checks are kept. */
  validAttachments: Array<{ containerID: string; ifname: string }>;
  /** The host namespace's links (a PREROUTING jump names its host veth); read after the rules, so that a veth
   * missing from it was really gone, not made (with its rules) after the listing. */
  listHostLinks: () => Promise<Link[]>;
  /** The namespace whose nftables rules are collected (none: this process's). */
  nsPath?: string | null;
}

/**
 * GC (spec 1.1): removes the spoof checks of attachments not in validAttachments that are this network's (their
 * host veth is tagged for it, owner.ts) or dead (their host veth is gone, or no jump leads to them: whichever
 * network made them, they filter nothing). The rules carry no network name, so a live veth without our tag (made
 * by the reference) or tagged for another network keeps its rules. One batch; if that fails (something changed
 * meanwhile), each attachment is torn down on its own and the errors are reported together.
 */
export async function gcSpoofChecks(a: SpoofCheckGcArgs): Promise<void> {
  await withNft(a.nsPath, async (s) => {
    const rules = await listRules(s, 'bridge', TABLE);
    const valid = new Set(a.validAttachments.map((v) => attachmentId(v.containerID, v.ifname)));
    const jumps = new Map<string, ListedRule[]>();
    for (const r of rules) {
      if (!r.comment?.startsWith(COMMENT_PREFIX)) continue;
      const id = r.comment.slice(COMMENT_PREFIX.length);
      if (valid.has(id)) continue;
      if (!jumps.has(id)) jumps.set(id, []);
      if (r.chain === BASE_CHAIN) jumps.get(id)!.push(r);
    }
    if (jumps.size === 0) return;
    const hostLinks = new Map((await a.listHostLinks()).map((l) => [l.name, l]));
    const stale = [...jumps]
      .filter(([id, entries]) =>
        entries.every((jump) => {
          const veth = iifnameOf(jump);
          if (veth === undefined) return false;
          const link = hostLinks.get(veth);
          return link === undefined || taggedFor(link, a.network, id);
        }),
      )
      .map(([id]) => id);
    if (stale.length === 0) return;
    try {
      await retrying(s, (b, seen) => {
        for (const id of stale) teardownOps(b, seen, id);
      });
    } catch {
      const errors: string[] = [];
      for (const id of stale) await teardownSpoofCheck(id, a.nsPath).catch((e: Error) => errors.push(e.message));
      if (errors.length) throw new Error(errors.join('; '));
    }
  });
}

/** The host veth a PREROUTING jump matches (`iifname "<veth>"`): the cmp after `meta iifname`. */
function iifnameOf(r: ListedRule): string | undefined {
  const i = r.exprs.findIndex((e) => e.type === 'meta' && e.key === 'iifname');
  const cmp = r.exprs[i + 1];
  if (i < 0 || cmp?.type !== 'cmp') return undefined;
  const nul = cmp.data.indexOf(0);
  return cmp.data.toString('utf8', 0, nul < 0 ? cmp.data.length : nul);
}

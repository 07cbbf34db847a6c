// macspoofchk: nftables rules (family bridge) that let only the container's MAC out of its bridge port,
// laid out as the reference's pkg/link/spoofcheck.go so either implementation can remove the other's rules.
//   table bridge nat; chain PREROUTING (filter, hook prerouting, priority -300, policy accept) — never deleted
//   PREROUTING:                 iifname "<hostveth>" jump cni-br-iface-<id>
//   cni-br-iface-<id>:          jump cni-br-iface-<id>-mac
//   cni-br-iface-<id>-mac:      ether saddr <mac> return; drop
// every rule commented `macspoofchk-<id>`, id = `<containerID>-<ifname>`.
import { annotate } from '../../errors.ts';
import { applyNft, listNftTable, nftString, type NftRule } from '../../firewall/nft.ts';
import type { Link } from '../../net/link.ts';
import { attachmentId } from './config.ts';
import { taggedFor } from './owner.ts';

const TABLE = 'nat';
const BASE_CHAIN = 'PREROUTING';
const COMMENT_PREFIX = 'macspoofchk-';

export const spoofCheckChain = (attachment: string): string => `cni-br-iface-${attachment}`;
export const spoofCheckComment = (attachment: string): string => `${COMMENT_PREFIX}${attachment}`;

/** One nft batch: table/chains declared (idempotent), the attachment's chains flushed and refilled. */
export async function setupSpoofCheck(hostVeth: string, mac: string, attachment: string): Promise<void> {
  const chain = spoofCheckChain(attachment);
  const macChain = `${chain}-mac`;
  const comment = `comment ${nftString(spoofCheckComment(attachment))}`;
  try {
    await applyNft([
      `add table bridge ${TABLE}`,
      `add chain bridge ${TABLE} ${BASE_CHAIN} { type filter hook prerouting priority -300; policy accept; }`,
      `add chain bridge ${TABLE} ${chain}`,
      `add chain bridge ${TABLE} ${macChain}`,
      `flush chain bridge ${TABLE} ${chain}`,
      `flush chain bridge ${TABLE} ${macChain}`,
      `add rule bridge ${TABLE} ${BASE_CHAIN} iifname ${nftString(hostVeth)} jump ${chain} ${comment}`,
      `add rule bridge ${TABLE} ${chain} jump ${macChain} ${comment}`,
      `add rule bridge ${TABLE} ${macChain} ether saddr ${mac} return ${comment}`,
      `add rule bridge ${TABLE} ${macChain} drop ${comment}`,
    ]);
  } catch (e) {
    throw annotate(e, 'failed to setup spoof-check');
  }
}

/**
 * Removes the PREROUTING jump(s) (found by comment) and both chains, in one batch. Idempotent: finds
 * nothing to do when they are gone. Works without the host veth name or MAC (only the attachment id).
 */
export async function teardownSpoofCheck(attachment: string): Promise<void> {
  const rules = await listNftTable('bridge', TABLE);
  if (!rules) return;
  const { cmds, unlisted } = teardownCommands(rules, attachment);
  try {
    await applyNft(cmds);
  } catch (e) {
    throw annotate(e, 'failed to teardown spoof-check');
  }
  for (const c of unlisted) await applyNft([`delete chain bridge ${TABLE} ${c}`]).catch(() => undefined);
}

/**
 * What removes one attachment's spoof check, from a listing of the table: its PREROUTING jump(s) and the chains
 * that hold rules; `unlisted` are its chains the listing cannot show (a chain is listed only through its rules),
 * for the caller to try on their own.
 */
function teardownCommands(rules: NftRule[], attachment: string): { cmds: string[]; unlisted: string[] } {
  const chain = spoofCheckChain(attachment);
  const comment = spoofCheckComment(attachment);
  const cmds = rules
    .filter((r) => r.chain === BASE_CHAIN && r.comment === comment)
    .map((r) => `delete rule bridge ${TABLE} ${BASE_CHAIN} handle ${r.handle}`);
  const present = new Set(rules.map((r) => r.chain));
  const unlisted: string[] = [];
  for (const c of [chain, `${chain}-mac`]) {
    if (present.has(c)) cmds.push(`delete chain bridge ${TABLE} ${c}`);
    else unlisted.push(c);
  }
  return { cmds, unlisted };
}

export interface SpoofCheckGcArgs {
  network: string;
  /** cni.dev/valid-attachments: their spoof checks are kept. */
  validAttachments: Array<{ containerID: string; ifname: string }>;
  /** The host namespace's links (a PREROUTING jump names its host veth); read after the rules, so that a veth
   * missing from it was really gone, not made (with its rules) after the listing. */
  listHostLinks: () => Promise<Link[]>;
}

/**
 * GC (spec 1.1): removes the spoof checks of attachments not in validAttachments that are this network's (their
 * host veth is tagged for it, owner.ts) or dead (their host veth is gone, or no jump leads to them: whichever
 * network made them, they filter nothing). The rules carry no network name, so a live veth without our tag (made
 * by the reference) or tagged for another network keeps its rules. One batch; if that fails (something changed
 * meanwhile), each attachment is torn down on its own and the errors are reported together.
 */
export async function gcSpoofChecks(a: SpoofCheckGcArgs): Promise<void> {
  const rules = await listNftTable('bridge', TABLE);
  if (!rules) return;
  const valid = new Set(a.validAttachments.map((v) => attachmentId(v.containerID, v.ifname)));
  const jumps = new Map<string, NftRule[]>();
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
    await applyNft(stale.flatMap((id) => teardownCommands(rules, id).cmds));
  } catch {
    const errors: string[] = [];
    for (const id of stale) await teardownSpoofCheck(id).catch((e: Error) => errors.push(e.message));
    if (errors.length) throw new Error(errors.join('; '));
  }
}

/** The host veth a PREROUTING jump matches (`iifname "<veth>"`), from its nft JSON. */
function iifnameOf(rule: NftRule): string | undefined {
  for (const e of rule.expr) {
    const m = (e as { match?: { left?: { meta?: { key?: string } }; right?: unknown } }).match;
    if (m?.left?.meta?.key === 'iifname' && typeof m.right === 'string') return m.right;
  }
  return undefined;
}

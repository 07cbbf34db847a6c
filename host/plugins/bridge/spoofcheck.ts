// macspoofchk: nftables rules (family bridge) that let only the container's MAC out of its bridge port,
// laid out as the reference's pkg/link/spoofcheck.go so either implementation can remove the other's rules.
//   table bridge nat; chain PREROUTING (filter, hook prerouting, priority -300, policy accept) — never deleted
//   PREROUTING:                 iifname "<hostveth>" jump cni-br-iface-<id>
//   cni-br-iface-<id>:          jump cni-br-iface-<id>-mac
//   cni-br-iface-<id>-mac:      ether saddr <mac> return; drop
// every rule commented `macspoofchk-<id>`, id = `<containerID>-<ifname>`.
import { applyNft, listNftTable, nftString } from '../../firewall/nft.ts';

const TABLE = 'nat';
const BASE_CHAIN = 'PREROUTING';

export const spoofCheckChain = (attachment: string): string => `cni-br-iface-${attachment}`;
export const spoofCheckComment = (attachment: string): string => `macspoofchk-${attachment}`;

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
    throw new Error(`failed to setup spoof-check: ${(e as Error).message}`);
  }
}

/**
 * Removes the PREROUTING jump(s) (found by comment) and both chains, in one batch. Idempotent: finds
 * nothing to do when they are gone. Works without the host veth name or MAC (only the attachment id).
 */
export async function teardownSpoofCheck(attachment: string): Promise<void> {
  const chain = spoofCheckChain(attachment);
  const macChain = `${chain}-mac`;
  const comment = spoofCheckComment(attachment);
  const rules = await listNftTable('bridge', TABLE);
  if (!rules) return;
  const cmds = rules
    .filter((r) => r.chain === BASE_CHAIN && r.comment === comment)
    .map((r) => `delete rule bridge ${TABLE} ${BASE_CHAIN} handle ${r.handle}`);
  const present = new Set(rules.map((r) => r.chain));
  // A chain is listed only through its rules; an empty leftover chain is tried in a batch of its own.
  for (const c of [chain, macChain]) if (present.has(c)) cmds.push(`delete chain bridge ${TABLE} ${c}`);
  try {
    await applyNft(cmds);
  } catch (e) {
    throw new Error(`failed to teardown spoof-check: ${(e as Error).message}`);
  }
  for (const c of [chain, macChain]) {
    if (!present.has(c)) await applyNft([`delete chain bridge ${TABLE} ${c}`]).catch(() => undefined);
  }
}

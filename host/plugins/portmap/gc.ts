// GC (spec 1.1, beyond the reference, whose portmap has none): remove the iptables rules of this network's
// attachments that are not in cni.dev/valid-attachments. Pods are found by the entry rules' comment
// `dnat name: "<net>" id: "<cid>"` in CNI-HOSTPORT-DNAT. The nftables rules carry only the container ID (no
// network), so they cannot be attributed to a network and are left alone.
import { validAttachmentsOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { removeRules } from '../../firewall/ensure.ts';
import { iptablesInstalled, listChain, splitSaveLine } from '../../firewall/iptables.ts';
import { dnatChainName, dnatComment, TOP_LEVEL_DNAT_CHAIN } from './chains.ts';

export async function cmdGc(a: CmdArgs): Promise<void> {
  const network = a.name;
  const keep = new Set(validAttachmentsOf(a).map((v) => dnatChainName(network, v.containerID)));
  for (const family of [4, 6] as const) {
    if (!iptablesInstalled(family)) continue;
    const entries = (await listChain(family, 'nat', TOP_LEVEL_DNAT_CHAIN).catch(() => null)) ?? [];
    const stale = new Set<string>();
    for (const line of entries) {
      const tokens = splitSaveLine(line);
      const comment = tokens[tokens.indexOf('--comment') + 1];
      const target = tokens[tokens.length - 1]!;
      const cid = comment ? containerIdOf(comment, network) : undefined;
      // the chain name must match the comment, so a rule of another network with a look-alike comment is never hit
      if (cid !== undefined && target === dnatChainName(network, cid) && !keep.has(target)) stale.add(target);
    }
    if (stale.size === 0) continue;
    await removeRules({
      family,
      table: 'nat',
      chains: [...stale],
      entryRules: [],
      scanForJumps: [TOP_LEVEL_DNAT_CHAIN],
    });
  }
}

/** The container ID in an entry-rule comment of `network`, or undefined (other network, truncated comment). */
function containerIdOf(comment: string, network: string): string | undefined {
  const head = `dnat name: "${network}" id: "`;
  if (!comment.startsWith(head) || !comment.endsWith('"')) return undefined;
  const cid = comment.slice(head.length, -1);
  return dnatComment(network, cid) === comment ? cid : undefined;
}

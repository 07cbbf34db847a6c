// Which firewall backend to use when a config does not say, decided as the reference does (iptables unless it is
// unusable and nftables is usable) but by looking for the tools on disk instead of running them, so that choosing
// costs no process start on the ADD path. A broken-but-installed iptables then fails loudly in the transaction.
import { iptablesInstalled } from './iptables.ts';
import { nftablesUsable } from './nftables.ts';

export type Backend = 'iptables' | 'nftables';

export function defaultBackend(): Backend {
  return !iptablesInstalled(4) && nftablesUsable() ? 'nftables' : 'iptables';
}

/** Whether a backend can be used (the reference's SupportsIPTables / SupportsNFTables, without exec): iptables'
 * tools are present, or the kernel answers nf_tables over netlink (no `nft` executable needed). */
export function backendAvailable(b: Backend): boolean {
  return b === 'iptables' ? iptablesInstalled(4) : nftablesUsable();
}

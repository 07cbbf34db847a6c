// Moved below the kubelet layer: the rules are written by host/firewall/dedup.ts (nf_tables over netlink).
export * from '../firewall/dedup.ts';

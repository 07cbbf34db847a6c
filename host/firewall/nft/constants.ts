// nf_tables numbers from the Linux UAPI headers (linux/netfilter/nfnetlink.h, nf_tables.h, netfilter.h), only
// those host/firewall/nft uses. Integer attributes of nf_tables are big-endian on the wire.

export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNETLINK_V0 = 0;
export const NFNL_MSG_BATCH_BEGIN = 16;
export const NFNL_MSG_BATCH_END = 17;

export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_GETTABLE = 1;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWGEN = 15;
export const NFT_MSG_GETGEN = 16;

/** nlmsg_type of an nf_tables message. */
export const nftType = (msg: number): number => (NFNL_SUBSYS_NFTABLES << 8) | msg;

export const NFPROTO = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
export type NftFamily = keyof typeof NFPROTO;
export const familyName = (n: number): NftFamily | undefined =>
  (Object.keys(NFPROTO) as NftFamily[]).find((k) => NFPROTO[k] === n);

export const NFTA_LIST_ELEM = 1;

export const NFTA_TABLE_NAME = 1;
export const NFTA_TABLE_FLAGS = 2;
export const NFTA_TABLE_USE = 3;
export const NFTA_TABLE_HANDLE = 4;
export const NFTA_TABLE_USERDATA = 6;

export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_HANDLE = 2;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;
export const NFTA_CHAIN_USE = 6;
export const NFTA_CHAIN_TYPE = 7;
export const NFTA_CHAIN_FLAGS = 10;
export const NFTA_CHAIN_USERDATA = 12;
export const NFTA_HOOK_HOOKNUM = 1;
export const NFTA_HOOK_PRIORITY = 2;

export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_HANDLE = 3;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_RULE_POSITION = 6;
export const NFTA_RULE_USERDATA = 7;

export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;

export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;

export const NFTA_GEN_ID = 1;

/** libnftnl's user-data TLV type for a comment (the same number for tables, chains and rules). */
export const NFTNL_UDATA_COMMENT = 0;
export const NFT_USERDATA_MAXLEN = 256;

// registers: nft uses the 16-byte registers for our expressions
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;

// verdicts (NF_DROP/NF_ACCEPT from netfilter.h)
export const VERDICT = { drop: 0, accept: 1, continue: -1, break: -2, jump: -3, goto: -4, return: -5 } as const;
export type VerdictKind = keyof typeof VERDICT;

// hooks (NF_INET_* and NF_BR_* share these numbers)
export const HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
export type HookName = keyof typeof HOOK;

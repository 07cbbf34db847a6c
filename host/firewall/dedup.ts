// promiscuous-bridge mode's de-duplication rules (kubernetes v1.23
// pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go, syncEbtablesDedupRules). With cbr0 promiscuous, the bridge
// would hand pods copies of frames that appear to come from the bridge MAC with a pod-range source; only the
// gateway's own traffic may leave towards the veths. The kubelet runs `ebtables`; we write the same rules in
// ebtables-nft's layout (`bridge filter`, chain KUBE-DEDUP jumped to from OUTPUT) as one nf_tables transaction over
// netlink, and skip everything when ebtables is not installed, as the kubelet does.
import { familyOf } from '../core/index.ts';
import { accessSync, constants } from 'node:fs';
import { nftablesUsable } from './nftables.ts';
import { Batch, getChain, listChains, listRules, rule, withNft } from './nft/index.ts';

export const DEDUP_CHAIN = 'KUBE-DEDUP';
const T = 'filter';

export function ebtablesInstalled(): boolean {
  for (const d of ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin']) {
    try {
      accessSync(`${d}/ebtables`, constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

export interface DedupPair {
  gateway: string;
  subnet: string;
}

/** The ebtables argument text of each rule (kept as the nft rule comment, which is how a rule is found again). */
export function dedupRuleArgs(mac: string, p: DedupPair): { accept: string; drop: string } {
  const v6 = familyOf(p.gateway) === 6;
  const fam = v6 ? 'IPv6' : 'IPv4';
  const src = v6 ? '--ip6-src' : '--ip-src';
  return {
    accept: `-p ${fam} -s ${mac} -o veth+ ${src} ${p.gateway} -j ACCEPT`,
    drop: `-p ${fam} -s ${mac} -o veth+ ${src} ${p.subnet} -j DROP`,
  };
}

/** `ether type ip|ip6 ether saddr <mac> oifname "veth*" ip|ip6 saddr <addr> counter <verdict>` */
const dedupRule = (chain: string, mac: string, addr: string, verdict: 'accept' | 'drop', comment: string) =>
  rule('bridge', T, chain)
    .etherTypeAndSaddr(familyOf(addr) === 6 ? 'ip6' : 'ip', mac)
    .oifnamePrefix('veth')
    .addr('saddr', addr)
    .counter()
    .verdict(verdict)
    .comment(comment)
    .build();

/** Makes the chain, the OUTPUT jump and the per-range rules exist (adding only what is missing), in one transaction. */
export async function syncDedupRules(
  mac: string,
  pairs: readonly DedupPair[],
  chain = DEDUP_CHAIN,
  nsPath?: string | null,
): Promise<boolean> {
  if (!ebtablesInstalled() || !nftablesUsable()) return false;
  await withNft(nsPath, async (s) => {
    const output = await listRules(s, 'bridge', T, 'OUTPUT');
    const have = new Set((await listRules(s, 'bridge', T, chain)).map((r) => r.comment ?? ''));
    const jump = `-j ${chain}`;
    const b = new Batch()
      .addTable({ family: 'bridge', name: T })
      .addChain({
        family: 'bridge',
        table: T,
        name: 'OUTPUT',
        base: { type: 'filter', hook: 'output', priority: -200, policy: 'accept' },
      })
      .addChain({ family: 'bridge', table: T, name: chain });
    if (!output.some((r) => r.comment === jump))
      b.addRule(rule('bridge', T, 'OUTPUT').counter().verdict('jump', chain).comment(jump).build());
    for (const p of pairs) {
      const a = dedupRuleArgs(mac, p);
      if (!have.has(a.accept)) b.insertRule(dedupRule(chain, mac, p.gateway, 'accept', a.accept));
      if (!have.has(a.drop)) b.addRule(dedupRule(chain, mac, p.subnet, 'drop', a.drop));
      have.add(a.accept);
      have.add(a.drop);
    }
    await s.commit(b.ops);
  });
  return true;
}

/** The rules' comments (their ebtables text), or null when the chain does not exist. */
export async function listDedupRules(chain = DEDUP_CHAIN, nsPath?: string | null): Promise<string[] | null> {
  if (!nftablesUsable()) return null;
  return withNft(nsPath, async (s) => {
    if ((await getChain(s, 'bridge', T, chain)) === null) return null;
    return (await listRules(s, 'bridge', T, chain)).map((r) => r.comment ?? '');
  });
}

/** Removes the chain and the jump to it (node teardown), and the table when nothing else is left in it. */
export async function removeDedupRules(chain = DEDUP_CHAIN, nsPath?: string | null): Promise<void> {
  if (!nftablesUsable()) return;
  await withNft(nsPath, async (s) => {
    const chains = await listChains(s, 'bridge', T);
    if (chains.length === 0) return;
    const output = await listRules(s, 'bridge', T, 'OUTPUT');
    const jumps = output.filter((r) => r.comment === `-j ${chain}`);
    const b = new Batch();
    const others = chains.some((c) => c.name !== 'OUTPUT' && c.name !== chain);
    if (!others && output.length === jumps.length) b.deleteTable({ family: 'bridge', name: T });
    else {
      for (const r of jumps) b.deleteRule({ family: 'bridge', table: T, chain: 'OUTPUT', handle: r.handle });
      if (chains.some((c) => c.name === chain)) b.deleteChain({ family: 'bridge', table: T, name: chain });
    }
    await s.commit(b.ops);
  });
}

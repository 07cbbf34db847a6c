// promiscuous-bridge mode's de-duplication rules (kubernetes v1.23
// pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go, syncEbtablesDedupRules). With cbr0 promiscuous, the bridge
// would hand pods copies of frames that appear to come from the bridge MAC with a pod-range source; only the gateway's
// own traffic may leave towards the veths. The kubelet runs `ebtables`; we write the same rules in ebtables-nft's
// layout (`bridge filter`, chain KUBE-DEDUP jumped to from OUTPUT) with one `nft` batch through host/firewall, and skip
// everything when ebtables is not installed, as the kubelet does.
import { familyOf } from '../core/index.ts';
import { accessSync, constants } from 'node:fs';
import { applyNft, listNftChain, listNftTable, nftInstalled } from '../firewall/nft.ts';
import { runTool } from '../firewall/tools.ts';

export const DEDUP_CHAIN = 'KUBE-DEDUP';

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

function nftMatch(mac: string, addr: string): string {
  const v6 = familyOf(addr) === 6;
  return `ether type ${v6 ? 'ip6' : 'ip'} ether saddr ${mac} oifname "veth*" ${v6 ? 'ip6' : 'ip'} saddr ${addr}`;
}

/** Makes the chain, the OUTPUT jump and the per-range rules exist (adding only what is missing). */
export async function syncDedupRules(mac: string, pairs: readonly DedupPair[], chain = DEDUP_CHAIN): Promise<boolean> {
  if (!ebtablesInstalled() || !nftInstalled()) return false;
  await applyNft([
    'add table bridge filter',
    'add chain bridge filter OUTPUT { type filter hook output priority -200; policy accept; }',
    `add chain bridge filter ${chain}`,
  ]);
  const output = (await listNftChain('bridge', 'filter', 'OUTPUT')) ?? [];
  const have = new Set(((await listNftChain('bridge', 'filter', chain)) ?? []).map((r) => r.comment ?? ''));
  const cmds: string[] = [];
  const jump = `-j ${chain}`;
  if (!output.some((r) => r.comment === jump))
    cmds.push(`add rule bridge filter OUTPUT counter jump ${chain} comment "${jump}"`);
  for (const p of pairs) {
    const a = dedupRuleArgs(mac, p);
    if (!have.has(a.accept))
      cmds.push(`insert rule bridge filter ${chain} ${nftMatch(mac, p.gateway)} counter accept comment "${a.accept}"`);
    if (!have.has(a.drop))
      cmds.push(`add rule bridge filter ${chain} ${nftMatch(mac, p.subnet)} counter drop comment "${a.drop}"`);
    have.add(a.accept);
    have.add(a.drop);
  }
  await applyNft(cmds);
  return true;
}

/** The rules' comments (their ebtables text), or null when the chain does not exist. */
export async function listDedupRules(chain = DEDUP_CHAIN): Promise<string[] | null> {
  if (!nftInstalled()) return null;
  const rules = await listNftChain('bridge', 'filter', chain);
  return rules ? rules.map((r) => r.comment ?? '') : null;
}

/** Removes the chain and the jump to it (node teardown). */
export async function removeDedupRules(chain = DEDUP_CHAIN): Promise<void> {
  if (!nftInstalled()) return;
  const output = await listNftChain('bridge', 'filter', 'OUTPUT');
  const cmds = (output ?? [])
    .filter((r) => r.comment === `-j ${chain}`)
    .map((r) => `delete rule bridge filter OUTPUT handle ${r.handle}`);
  if ((await listNftChain('bridge', 'filter', chain)) !== null)
    cmds.push(`flush chain bridge filter ${chain}`, `delete chain bridge filter ${chain}`);
  await applyNft(cmds);
  // the table was only there for us when nothing else is left in it
  const rest = await listNftTable('bridge', 'filter');
  if (rest !== null && rest.length === 0 && !(await hasOtherChains(chain)))
    await applyNft(['delete table bridge filter']);
}

async function hasOtherChains(ours: string): Promise<boolean> {
  const r = await runTool('nft', ['-j', 'list', 'table', 'bridge', 'filter']);
  if (r.code !== 0) return false;
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ chain?: { name: string } }> };
  return doc.nftables.some((o) => o.chain && o.chain.name !== 'OUTPUT' && o.chain.name !== ours);
}

// iptables has two kernel back ends, legacy (x_tables) and nf_tables, and rules written through one are
// invisible to the other's tools. Our plugins write through whatever `iptables` is; kube-proxy (iptables mode)
// through its own binary. They must agree, or e.g. kube-proxy's masquerade marks and our portmap DNAT chains
// end up in separate rule sets. kube-proxy's back end is read from where its chains are (and the kubelet's
// KUBE-IPTABLES-HINT); kube-proxy's nftables mode keeps a `kube-proxy` nft table instead.
import type { Report } from './findings.ts';
import type { NodeProbes } from './probes.ts';

export type IptablesBackend = 'legacy' | 'nft';

/** Chains kube-proxy (iptables mode) or the kubelet create; not ours (KUBE-DEDUP is the kubenet layer's). */
const KUBE_CHAINS =
  /^:(KUBE-SERVICES|KUBE-POSTROUTING|KUBE-FORWARD|KUBE-NODEPORTS|KUBE-PROXY-CANARY|KUBE-MARK-MASQ|KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY|KUBE-FIREWALL) /gm;

export function kubeChains(save: string): string[] {
  return [...new Set([...save.matchAll(KUBE_CHAINS)].map((m) => m[1]!))].sort();
}

export function backendOfVersion(version: string): IptablesBackend {
  return /\(nf_tables\)/.test(version) ? 'nft' : 'legacy';
}

export async function checkIptablesMode(report: Report, probes: NodeProbes): Promise<void> {
  const version = await probes.run('iptables', ['--version']);
  if (version?.code !== 0) {
    report.add(
      'iptables',
      'warn',
      'iptables is not installed: bridge ipMasq and portmap need it (or their nftables back end)',
      'apt-get install iptables',
    );
    return;
  }
  const ours = backendOfVersion(version.stdout);
  report.add(
    'iptables',
    'info',
    `${version.stdout.trim()}: our plugins write ${ours === 'nft' ? 'nf_tables' : 'legacy'} rules`,
  );
  const seen: Record<IptablesBackend, string[]> = { legacy: [], nft: [] };
  for (const b of ['legacy', 'nft'] as const) {
    const save = await probes.run(`iptables-${b}-save`, []);
    if (save && save.code === 0) seen[b] = kubeChains(save.stdout);
  }
  const tables = await probes.run('nft', ['list', 'tables']);
  const nftMode = !!tables && /^table (ip|ip6|inet) kube-proxy$/m.test(tables.stdout);
  const withChains = (['legacy', 'nft'] as const).filter((b) => seen[b].length > 0);
  const switchTo = (b: IptablesBackend) =>
    `update-alternatives --set iptables /usr/sbin/iptables-${b} && update-alternatives --set ip6tables /usr/sbin/ip6tables-${b}`;
  if (withChains.length === 2) {
    report.add(
      'iptables',
      'warn',
      `kube chains in both back ends (legacy: ${seen.legacy.join(' ')}; nft: ${seen.nft.join(' ')}): one set is stale, from an earlier kube-proxy or kubelet`,
      `flush the back end kube-proxy does not use (iptables-<legacy|nft>-save shows each), e.g. run kube-proxy --cleanup with it, or reboot`,
    );
  } else if (withChains.length === 1) {
    const theirs = withChains[0]!;
    report.add(
      'iptables',
      theirs === ours ? 'ok' : 'fail',
      theirs === ours
        ? `kube-proxy/kubelet chains are in the ${theirs} back end too (${seen[theirs].join(' ')})`
        : `kube-proxy/kubelet use iptables-${theirs} (${seen[theirs].join(' ')}) but iptables here is ${ours}: pod rules and Service rules end up in different rule sets`,
      theirs === ours ? undefined : switchTo(theirs),
    );
  } else if (nftMode) {
    report.add(
      'iptables',
      'info',
      'kube-proxy runs in nftables mode (table kube-proxy); our iptables rules coexist with it',
    );
  } else {
    report.add(
      'iptables',
      'info',
      'no kube-proxy or kubelet chains seen in either back end (kube-proxy not running here, or in ipvs mode)',
    );
  }
}

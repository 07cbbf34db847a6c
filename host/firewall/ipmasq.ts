// ipMasq for bridge (and kubenet): masquerade a container's traffic leaving its subnet, laid out exactly as the
// reference's pkg/ip/ipmasq_* so that either implementation can tear down what the other set up.
//
// iptables (nat table, per family):   -N CNI-<hash>
//   -A CNI-<hash> -d <subnet> -j ACCEPT -m comment --comment <c>
//   -A CNI-<hash> ! -d 224.0.0.0/4 (v6: ff00::/8) -j MASQUERADE -m comment --comment <c>
//   -A POSTROUTING -s <ip> -j CNI-<hash> -m comment --comment <c>
// nftables: table inet cni_plugins_masquerade, chain masq_checks (one rule per address, hashed comment),
//   base chain postrouting (flushed and refilled with the multicast returns and `goto masq_checks`); written
//   over netlink (./nft) as one transaction, no `nft` process.
import { errorMessage } from '../errors.ts';
import { ipNetText, networkText, parseIpNet, type IpNet } from './addr.ts';
import { backendAvailable, defaultBackend } from './backend.ts';
import { ensureRules, removeRules, type PlannedRule } from './ensure.ts';
import { iptablesInstalled, listChain, splitSaveLine, type IpFamily } from './iptables.ts';
import { Batch, rule, withNft } from './nft/index.ts';
import { readIptTable } from './iptview.ts';
import { deleteRulesWhere } from './nftables.ts';
import { chainName, hashWithPrefix, ipMasqComment } from './names.ts';

export interface IpMasqArgs {
  /** The network name (config `name`). */
  network: string;
  containerId: string;
  /** The container interface (used by the nftables backend's comments; iptables ignores it, as the reference). */
  ifName: string;
  /** The container's addresses with prefix, as in a result's ips[].address (e.g. "10.1.2.3/24"). */
  ips: string[];
  /** Default: iptables unless only nftables is installed (the reference's choice). */
  backend?: string;
  /** The network namespace whose nftables rules are written (none: this process's); iptables ignores it. */
  nsPath?: string | null;
}

export interface IpMasqTeardownArgs extends Omit<IpMasqArgs, 'backend' | 'ips'> {
  /** The addresses the rules were made for; when unknown (netns gone, no prevResult) the chains are found by name. */
  ips?: string[];
}

export const NFT_MASQ_TABLE = 'cni_plugins_masquerade';
export const NFT_MASQ_CHAIN = 'masq_checks';

/** The ipMasq chain name: `CNI-` + 24 hex of SHA-512(network + containerID). */
export const ipMasqChain = (network: string, containerId: string): string => chainName(network, containerId);

/** Sets up masquerading for the addresses; one transaction per family (iptables) or one batch (nftables). */
export async function setupIpMasq(a: IpMasqArgs): Promise<void> {
  const backend = a.backend ?? defaultBackend();
  const nets = a.ips.map(parseIpNet);
  switch (backend) {
    case 'iptables':
      for (const family of [4, 6] as const) {
        const mine = nets.filter((n) => n.family === family);
        if (mine.length) await ensureRules(iptablesPlan(family, mine, a.network, a.containerId));
      }
      return;
    case 'nftables':
      return withNft(a.nsPath, (s) => s.commit(nftSetupBatch(nets, a.network, a.ifName, a.containerId).ops));
    default:
      throw new Error(`unknown ipmasq backend "${backend}"`);
  }
}

/**
 * Removes what either backend set up for this attachment (like the reference, both are tried; a backend whose
 * tools are missing is skipped). Idempotent. Errors of both backends are joined with a newline.
 */
export async function teardownIpMasq(a: IpMasqTeardownArgs): Promise<void> {
  const errors: string[] = [];
  const nets = a.ips?.map(parseIpNet);
  for (const family of [4, 6] as const) {
    if (!iptablesInstalled(family)) continue;
    const mine = nets?.filter((n) => n.family === family);
    if (mine && mine.length === 0) continue;
    try {
      await removeRules(iptablesTeardownPlan(family, mine, a.network, a.containerId));
    } catch (e) {
      errors.push(errorMessage(e));
    }
  }
  if (backendAvailable('nftables')) {
    try {
      await teardownNft(a.nsPath, a.network, a.ifName, a.containerId);
    } catch (e) {
      errors.push(errorMessage(e));
    }
  }
  if (errors.length) throw new Error(errors.join('\n'));
}

function iptablesPlan(family: IpFamily, nets: IpNet[], network: string, containerId: string) {
  const chain = ipMasqChain(network, containerId);
  const comment = ['-m', 'comment', '--comment', ipMasqComment(network, containerId)];
  const multicast = family === 4 ? '224.0.0.0/4' : 'ff00::/8';
  const rules: PlannedRule[] = [];
  for (const n of nets) {
    rules.push({ chain, own: true, rule: ['-d', ipNetText(n), '-j', 'ACCEPT', ...comment] });
    rules.push({ chain, own: true, rule: ['!', '-d', multicast, '-j', 'MASQUERADE', ...comment] });
    rules.push({ chain: 'POSTROUTING', own: true, rule: ['-s', n.ip, '-j', chain, ...comment] });
  }
  return { family, table: 'nat', chains: [{ name: chain, own: true }], rules };
}

function iptablesTeardownPlan(family: IpFamily, nets: IpNet[] | undefined, network: string, containerId: string) {
  const chain = ipMasqChain(network, containerId);
  const comment = ['-m', 'comment', '--comment', ipMasqComment(network, containerId)];
  return {
    family,
    table: 'nat',
    chains: [chain],
    scanForJumps: ['POSTROUTING'],
    entryRules: (nets ?? []).map((n) => ({ chain: 'POSTROUTING', rule: ['-s', n.ip, '-j', chain, ...comment] })),
  };
}

const hashForNetwork = (network: string) => hashWithPrefix(16, '', network);
const hashForInstance = (network: string, ifName: string, containerId: string) =>
  `${hashForNetwork(network)}-${hashWithPrefix(16, '', `${ifName}:${containerId}`)}`;

/** The nftables rule comment: `<instance hash>, net: <n>, if: <if>, id: <cid>` without quotes, ≤ 128 bytes. */
export function nftMasqComment(network: string, ifName: string, containerId: string): string {
  const strip = (s: string) => s.replaceAll('"', '');
  const c = `${hashForInstance(network, ifName, containerId)}, net: ${strip(network)}, if: ${strip(ifName)}, id: ${strip(containerId)}`;
  return Buffer.from(c).length > 128 ? Buffer.from(c).subarray(0, 128).toString() : c;
}

const MASQ_SELECTION = { family: 'inet', table: NFT_MASQ_TABLE, chain: NFT_MASQ_CHAIN } as const;

/** The ADD transaction: table and chains declared (idempotent), `postrouting` refilled, one rule per address. */
export function nftSetupBatch(nets: IpNet[], network: string, ifName: string, containerId: string): Batch {
  const T = NFT_MASQ_TABLE;
  const comment = nftMasqComment(network, ifName, containerId);
  // No listing on ADD: a stale rule of the same attachment (an interrupted earlier ADD) is removed by its DEL,
  // which deletes every rule carrying this attachment's hash.
  const b = new Batch()
    .addTable({
      family: 'inet',
      name: T,
      comment: 'Masquerading for plugins from github.com/containernetworking/plugins',
    })
    .addChain({
      family: 'inet',
      table: T,
      name: NFT_MASQ_CHAIN,
      comment: 'Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet',
    })
    .addChain({
      family: 'inet',
      table: T,
      name: 'postrouting',
      base: { type: 'nat', hook: 'postrouting', priority: 100 },
    })
    .flushChain({ family: 'inet', table: T, name: 'postrouting' })
    .addRule(rule('inet', T, 'postrouting').addr('daddr', '224.0.0.0/4', 'eq', true).verdict('return').build())
    .addRule(rule('inet', T, 'postrouting').addr('daddr', 'ff00::/8', 'eq', true).verdict('return').build())
    .addRule(rule('inet', T, 'postrouting').verdict('goto', NFT_MASQ_CHAIN).build());
  for (const n of nets) {
    b.addRule(
      rule('inet', T, NFT_MASQ_CHAIN)
        .addr('saddr', n.ip, 'eq', true)
        .addr('daddr', networkText(n), 'neq')
        .masquerade()
        .comment(comment)
        .build(),
    );
  }
  return b;
}

async function teardownNft(nsPath: string | null | undefined, network: string, ifName: string, containerId: string) {
  const prefix = hashForInstance(network, ifName, containerId);
  await deleteRulesWhere(nsPath, [MASQ_SELECTION], (r) => r.comment?.startsWith(prefix) === true);
}

export interface IpMasqGcArgs {
  network: string;
  /** cni.dev/valid-attachments: everything else of this network is removed. */
  validAttachments: Array<{ containerID: string; ifname: string }>;
  /** The network namespace of the nftables rules (none: this process's). */
  nsPath?: string | null;
}

/**
 * GC (spec 1.1): removes this network's masquerade state whose attachment is not valid, in both backends.
 * iptables attachments are found by the POSTROUTING jumps' comment `name: "<net>" id: "<cid>"` (the chain name
 * must match it), nftables rules by their network-hash comment prefix (the reference's GC helper).
 */
export async function gcIpMasq(a: IpMasqGcArgs): Promise<void> {
  const errors: string[] = [];
  const keepChains = new Set(a.validAttachments.map((v) => ipMasqChain(a.network, v.containerID)));
  for (const family of [4, 6] as const) {
    if (!iptablesInstalled(family)) continue;
    try {
      const stale = new Set<string>();
      // iptables-nft: read POSTROUTING over netlink (no process); legacy: `iptables -S POSTROUTING`
      const view = await readIptTable(family, 'nat').catch(() => null);
      const jumps = view
        ? view.rules
            .filter((r) => r.chain === 'POSTROUTING')
            .map((r) => ({ comment: r.comment, target: r.target ?? '' }))
        : ((await listChain(family, 'nat', 'POSTROUTING')) ?? []).map((line) => {
            const t = splitSaveLine(line);
            return {
              comment: t.indexOf('--comment') < 0 ? undefined : t[t.indexOf('--comment') + 1],
              target: t[t.length - 1]!,
            };
          });
      for (const { comment, target } of jumps) {
        if (!comment || keepChains.has(target) || !target.startsWith('CNI-')) continue;
        const cid = containerIdOfComment(comment);
        if (cid !== undefined && ipMasqComment(a.network, cid) === comment && ipMasqChain(a.network, cid) === target)
          stale.add(target);
      }
      if (stale.size)
        await removeRules({ family, table: 'nat', chains: [...stale], entryRules: [], scanForJumps: ['POSTROUTING'] });
    } catch (e) {
      errors.push(errorMessage(e));
    }
  }
  if (backendAvailable('nftables')) {
    try {
      const valid = new Set(a.validAttachments.map((v) => nftMasqComment(a.network, v.ifname, v.containerID)));
      const prefix = `${hashForNetwork(a.network)}-`;
      await deleteRulesWhere(
        a.nsPath,
        [MASQ_SELECTION],
        (r) => r.comment?.startsWith(prefix) === true && !valid.has(r.comment!),
      );
    } catch (e) {
      errors.push(errorMessage(e));
    }
  }
  if (errors.length) throw new Error(errors.join('\n'));
}

/** The container ID inside `name: "<net>" id: "<cid>"` (Go-quoted), or undefined. */
function containerIdOfComment(comment: string): string | undefined {
  const m = /id: "((?:[^"\\]|\\.)*)"$/.exec(comment);
  if (!m) return undefined;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return undefined;
  }
}

// The nftables backend: tables `ip cni_hostport` / `ip6 cni_hostport`, rules tagged with the container ID as
// comment, laid out as the reference (v1.9.1), written over netlink (host/firewall/nft): ADD is one transaction
// for both families; DEL lists the tables and deletes this pod's rules by handle in one transaction; CHECK reads.
import type { IpNet } from '../../firewall/addr.ts';
import { applyConditions } from '../../firewall/nft/conditions.ts';
import { Batch, getChain, listRules, rule, withNft, type NftFamily } from '../../firewall/nft/index.ts';
import { deleteRulesWhere } from '../../firewall/nftables.ts';
import { mappingDestination, type PortMapConfig } from './config.ts';
import type { PortMapper } from './mapper.ts';

export const NFT_TABLE = 'cni_hostport';
const HOSTPORTS = 'hostports';
const HOSTIP_HOSTPORTS = 'hostip_hostports';
const HOSTPORTS_ALL = 'hostports_all';
const MASQUERADING = 'masquerading';
const POD_CHAINS = [HOSTPORTS, HOSTIP_HOSTPORTS, MASQUERADING];

/** The operations that set up one family for this pod (appended to b). */
export function forwardBatch(b: Batch, conf: PortMapConfig, containerId: string, cont: IpNet): Batch {
  const isV6 = cont.family === 6;
  const fam: NftFamily = isV6 ? 'ip6' : 'ip';
  const T = NFT_TABLE;
  const conditions = (isV6 ? conf.conditionsV6 : conf.conditionsV4) ?? [];
  const chain = (name: string) => ({ family: fam, table: T, name });
  const hookJump = (c: string) =>
    applyConditions(rule(fam, T, c), conditions)
      .fibDaddrLocal()
      .verdict('jump', HOSTPORTS_ALL)
      .build();
  b.addTable({ family: fam, name: T, comment: 'CNI portmap plugin' })
    .addChain(chain(HOSTPORTS))
    .addChain(chain(HOSTIP_HOSTPORTS))
    .addChain(chain(HOSTPORTS_ALL))
    .flushChain(chain(HOSTPORTS_ALL))
    .addRule(rule(fam, T, HOSTPORTS_ALL).verdict('jump', HOSTIP_HOSTPORTS).build())
    .addRule(rule(fam, T, HOSTPORTS_ALL).verdict('jump', HOSTPORTS).build())
    // dstnat = -100, srcnat = 100
    .addChain({ ...chain('prerouting'), base: { type: 'nat', hook: 'prerouting', priority: -100 } })
    .flushChain(chain('prerouting'))
    .addRule(hookJump('prerouting'))
    .addChain({ ...chain('output'), base: { type: 'nat', hook: 'output', priority: -100 } })
    .flushChain(chain('output'))
    .addRule(hookJump('output'));
  if (conf.snat) b.addChain({ ...chain(MASQUERADING), base: { type: 'nat', hook: 'postrouting', priority: 100 } });
  for (const e of conf.portMappings) {
    const hostIP = mappingDestination(e, cont.family);
    if (hostIP === null) continue;
    const r = rule(fam, T, HOSTPORTS);
    if (hostIP !== '') r.addr('daddr', hostIP);
    b.addRule(r.dport(e.protocol, e.hostPort).dnat(cont.ip, e.containerPort).comment(containerId).build());
  }
  if (conf.snat) {
    const masq = (src: string) =>
      rule(fam, T, MASQUERADING).addr('saddr', src).addr('daddr', cont.ip).masquerade().comment(containerId).build();
    b.addRule(masq(conf.masqAll ? (isV6 ? '::/0' : '0.0.0.0/0') : cont.ip));
    if (!isV6 && !conf.masqAll) b.addRule(masq('127.0.0.1'));
  }
  return b;
}

const containerAddrs = (conf: PortMapConfig) => [conf.contIPv4, conf.contIPv6].filter((x) => x !== undefined);

export const nftablesMapper: PortMapper = {
  async forward(conf, containerId) {
    try {
      const b = new Batch();
      for (const c of containerAddrs(conf)) forwardBatch(b, conf, containerId, c);
      await withNft(conf.nsPath, (s) => s.commit(b.ops));
    } catch (e) {
      throw new Error(`unable to set up nftables rules for port mappings: ${(e as Error).message}`);
    }
  },

  async unforward(conf, containerId) {
    try {
      await deleteRulesWhere(
        conf.nsPath,
        [
          { family: 'ip', table: NFT_TABLE },
          { family: 'ip6', table: NFT_TABLE },
        ],
        (r) => POD_CHAINS.includes(r.chain) && r.comment === containerId,
      );
    } catch (e) {
      throw new Error(`error deleting nftables rules: ${(e as Error).message}`);
    }
  },

  /** Enough rules with this pod's comment in `hostports` and (snat) `masquerading`, per address. */
  async check(conf, containerId) {
    await withNft(conf.nsPath, async (s) => {
      for (const cont of containerAddrs(conf)) {
        const isV6 = cont.family === 6;
        const fam: NftFamily = isV6 ? 'ip6' : 'ip';
        const hostPorts = conf.portMappings.filter((e) => mappingDestination(e, cont.family) !== null).length;
        const masq = conf.snat ? (!isV6 && !conf.masqAll ? 2 : 1) : 0;
        for (const [chain, want] of [
          [HOSTPORTS, hostPorts],
          [MASQUERADING, masq],
        ] as const) {
          if (want === 0) continue;
          if ((await getChain(s, fam, NFT_TABLE, chain)) === null)
            throw new Error(`chain ${chain} not found in table ${fam} ${NFT_TABLE}`);
          const rules = await listRules(s, fam, NFT_TABLE, chain);
          if (rules.filter((r) => r.comment === containerId).length < want)
            throw new Error(`missing hostport rules in "${chain}" chain`);
        }
      }
    });
  },

  // the rules carry only the container ID (no network), so they cannot be attributed to a network: left alone
  async gc() {},
};

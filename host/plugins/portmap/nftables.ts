// The nftables backend: tables `ip cni_hostport` / `ip6 cni_hostport`, rules tagged with the container ID as
// comment, laid out as the reference (v1.9.1). ADD is one `nft -f -` batch for both families; DEL lists the
// table (nft deletes rules by handle) and deletes this pod's rules in one batch.
import { annotate } from '../../errors.ts';
import type { IpNet } from '../../firewall/addr.ts';
import { applyNft, deleteRuleCommands, listNftChain, listNftTable, nftString } from '../../firewall/nft.ts';
import { mappingDestination, type PortMapConfig } from './config.ts';

export const NFT_TABLE = 'cni_hostport';
const HOSTPORTS = 'hostports';
const HOSTIP_HOSTPORTS = 'hostip_hostports';
const HOSTPORTS_ALL = 'hostports_all';
const MASQUERADING = 'masquerading';

/** The batch lines that set up one family for this pod. */
export function forwardCommands(conf: PortMapConfig, containerId: string, cont: IpNet): string[] {
  const isV6 = cont.family === 6;
  const fam = isV6 ? 'ip6' : 'ip';
  const t = `${fam} ${NFT_TABLE}`;
  const conditions = ((isV6 ? conf.conditionsV6 : conf.conditionsV4) ?? []).join(' ');
  const cond = conditions ? `${conditions} ` : '';
  const comment = `comment ${nftString(containerId)}`;
  // numeric priorities (dstnat = -100, srcnat = 100): nft 1.0.6 rejects the name dstnat on the output hook
  const cmds = [
    `add table ${t} { comment "CNI portmap plugin" ; }`,
    `add chain ${t} ${HOSTPORTS}`,
    `add chain ${t} ${HOSTIP_HOSTPORTS}`,
    `add chain ${t} ${HOSTPORTS_ALL}`,
    `flush chain ${t} ${HOSTPORTS_ALL}`,
    `add rule ${t} ${HOSTPORTS_ALL} jump ${HOSTIP_HOSTPORTS}`,
    `add rule ${t} ${HOSTPORTS_ALL} jump ${HOSTPORTS}`,
    `add chain ${t} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${cond}fib daddr type local jump ${HOSTPORTS_ALL}`,
    `add chain ${t} output { type nat hook output priority -100 ; }`,
    `flush chain ${t} output`,
    `add rule ${t} output ${cond}fib daddr type local jump ${HOSTPORTS_ALL}`,
  ];
  if (conf.snat) cmds.push(`add chain ${t} ${MASQUERADING} { type nat hook postrouting priority 100 ; }`);
  const dest = (port: number) => (isV6 ? `[${cont.ip}]:${port}` : `${cont.ip}:${port}`);
  for (const e of conf.portMappings) {
    const hostIP = mappingDestination(e, cont.family);
    if (hostIP === null) continue;
    const daddr = hostIP === '' ? '' : `${fam} daddr ${hostIP} `;
    cmds.push(
      `add rule ${t} ${HOSTPORTS} ${daddr}${e.protocol} dport ${e.hostPort} dnat to ${dest(e.containerPort)} ${comment}`,
    );
  }
  if (conf.snat) {
    const src = conf.masqAll ? (isV6 ? '::/0' : '0.0.0.0/0') : cont.ip;
    cmds.push(`add rule ${t} ${MASQUERADING} ${fam} saddr ${src} ${fam} daddr ${cont.ip} masquerade ${comment}`);
    if (!isV6 && !conf.masqAll)
      cmds.push(`add rule ${t} ${MASQUERADING} ${fam} saddr 127.0.0.1 ${fam} daddr ${cont.ip} masquerade ${comment}`);
  }
  return cmds;
}

export async function forwardPorts(conf: PortMapConfig, containerId: string, conts: IpNet[]): Promise<void> {
  try {
    await applyNft(conts.flatMap((c) => forwardCommands(conf, containerId, c)));
  } catch (e) {
    throw annotate(e, 'unable to set up nftables rules for port mappings');
  }
}

/** Deletes this pod's rules (comment = container ID) in both families; missing tables are fine. */
export async function unforwardPorts(containerId: string): Promise<void> {
  const tables = await Promise.all(
    ['ip', 'ip6'].map(async (fam) => {
      try {
        return await listNftTable(fam, NFT_TABLE);
      } catch (e) {
        throw annotate(e, `could not list rules in table ${NFT_TABLE}`);
      }
    }),
  );
  const mine = tables.flatMap((rules) =>
    (rules ?? []).filter(
      (r) => [HOSTPORTS, HOSTIP_HOSTPORTS, MASQUERADING].includes(r.chain) && r.comment === containerId,
    ),
  );
  try {
    await applyNft(deleteRuleCommands(mine));
  } catch (e) {
    throw annotate(e, 'error deleting nftables rules');
  }
}

/** CHECK for one address: enough rules with this pod's comment in `hostports` and (snat) `masquerading`. */
export async function checkPorts(conf: PortMapConfig, containerId: string, cont: IpNet): Promise<void> {
  const isV6 = cont.family === 6;
  const hostPorts = conf.portMappings.filter((e) => mappingDestination(e, cont.family) !== null).length;
  const masq = conf.snat ? (!isV6 && !conf.masqAll ? 2 : 1) : 0;
  const fam = isV6 ? 'ip6' : 'ip';
  for (const [chain, want] of [
    [HOSTPORTS, hostPorts],
    [MASQUERADING, masq],
  ] as const) {
    if (want === 0) continue;
    const rules = await listNftChain(fam, NFT_TABLE, chain);
    if (rules === null) throw new Error(`chain ${chain} not found in table ${fam} ${NFT_TABLE}`);
    if (rules.filter((r) => r.comment === containerId).length < want)
      throw new Error(`missing hostport rules in "${chain}" chain`);
  }
}

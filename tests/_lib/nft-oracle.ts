// The oracle for the nf_tables-over-netlink code: the same rule layouts written as `nft -f` text (what the
// plugins did before they spoke netlink), applied with the real `nft` inside a test namespace, and a normalised
// `nft -j list ruleset` to compare the two.
import type { IpNet } from '../../host/firewall/addr.ts';
import { networkText } from '../../host/firewall/addr.ts';
import { NFT_MASQ_CHAIN, NFT_MASQ_TABLE } from '../../host/firewall/ipmasq.ts';
import { mappingDestination, type PortMapConfig } from '../../host/plugins/portmap/config.ts';
import { run } from './run.ts';

export const nftString = (s: string): string => `"${s.replace(/"/g, '')}"`;

/** Runs `nft -f -` in a namespace (by name); throws with nft's message. */
export async function nftIn(ns: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const r = await run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: `${lines.join('\n')}\n` });
  if (r.code !== 0) throw new Error(`nft -f: ${r.stderr.trim()}\n${lines.join('\n')}`);
}

/** `nft -j list ruleset` of a namespace without metainfo and handles (they count operations, not layout). */
export async function rulesetJson(ns: string): Promise<unknown[]> {
  const r = await run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
  if (r.code !== 0) throw new Error(r.stderr);
  const doc = JSON.parse(r.stdout) as { nftables: Array<Record<string, Record<string, unknown>>> };
  return doc.nftables
    .filter((o) => !('metainfo' in o))
    .map((o) => {
      const [kind, body] = Object.entries(o)[0]!;
      const { handle: _h, ...rest } = body;
      return { [kind]: rest };
    });
}

export async function rulesetText(ns: string): Promise<string> {
  return (await run('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'])).stdout;
}

/** Deletes, with `nft`, the rules of a table whose comment `pick` chooses (the oracle's DEL). */
export async function nftDeleteWhere(
  ns: string,
  family: string,
  table: string,
  pick: (chain: string, comment: string | undefined) => boolean,
): Promise<void> {
  const r = await run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', family, table]);
  if (r.code !== 0) return;
  const doc = JSON.parse(r.stdout) as {
    nftables: Array<{ rule?: { chain: string; handle: number; comment?: string } }>;
  };
  const lines = doc.nftables
    .filter((o) => o.rule && pick(o.rule.chain, o.rule.comment))
    .map((o) => `delete rule ${family} ${table} ${o.rule!.chain} handle ${o.rule!.handle}`);
  await nftIn(ns, lines);
}

/** ipMasq ADD as nft text (inet cni_plugins_masquerade). */
export function ipMasqText(nets: IpNet[], comment: string): string[] {
  const t = `inet ${NFT_MASQ_TABLE}`;
  return [
    `add table ${t} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
    `add chain ${t} ${NFT_MASQ_CHAIN} { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
    `add chain ${t} postrouting { type nat hook postrouting priority 100 ; }`,
    `flush chain ${t} postrouting`,
    `add rule ${t} postrouting ip daddr == 224.0.0.0/4 return`,
    `add rule ${t} postrouting ip6 daddr == ff00::/8 return`,
    `add rule ${t} postrouting goto ${NFT_MASQ_CHAIN}`,
    ...nets.map((n) => {
      const ip = n.family === 4 ? 'ip' : 'ip6';
      return `add rule ${t} ${NFT_MASQ_CHAIN} ${ip} saddr == ${n.ip} ${ip} daddr != ${networkText(n)} masquerade comment ${nftString(comment)}`;
    }),
  ];
}

/** portmap ADD for one family as nft text (ip/ip6 cni_hostport). */
export function portmapText(conf: PortMapConfig, containerId: string, cont: IpNet): string[] {
  const isV6 = cont.family === 6;
  const fam = isV6 ? 'ip6' : 'ip';
  const t = `${fam} cni_hostport`;
  const conditions = ((isV6 ? conf.conditionsV6 : conf.conditionsV4) ?? []).join(' ');
  const cond = conditions ? `${conditions} ` : '';
  const comment = `comment ${nftString(containerId)}`;
  const cmds = [
    `add table ${t} { comment "CNI portmap plugin" ; }`,
    `add chain ${t} hostports`,
    `add chain ${t} hostip_hostports`,
    `add chain ${t} hostports_all`,
    `flush chain ${t} hostports_all`,
    `add rule ${t} hostports_all jump hostip_hostports`,
    `add rule ${t} hostports_all jump hostports`,
    `add chain ${t} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${cond}fib daddr type local jump hostports_all`,
    `add chain ${t} output { type nat hook output priority -100 ; }`,
    `flush chain ${t} output`,
    `add rule ${t} output ${cond}fib daddr type local jump hostports_all`,
  ];
  if (conf.snat) cmds.push(`add chain ${t} masquerading { type nat hook postrouting priority 100 ; }`);
  const dest = (port: number) => (isV6 ? `[${cont.ip}]:${port}` : `${cont.ip}:${port}`);
  for (const e of conf.portMappings) {
    const hostIP = mappingDestination(e, cont.family);
    if (hostIP === null) continue;
    const daddr = hostIP === '' ? '' : `${fam} daddr ${hostIP} `;
    cmds.push(
      `add rule ${t} hostports ${daddr}${e.protocol} dport ${e.hostPort} dnat to ${dest(e.containerPort)} ${comment}`,
    );
  }
  if (conf.snat) {
    const src = conf.masqAll ? (isV6 ? '::/0' : '0.0.0.0/0') : cont.ip;
    cmds.push(`add rule ${t} masquerading ${fam} saddr ${src} ${fam} daddr ${cont.ip} masquerade ${comment}`);
    if (!isV6 && !conf.masqAll)
      cmds.push(`add rule ${t} masquerading ${fam} saddr 127.0.0.1 ${fam} daddr ${cont.ip} masquerade ${comment}`);
  }
  return cmds;
}

/** bridge macspoofchk set-up as nft text (bridge nat). */
export function spoofCheckText(hostVeth: string, mac: string, attachment: string): string[] {
  const chain = `cni-br-iface-${attachment}`;
  const comment = `comment ${nftString(`macspoofchk-${attachment}`)}`;
  return [
    'add table bridge nat',
    'add chain bridge nat PREROUTING { type filter hook prerouting priority -300; policy accept; }',
    `add chain bridge nat ${chain}`,
    `add chain bridge nat ${chain}-mac`,
    `flush chain bridge nat ${chain}`,
    `flush chain bridge nat ${chain}-mac`,
    `add rule bridge nat PREROUTING iifname ${nftString(hostVeth)} jump ${chain} ${comment}`,
    `add rule bridge nat ${chain} jump ${chain}-mac ${comment}`,
    `add rule bridge nat ${chain}-mac ether saddr ${mac} return ${comment}`,
    `add rule bridge nat ${chain}-mac drop ${comment}`,
  ];
}

/** kubenet's de-dup rules as nft text (bridge filter, ebtables-nft's layout). */
export function dedupText(
  mac: string,
  pairs: Array<{ gateway: string; subnet: string; accept: string; drop: string }>,
  chain: string,
): string[] {
  const match = (addr: string) => {
    const v6 = addr.includes(':');
    return `ether type ${v6 ? 'ip6' : 'ip'} ether saddr ${mac} oifname "veth*" ${v6 ? 'ip6' : 'ip'} saddr ${addr}`;
  };
  return [
    'add table bridge filter',
    'add chain bridge filter OUTPUT { type filter hook output priority -200; policy accept; }',
    `add chain bridge filter ${chain}`,
    `add rule bridge filter OUTPUT counter jump ${chain} comment "-j ${chain}"`,
    ...pairs.flatMap((p) => [
      `insert rule bridge filter ${chain} ${match(p.gateway)} counter accept comment "${p.accept}"`,
      `add rule bridge filter ${chain} ${match(p.subnet)} counter drop comment "${p.drop}"`,
    ]),
  ];
}

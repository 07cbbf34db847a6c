// CHECK: prevResult required; with mappings, every expected rule of each picked address must exist.
import type { CmdArgs } from '../../cni/skel.ts';
import { loadPortMapConfig } from './config.ts';
import * as ipt from './iptables.ts';
import * as nft from './nftables.ts';

export async function cmdCheck(a: CmdArgs): Promise<void> {
  const conf = loadPortMapConfig(a.conf, a.cniVersion, a.ifName);
  if (!conf.prevResult) throw new Error('Required prevResult missing');
  if (conf.portMappings.length === 0) return;
  const backend = conf.backend === 'nftables' ? nft : ipt;
  for (const addr of [conf.contIPv4, conf.contIPv6]) {
    if (addr) await backend.checkPorts(conf, a.containerId, addr);
  }
}

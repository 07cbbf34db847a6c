// GC (spec 1.1): the backend removes this network's rules of attachments not in cni.dev/valid-attachments (the
// iptables backend can tell a network's pods apart; the nftables rules carry only the container ID).
import { validAttachmentsOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { loadPortMapConfig } from './config.ts';
import { portMapper } from './backends.ts';

export async function cmdGc(a: CmdArgs): Promise<void> {
  const conf = loadPortMapConfig(a.conf, a.cniVersion, a.ifName);
  const valid = validAttachmentsOf(a).map((v) => v.containerID);
  await portMapper(conf.backend).gc(a.name, valid);
}

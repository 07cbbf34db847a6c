// bridge GC (spec 1.1; the reference has none): for the attachments not in cni.dev/valid-attachments, the IPAM
// plugin drops their reservations, and their masquerade rules (ipMasq) and spoof checks (macspoofchk) go — what
// DEL would have removed, for attachments whose DEL never came. Every part runs even when an earlier one
// fails; the errors are reported together. The veth pairs are left alone (GC is no substitute for DEL).
import { delegateGc } from '../../cni/delegate.ts';
import { errorMessage } from '../../errors.ts';
import { validAttachmentsOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { gcIpMasq } from '../../firewall/ipmasq.ts';
import { NetHandle } from '../../net/handle.ts';
import { loadBridgeConfig } from './config.ts';
import { gcSpoofChecks } from './spoofcheck.ts';

export async function cmdGc(a: CmdArgs): Promise<void> {
  const c = loadBridgeConfig(a.conf, a.cniVersion, '');
  const validAttachments = validAttachmentsOf(a);
  const errors: string[] = [];
  const step = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      errors.push(errorMessage(e));
    }
  };
  if (c.ipamType !== '') await step(() => delegateGc(a, c.ipamType));
  if (c.ipamType !== '' && c.ipMasq) await step(() => gcIpMasq({ network: c.networkName, validAttachments }));
  if (c.macspoofchk) {
    const listHostLinks = async () => {
      const host = await NetHandle.open(a.caller.netns);
      try {
        return await host.link.list();
      } finally {
        host.close();
      }
    };
    await step(() => gcSpoofChecks({ network: c.networkName, validAttachments, listHostLinks }));
  }
  if (errors.length > 0) throw new Error(errors.join('; '));
}

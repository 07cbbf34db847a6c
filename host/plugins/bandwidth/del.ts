// DEL: removes the ifb (a missing one is fine). As in the reference, a config that no longer validates fails,
// and the host veth's qdiscs are left to vanish with the veth (the chained bridge deletes it right after).
import { annotate } from '../../errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { withNetHandle } from '../../net/index.ts';
import { loadBandwidthConfig } from './config.ts';
import { ifbName } from './names.ts';

export async function del(a: CmdArgs): Promise<void> {
  const cfg = loadBandwidthConfig(a.conf, a.name, a.cniVersion);
  const ifb = ifbName(cfg.network, a.containerId);
  await withNetHandle(a.caller.netns, async (host) => {
    try {
      await host.link.deleteIfExists(ifb);
    } catch (e) {
      throw annotate(e, `failed to delete "${ifb}"`);
    }
  });
}

// ADD: masquerade rule first (so a firewall failure changes nothing), then bridge+host-local, portmap (when the
// pod has host ports) and bandwidth (when it is shaped), then cbr0 promiscuous with the de-dup rules.
import { CniError, ErrCode } from '../../cni/errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';
import { Cidr } from '../../core/index.ts';
import { syncDedupRules } from '../../firewall/dedup.ts';
import { ensureMasqRule } from '../../node/masq.ts';
import { withNetHandle } from '../../net/index.ts';
import { bandwidthDelegate, bridgeDelegate, portmapDelegate, runDelegate } from './chain.ts';
import { loadConfig } from './config.ts';
import { cmdDel } from './del.ts';

export async function cmdAdd(a: CmdArgs): Promise<Result> {
  const c = loadConfig(a, true);
  await ensureMasqRule(c.nonMasqueradeCidr);
  let result = (await runDelegate(a, c, await bridgeDelegate(c, a.caller.netns), 'ADD', c.prevResult))!;
  try {
    if (c.portMappings.length > 0) result = (await runDelegate(a, c, portmapDelegate(c), 'ADD', result))!;
    if (c.bandwidth) result = (await runDelegate(a, c, bandwidthDelegate(c), 'ADD', result))!;
    if (!result.ips?.length) throw new CniError(ErrCode.Internal, "cni didn't report ipv4 ipv6");
    if (c.hairpinMode === 'promiscuous-bridge') await promiscuousBridge(c.bridge, result, a.caller.netns);
  } catch (e) {
    await cmdDel(a).catch(() => {}); // never leave half a pod behind
    throw e;
  }
  return result;
}

async function promiscuousBridge(bridge: string, result: Result, hostNetns: string | null): Promise<void> {
  const mac = await withNetHandle(hostNetns, async (h) => {
    const link = await h.link.get(bridge);
    if (!link.promisc) await h.link.setPromisc(bridge, true);
    return link.mac;
  });
  const pairs = (result.ips ?? [])
    .filter((ip) => ip.gateway)
    .map((ip) => {
      const x = Cidr.parse(ip.address);
      return { gateway: ip.gateway!, subnet: `${x.network}/${x.prefix}` };
    });
  await syncDedupRules(mac, pairs).catch(() => {
    /* best effort, as the kubelet */
  });
}

// CHECK: the bridge (veth, addresses, routes) and, when configured, the port mappings and shaping.
import { CniError, ErrCode } from '../../cni/errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { bandwidthDelegate, bridgeDelegate, portmapDelegate, runDelegate } from './chain.ts';
import { loadConfig } from './config.ts';

export async function cmdCheck(a: CmdArgs): Promise<void> {
  const c = loadConfig(a, true);
  if (!c.prevResult) throw new CniError(ErrCode.InvalidNetworkConfig, 'kubenet: Required prevResult missing');
  await runDelegate(a, c, await bridgeDelegate(c, a.caller.netns), 'CHECK', c.prevResult);
  if (c.portMappings.length > 0) await runDelegate(a, c, portmapDelegate(c), 'CHECK', c.prevResult);
  if (c.bandwidth) await runDelegate(a, c, bandwidthDelegate(c), 'CHECK', c.prevResult);
}

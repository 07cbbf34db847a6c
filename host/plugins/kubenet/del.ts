// DEL: the delegates in reverse order (bandwidth and portmap clean up by container ID, bridge releases the
// IP). The masquerade rule is node-wide and stays.
import type { CmdArgs } from '../../cni/skel.ts';
import { bandwidthDelegate, bridgeDelegate, portmapDelegate, runDelegate } from './chain.ts';
import { loadConfig } from './config.ts';

export async function cmdDel(a: CmdArgs): Promise<void> {
  const c = loadConfig(a, false);
  await runDelegate(a, c, bandwidthDelegate(c), 'DEL', c.prevResult);
  await runDelegate(a, c, portmapDelegate(c), 'DEL', c.prevResult);
  await runDelegate(a, c, await bridgeDelegate(c, a.caller.netns), 'DEL', c.prevResult);
}

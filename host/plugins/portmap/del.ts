// DEL: a silent no-op without runtimeConfig.portMappings (as the reference); else remove this pod's rules in
// both families. Needs neither the netns nor prevResult, so it also works after the pod's namespace is gone.
import { annotate } from '../../errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { loadPortMapConfig, type PortMapConfig } from './config.ts';
import { portMapper } from './backends.ts';

export async function cmdDel(a: CmdArgs): Promise<void> {
  let conf: PortMapConfig;
  try {
    conf = loadPortMapConfig(a.conf, a.cniVersion, a.ifName);
  } catch (e) {
    throw annotate(e, 'failed to parse config');
  }
  if (conf.portMappings.length === 0) return;
  await portMapper(conf.backend).unforward(conf, a.containerId);
}

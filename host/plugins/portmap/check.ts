// CHECK: prevResult required; with mappings, every expected rule of each picked address must exist.
import type { CmdArgs } from '../../cni/skel.ts';
import { loadPortMapConfig } from './config.ts';
import { portMapper } from './backends.ts';

export async function cmdCheck(a: CmdArgs): Promise<void> {
  const conf = loadPortMapConfig(a.conf, a.cniVersion, a.ifName);
  if (!conf.prevResult) throw new Error('Required prevResult missing');
  if (conf.portMappings.length === 0) return;
  await portMapper(conf.backend).check(conf, a.containerId);
}

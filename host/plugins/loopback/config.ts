// loopback has no fields of its own: the common NetConf (decoded by skel), whose prevResult — when a runtime
// chains loopback after another plugin — is passed through unchanged.
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';

export interface LoopbackConfig {
  cniVersion: string;
  prevResult?: Result;
}

export function loadConfig(a: CmdArgs): LoopbackConfig {
  const c: LoopbackConfig = { cniVersion: a.netconf.cniVersion };
  if (a.netconf.prevResult) c.prevResult = a.netconf.prevResult;
  return c;
}

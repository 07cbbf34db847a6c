// loopback has no fields of its own: its config is plain types.NetConf, whose prevResult — when a runtime chains
// loopback after another plugin — is passed through unchanged. Only ADD reads the config (as the reference).
import { annotate } from '../../errors.ts';
import { DecodeError } from '../../cni/decode.ts';
import { prevResultOf, readNetConf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';

export interface LoopbackConfig {
  cniVersion: string;
  prevResult?: Result;
}

/** Decodes like the reference's parseNetConf, with its error prefixes. */
export function loadConfig(a: CmdArgs): LoopbackConfig {
  try {
    readNetConf(a);
  } catch (e) {
    if (e instanceof DecodeError) throw new Error(`failed to parse network config: ${e.message}`);
    throw e;
  }
  const c: LoopbackConfig = { cniVersion: a.cniVersion };
  let prevResult: Result | undefined;
  try {
    prevResult = prevResultOf(a);
  } catch (e) {
    throw annotate(e, 'failed to parse prevResult');
  }
  if (prevResult) c.prevResult = prevResult;
  return c;
}

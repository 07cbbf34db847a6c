// The portmap plugin: DNAT host ports to the pod's addresses (chained after the interface plugin).
import { CniError, formatCniError, parseCniError } from '../../cni/errors.ts';
import type { PluginHandler } from '../../cni/handler.ts';
import { makeHandler } from '../../cni/skel.ts';
import { SPEC_VERSIONS } from '../../cni/version.ts';
import { cmdAdd } from './add.ts';
import { cmdCheck } from './check.ts';
import { cmdDel } from './del.ts';
import { cmdGc } from './gc.ts';

const inner = makeHandler({ name: 'portmap', versions: [...SPEC_VERSIONS], add: cmdAdd, del: cmdDel, check: cmdCheck, gc: cmdGc });

/**
 * skel parses prevResult before the plugin runs; the reference's portmap reports that failure from its own
 * config parsing, so on ADD and DEL the message carries its `failed to parse config: ` prefix.
 */
export const handler: PluginHandler = async (req) => {
  const res = await inner(req);
  const cmd = req.env.CNI_COMMAND;
  if (res.exitCode === 0 || (cmd !== 'ADD' && cmd !== 'DEL')) return res;
  const err = parseCniError(res.stdout);
  if (!err || !err.message.startsWith('could not parse prevResult: ')) return res;
  return { ...res, stdout: formatCniError(new CniError(err.code, `failed to parse config: ${err.message}`, err.details)) };
};

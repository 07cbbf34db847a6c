// ADD: forward the host ports to the pod (v4 then v6), flush stale UDP conntrack entries, set route_localnet.
import { annotate } from '../../errors.ts';
import type { CallerContext } from '../../cni/caller.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';
import { deleteConntrackForDstPorts } from '../../firewall/conntrack.ts';
import { loadPortMapConfig, type PortMapConfig } from './config.ts';
import { enableLocalnetRouting, routeDeviceFor } from './localnet.ts';
import { portMapper } from './backends.ts';

export async function cmdAdd(a: CmdArgs): Promise<Result> {
  let conf: PortMapConfig;
  try {
    conf = loadPortMapConfig(a.conf, a.cniVersion, a.ifName);
  } catch (e) {
    throw annotate(e, 'failed to parse config');
  }
  const prev = conf.prevResult;
  if (!prev) throw new Error('must be called as chained plugin');
  if (conf.portMappings.length === 0) return prev;

  const mapper = portMapper(conf.backend);
  try {
    await mapper.forward(conf, a.containerId);
    await afterForward(conf, a.caller);
  } catch (e) {
    // beyond the reference (which leaves what it made): a failed ADD takes this pod's rules away again
    await mapper.unforward(conf, a.containerId).catch(() => undefined);
    throw e;
  }
  return prev;
}

/** Once the rules exist (so new traffic uses them): stale UDP conntrack entries flushed, route_localnet for SNAT. */
async function afterForward(conf: PortMapConfig, caller: CallerContext): Promise<void> {
  const udpPorts = conf.portMappings.filter((m) => m.protocol.toLowerCase() === 'udp').map((m) => m.hostPort);
  if (conf.contIPv4) {
    // failures are only logged, as in the reference
    logConntrack(await deleteConntrackForDstPorts('udp', udpPorts, 4));
    if (conf.snat) {
      const dev = routeDeviceFor(conf.contIPv4.ip, routeTableOf(caller));
      if (dev) {
        try {
          enableLocalnetRouting(dev, caller.netns);
        } catch (e) {
          throw annotate(e, 'unable to enable route_localnet');
        }
      }
    }
  }
  if (conf.contIPv6) logConntrack(await deleteConntrackForDstPorts('udp', udpPorts, 6));
}

/** The main IPv4 route table of the caller's network namespace (the pinned caller's own view of it). */
function routeTableOf(caller: CallerContext): string | undefined {
  return caller.netns !== null && caller.pid !== undefined ? `/proc/${caller.pid}/net/route` : undefined;
}

function logConntrack(errors: string[]): void {
  for (const e of errors) process.stderr.write(`portmap: failed to delete stale UDP conntrack entries: ${e}\n`);
}

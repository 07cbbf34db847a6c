// loopback ADD: set `lo` up in the pod's namespace (CNI_IFNAME is ignored) and report its loopback addresses.
import type { CmdArgs } from '../../cni/skel.ts';
import { isLoopback } from '../../core/index.ts';
import type { Result } from '../../cni/types.ts';
import { withNetHandle } from '../../net/handle.ts';
import { AF_INET, AF_INET6 } from '../../net/nl/constants.ts';
import { loadConfig } from './config.ts';
import { checkNetnsPath } from '../../native/netns.ts';

export async function add(a: CmdArgs): Promise<Result> {
  const conf = loadConfig(a);
  const real = checkNetnsPath(a.netns, a.caller);
  const [v4, v6] = await withNetHandle(real, async (h) => {
    await h.link.set('lo', { up: true });
    return [await loopbackAddress(h, AF_INET), await loopbackAddress(h, AF_INET6)];
  });
  if (conf.prevResult) return conf.prevResult;
  const result: Result = {
    cniVersion: conf.cniVersion,
    interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: a.netns }],
  };
  const ips = [v4, v6].filter((x): x is string => x !== undefined).map((address) => ({ interface: 0, address }));
  if (ips.length > 0) result.ips = ips;
  return result;
}

type Handle = Parameters<Parameters<typeof withNetHandle>[1]>[0];

/** The first address of the family on lo; every one must be a loopback address. */
async function loopbackAddress(h: Handle, family: number): Promise<string | undefined> {
  const addrs = await h.addr.list('lo', family);
  for (const x of addrs) {
    if (!isLoopback(x.ip)) throw new Error(`loopback interface found with non-loopback address "${x.ip}"`);
  }
  return addrs[0]?.cidr;
}

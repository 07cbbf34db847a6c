// A pod's IPs read from its network namespace over netlink (the kubelet ran `nsenter ... ip -o addr show`): the
// global-scope addresses of eth0, IPv4 first (kubernetes v1.23 pkg/kubelet/dockershim/network/plugins.go GetPodIPs,
// dual-stack on).
import { AF_INET, AF_INET6, AddrScope, withNetHandle } from '../net/index.ts';
import { DEFAULT_IF_NAME } from './types.ts';

/** One IP per family (the first global address), IPv4 first; throws when there is none. */
export async function getPodIPs(netnsPath: string, ifName = DEFAULT_IF_NAME): Promise<string[]> {
  return withNetHandle(netnsPath, async (h) => {
    const link = await h.link.find(ifName);
    if (!link) throw new Error(`cannot find pod IPs: no interface ${ifName} in the network namespace`);
    const ips: string[] = [];
    const errors: string[] = [];
    for (const [family, flag] of [
      [AF_INET, '-4'],
      [AF_INET6, '-6'],
    ] as const) {
      const addrs = (await h.addr.list(link.index, family)).filter((a) => a.scope === AddrScope.universe);
      if (addrs.length > 0) ips.push(addrs[0]!.ip);
      else errors.push(`no ${flag} global address on ${ifName}`);
    }
    if (ips.length === 0) throw new Error(`[${errors.join(', ')}]`);
    return ips;
  });
}

// The host's interfaces as the MTU choice sees them (kubenet's findMinMTU: kubernetes v1.23
// pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go), for the kubelet's kubenet and the kubenet CNI plugin.
import type { MtuInterface } from '../core/index.ts';
import { withNetHandle } from '../net/index.ts';
import { IFF_LOOPBACK, IFF_POINTOPOINT, IFF_UP } from '../net/nl/constants.ts';

/** The host's interfaces in kernel index order, as pickMtu wants them: those of the network namespace at
 * `netns` (a path this process can open; null: this process's). The daemon passes its caller's. */
export async function hostInterfaces(netns: string | null = null): Promise<MtuInterface[]> {
  return withNetHandle(netns, async (h) =>
    (await h.link.list())
      .sort((a, b) => a.index - b.index)
      .map((l) => ({
        name: l.name,
        mtu: l.mtu,
        up: (l.flags & IFF_UP) !== 0,
        loopback: (l.flags & IFF_LOOPBACK) !== 0,
        pointToPoint: (l.flags & IFF_POINTOPOINT) !== 0,
      })),
  );
}

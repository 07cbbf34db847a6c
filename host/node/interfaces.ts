// The host's interfaces as the MTU choice sees them (kubenet's findMinMTU: kubernetes v1.23
// pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go), for the kubelet's kubenet and the kubenet CNI plugin.
import type { MtuInterface } from '../core/index.ts';
import { withNetHandle } from '../net/index.ts';
import { IFF_LOOPBACK, IFF_POINTOPOINT, IFF_UP } from '../net/nl/constants.ts';

/** The host's interfaces in kernel index order, as pickMtu wants them. */
export async function hostInterfaces(): Promise<MtuInterface[]> {
  return withNetHandle(null, async (h) =>
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

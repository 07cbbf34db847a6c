// Which host link to shape: the host-side peer of the container's veth, which must also be listed in prevResult
// as a host interface (no sandbox) — found exactly as the reference does
// (containernetworking/plugins v1.9.1 plugins/meta/bandwidth/main.go, getHostInterface).
import type { Interface } from '../../cni/types.ts';
import type { NetHandle, Link } from '../../net/index.ts';

export async function findHostVeth(
  interfaces: Interface[] | undefined,
  containerIfName: string,
  pod: NetHandle,
  host: NetHandle,
): Promise<Link> {
  if (!interfaces || interfaces.length === 0) throw new Error('no interfaces provided');

  const container = await pod.link.find(containerIfName);
  if (!container)
    throw new Error(
      `container interface ${containerIfName} has no veth peer: could not look up "${containerIfName}": Link not found`,
    );
  if (container.kind !== 'veth') {
    throw new Error(
      `container interface ${containerIfName} has no veth peer: interface "${containerIfName}" was not a veth interface`,
    );
  }
  const peerIndex = container.parentIndex ?? 0;
  if (peerIndex <= 0) throw new Error(`container interface ${containerIfName} has no veth peer: <nil>`);

  const peer = await host.link.find(peerIndex);
  if (!peer) throw new Error(`veth peer with index ${peerIndex} is not in host ns`);
  if (!interfaces.some((i) => !i.sandbox && i.name === peer.name))
    throw new Error('no veth peer of container interface found in host ns');
  return peer;
}

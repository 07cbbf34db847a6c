// Which host link to shape: the host-side peer of the container's veth, which must also be listed in prevResult
// as a host interface (no sandbox) — found exactly as the reference does (plugins.md §5.3 step 4).
import { ownCaller, type CallerContext } from '../../cni/caller.ts';
import type { Interface } from '../../cni/types.ts';
import { NetHandle, type Link } from '../../net/index.ts';

/** Opens a handle in the pod's namespace; the reference's wording when the path is unusable. */
export async function openPodNetns(netns: string, caller: CallerContext = ownCaller): Promise<NetHandle> {
  try {
    return await NetHandle.open(caller.resolve(netns));
  } catch (e) {
    const msg = caller.inCallerTerms((e as Error).message);
    throw new Error(msg.startsWith('failed to open netns') ? msg : `failed to open netns "${netns}": ${msg}`);
  }
}

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

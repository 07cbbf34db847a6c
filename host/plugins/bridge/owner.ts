// Which attachment a host veth belongs to: ADD sets the host end's alias (IFLA_IFALIAS) to
// `wasm-cni:<network>:<containerID>`; DEL reads it before deleting a container interface found by name, and GC
// uses it to tell this network's spoof checks from other networks'.
// The reference deletes `CNI_IFNAME` in the netns whatever the container ID, so a DEL with a wrong ID
// removes another pod's interface; we refuse when the alias names another attachment. Links made by the
// reference (no alias) are handled as the reference does.
import type { NetHandle } from '../../net/handle.ts';
import type { Link, LinkRef } from '../../net/link.ts';

const PREFIX = 'wasm-cni:';

export function ownerTag(network: string, containerId: string): string {
  return `${PREFIX}${network}:${containerId}`;
}

/**
 * Best effort: a tag the kernel refuses (longer than 255 bytes) leaves the link untagged, which gives the
 * reference's behaviour for that attachment.
 */
export async function markOwner(
  host: NetHandle,
  hostVeth: LinkRef,
  network: string,
  containerId: string,
): Promise<void> {
  await host.link.setAlias(hostVeth, ownerTag(network, containerId)).catch(() => undefined);
}

/** The owner tag of a host link, or undefined when it has none of ours. */
export function ownerOf(link: Link): string | undefined {
  return link.alias?.startsWith(PREFIX) ? link.alias : undefined;
}

/**
 * Whether a link is tagged for `network` and an attachment id `<containerID>-<ifname>` of it. Network names and
 * container IDs cannot contain ':' (libcni validates both), so the tag splits unambiguously.
 */
export function taggedFor(link: Link, network: string, attachment: string): boolean {
  const tag = ownerOf(link);
  if (tag === undefined) return false;
  const rest = tag.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  return colon >= 0 && rest.slice(0, colon) === network && attachment.startsWith(`${rest.slice(colon + 1)}-`);
}

// Which attachment a host veth belongs to: ADD writes `wasm-cni:<network>:<containerID>` into the host end's
// ifalias (sysfs, host namespace), DEL reads it before deleting a container interface found by name.
// The reference deletes `CNI_IFNAME` in the netns whatever the container ID, so a DEL with a wrong ID
// removes another pod's interface; we refuse when the alias names another attachment. Links made by the
// reference (no alias) are handled as the reference does.
import { readFile, writeFile } from 'node:fs/promises';

const PREFIX = 'wasm-cni:';

export function ownerTag(network: string, containerId: string): string {
  return `${PREFIX}${network}:${containerId}`;
}

/** Best effort: a host without a writable /sys simply gets the reference's behaviour. */
export async function markOwner(hostVeth: string, network: string, containerId: string): Promise<void> {
  await writeFile(`/sys/class/net/${hostVeth}/ifalias`, ownerTag(network, containerId)).catch(() => undefined);
}

/** The owner tag of a host link, or undefined when it has none of ours. */
export async function readOwner(hostVeth: string): Promise<string | undefined> {
  try {
    const alias = (await readFile(`/sys/class/net/${hostVeth}/ifalias`, 'utf8')).trim();
    return alias.startsWith(PREFIX) ? alias : undefined;
  } catch {
    return undefined;
  }
}

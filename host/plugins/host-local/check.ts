// host-local CHECK: some reservation file holds (containerID, ifname) (or a legacy id-only record).
// Like the reference it does not compare with prevResult.
import type { CmdArgs } from '../../cni/skel.ts';
import { loadConfig } from './config.ts';
import { NetworkStore, legacyOwnerKey, ownerKey } from './store.ts';

export async function check(a: CmdArgs): Promise<void> {
  const conf = loadConfig(a.conf, a.args);
  const store = NetworkStore.open(conf.dataDir, conf.name, a.caller);
  let found: boolean;
  try {
    found = await store.locked(
      () =>
        store.ipsOwnedBy(ownerKey(a.containerId, a.ifName)).length > 0 ||
        store.ipsOwnedBy(legacyOwnerKey(a.containerId)).length > 0,
    );
  } finally {
    store.close();
  }
  if (!found) throw new Error(`host-local: Failed to find address added by container ${a.containerId}`);
}

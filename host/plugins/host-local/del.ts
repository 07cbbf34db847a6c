// host-local DEL: release every reservation of (containerID, ifname) — per range set, as the reference loops —
// falling back to legacy id-only records. A missing allocation is not an error.
import type { CmdArgs } from '../../cni/skel.ts';
import { loadConfig } from './config.ts';
import { NetworkStore, legacyOwnerKey, ownerKey } from './store.ts';

export async function del(a: CmdArgs): Promise<void> {
  const conf = loadConfig(a.conf, a.args);
  const store = NetworkStore.open(conf.dataDir, conf.name, a.caller);
  try {
    await store.locked(() => {
      for (let i = 0; i < conf.rangeSets.length; i++) releaseByID(store, a.containerId, a.ifName);
    });
  } finally {
    store.close();
  }
}

/** The reference's ReleaseByID: files holding "<id>\r\n<ifname>"; if there are none, files holding just "<id>". */
export function releaseByID(store: NetworkStore, id: string, ifName: string): void {
  if (store.releaseOwnedBy(ownerKey(id, ifName)).length === 0) store.releaseOwnedBy(legacyOwnerKey(id));
}

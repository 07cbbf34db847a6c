// host-local GC (spec 1.1): remove the reservations whose attachment is not in cni.dev/valid-attachments.
// (The reference has no GC.) A legacy id-only record stays while any valid attachment has its container id.
import { errorMessage } from '../../errors.ts';
import { validAttachmentsOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { loadConfig } from './config.ts';
import { goTrimSpace } from './gotrim.ts';
import { NetworkStore, ownerKey, parseOwner } from './store.ts';

export async function gc(a: CmdArgs): Promise<void> {
  const conf = loadConfig(a.conf, a.args);
  const valid = validAttachmentsOf(a);
  const keep = new Set(valid.map((v) => ownerKey(v.containerID, v.ifname)));
  const keepIds = new Set(valid.map((v) => goTrimSpace(v.containerID)));
  const store = NetworkStore.open(conf.dataDir, conf.name, a.caller);
  try {
    await store.locked(() => {
      const stale = new Set<string>();
      for (const owner of store.reservations.values()) {
        if (owner === '') continue; // empty or unreadable: whose it is cannot be known
        const { containerId, ifName } = parseOwner(owner);
        if (ifName === undefined ? !keepIds.has(containerId) : !keep.has(owner)) stale.add(owner);
      }
      const errors: string[] = [];
      for (const owner of stale) {
        try {
          store.releaseOwnedBy(owner);
        } catch (e) {
          errors.push(errorMessage(e));
        }
      }
      if (errors.length > 0) throw new Error(errors.join(';'));
    });
  } finally {
    store.close();
  }
}

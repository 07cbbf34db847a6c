// host-local ADD: one address per range set, under the directory lock, in the reference's order
// (requested IP if one falls in the set, else round robin after last_reserved_ip.<set>).
import { annotate } from '../../errors.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { parseIP } from '../../cni/iptext.ts';
import type { IPConfig, Result } from '../../cni/types.ts';
import type { RangeSet } from '../../core/index.ts';
import { allocatorFor } from './allocators.ts';
import { loadConfig } from './config.ts';
import { releaseByID } from './del.ts';
import { parseResolvConf } from './resolvconf.ts';
import { NetworkStore, legacyOwnerKey, ownerKey } from './store.ts';

export async function add(a: CmdArgs): Promise<Result> {
  const conf = loadConfig(a.conf, a.args);
  const result: Result = { cniVersion: a.cniVersion };
  if (conf.resolvConf) result.dns = parseResolvConf(conf.resolvConf, a.caller);

  const store = NetworkStore.open(conf.dataDir, conf.name, a.caller);
  try {
    result.ips = await store.locked(() =>
      allocateAll(store, conf.rangeSets, conf.requestedIPs, a.containerId, a.ifName),
    );
  } finally {
    store.close();
  }
  if (conf.routes.length > 0) result.routes = conf.routes;
  return result;
}

function allocateAll(
  store: NetworkStore,
  sets: RangeSet[],
  requestedIPs: string[],
  id: string,
  ifName: string,
): IPConfig[] {
  const requested = new Set(requestedIPs);
  const ips: IPConfig[] = [];
  const rollback = () => {
    for (let i = 0; i < ips.length; i++) releaseByID(store, id, ifName);
  };
  sets.forEach((set, idx) => {
    let wanted: string | undefined;
    for (const ip of requested) {
      if (set.contains(ip)) {
        wanted = ip;
        requested.delete(ip);
        break;
      }
    }
    try {
      ips.push(
        wanted ? reserveRequested(store, set, idx, id, ifName, wanted) : reserveNext(store, set, idx, id, ifName),
      );
    } catch (e) {
      rollback();
      throw annotate(e, `failed to allocate for range ${idx}`);
    }
  });
  if (requested.size > 0) {
    rollback();
    throw new Error(`failed to allocate all requested IPs: ${[...requested].join(' ')}`);
  }
  return ips;
}

function reserveRequested(
  store: NetworkStore,
  set: RangeSet,
  rangeId: number,
  id: string,
  ifName: string,
  ip: string,
): IPConfig {
  const range = set.rangeOf(ip);
  if (!range) throw new Error(`${ip} not in range set ${set}`);
  if (ip === range.gateway) throw new Error(`requested ip ${ip} is subnet's gateway`);
  if (!store.reserve(ip, id, ifName, rangeId))
    throw new Error(`requested IP address ${ip} is not available in range set ${set}`);
  return { address: `${ip}/${range.subnet.prefix}`, gateway: range.gateway };
}

function reserveNext(store: NetworkStore, set: RangeSet, rangeId: number, id: string, ifName: string): IPConfig {
  // The reference lists files in name order and reports the first of this set that the container holds.
  const held = [...store.ipsOwnedBy(ownerKey(id, ifName)), ...store.ipsOwnedBy(legacyOwnerKey(id))].sort();
  for (const ip of held) {
    if (set.contains(ip)) throw new Error(`${ip} has been allocated to ${id}, duplicate allocation is not allowed`);
  }
  const allocator = allocatorFor(store.changes, set);
  const lastText = store.lastReservedIP(rangeId);
  const last = lastText === undefined ? null : (parseIP(lastText)?.text ?? null);
  for (;;) {
    const ip = allocator.nextFree(last);
    if (ip === null) throw new Error(`no IP addresses available in range set: ${set}`);
    // A file our view did not know (it cannot normally happen under the lock) is learnt by reserve() and
    // marked taken in the allocator through the view, so the loop moves on.
    if (store.reserve(ip, id, ifName, rangeId)) {
      const range = set.rangeOf(ip)!;
      return { address: `${ip}/${range.subnet.prefix}`, gateway: range.gateway };
    }
    if (!allocator.isReserved(ip)) allocator.reserve(ip);
  }
}

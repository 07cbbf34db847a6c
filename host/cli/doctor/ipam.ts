// host-local state behind the configured networks: range sets nearly full (over 90%; full is an error),
// empty reservation files (they hold an address for nobody, forever), and orphaned reservations — conservatively,
// a reservation whose container id has no entry in the runtime's result cache (libcni's <cache-dir>/results),
// checked only when that cache exists at all.
import { readdirSync } from 'node:fs';
import {
  type HostLocalNetwork,
  hostLocalNetwork,
  networkUsage,
  type RangeUsage,
  type ReservationFile,
} from '../../plugins/host-local/usage.ts';
import { resultsDir } from '../../runtime/cache.ts';
import type { Report } from './findings.ts';
import type { LoadedNetwork } from './netconf.ts';

export const NEARLY_FULL = 0.9;
/** Files listed per reported problem before "and N more". */
const SHOWN = 5;

/** The result cache's file names (<network>-<containerID>-<ifName>), or undefined when there is no cache. */
function cachedNames(cacheDir: string): Set<string> | undefined {
  try {
    return new Set(readdirSync(resultsDir(cacheDir)));
  } catch {
    return undefined;
  }
}

/**
 * Whether the runtime holds a result for the reservation's container: the exact entry for this network and
 * interface, else (old records without an interface, or a cache kept under another name) any entry naming the
 * container id.
 */
function hasCachedResult(cached: Set<string>, network: string, r: ReservationFile): boolean {
  if (r.ifName !== undefined && cached.has(`${network}-${r.containerId}-${r.ifName}`)) return true;
  const part = `-${r.containerId}-`;
  for (const name of cached) if (name.includes(part)) return true;
  return false;
}

function shortList<T>(items: T[], show: (t: T) => string): string {
  return items.slice(0, SHOWN).map(show).join(', ') + (items.length > SHOWN ? ` and ${items.length - SHOWN} more` : '');
}

export function checkHostLocal(report: Report, networks: LoadedNetwork[], cacheDir: string): void {
  const cached = cachedNames(cacheDir);
  const seen = new Set<string>();
  for (const { file, list } of networks) {
    for (const p of list.plugins) {
      const ipam = p.raw.ipam as { type?: unknown } | undefined;
      const conf = p.network.type === 'host-local' ? p.raw : ipam?.type === 'host-local' ? p.raw : undefined;
      if (!conf) continue;
      let net: HostLocalNetwork;
      try {
        net = hostLocalNetwork({ ...conf, name: list.name, cniVersion: list.cniVersion });
      } catch (e) {
        report.add(
          'ipam',
          'fail',
          `network "${list.name}" in ${file}: host-local config: ${(e as Error).message}`,
          `fix ipam in ${file}`,
        );
        continue;
      }
      const key = `${net.dataDir}/${net.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const usage = networkUsage(net, { readFiles: true });
      const sets = new Map<number, RangeUsage[]>();
      for (const r of usage.ranges) sets.set(r.rangeSet, [...(sets.get(r.rangeSet) ?? []), r]);
      for (const [i, ranges] of sets) {
        const size = ranges.reduce((n, r) => n + r.size, 0);
        const used = ranges.reduce((n, r) => n + r.allocated, 0);
        const text = `network "${net.name}" range set ${i} (${ranges.map((r) => r.range).join(',')}): ${used} of ${size} addresses allocated`;
        const ratio = size > 0 ? used / size : 1;
        if (ratio >= 1)
          report.add(
            'ipam',
            'fail',
            `${text}: full, new pods get no address`,
            `remove stale reservations in ${usage.dir} (see below) or widen ipam.ranges in ${file}`,
          );
        else if (ratio > NEARLY_FULL)
          report.add(
            'ipam',
            'warn',
            `${text} (${Math.round(ratio * 100)}%): nearly full`,
            `remove stale reservations in ${usage.dir} or widen ipam.ranges in ${file}`,
          );
        else report.add('ipam', 'ok', `${text} (${Math.round(ratio * 100)}%)`);
      }
      if (usage.truncated) report.add('ipam', 'info', `${usage.dir}: more files than doctor reads; counts are partial`);
      const empty = usage.reservations.filter((r) => r.bytes === 0);
      if (empty.length > 0)
        report.add(
          'ipam',
          'warn',
          `${usage.dir}: ${empty.length} empty reservation file(s), each holding an address for no container: ${shortList(empty, (r) => r.ip)}`,
          `rm -f ${empty.map((r) => r.file).join(' ')}`,
        );
      if (!cached) {
        if (usage.reservations.length > 0)
          report.add('ipam', 'info', `no result cache at ${resultsDir(cacheDir)}: orphaned reservations not checked`);
        continue;
      }
      const orphaned = usage.reservations.filter((r) => r.containerId && !hasCachedResult(cached, list.name, r));
      if (orphaned.length > 0)
        report.add(
          'ipam',
          'warn',
          `${usage.dir}: ${orphaned.length} reservation(s) of containers the runtime has no cached result for (deleted without a DEL?): ${shortList(orphaned, (r) => `${r.ip} (${r.containerId!.slice(0, 12)})`)}`,
          `rm -f ${orphaned.map((r) => r.file).join(' ')}   # after checking no pod uses these addresses (crictl pods)`,
        );
    }
  }
}

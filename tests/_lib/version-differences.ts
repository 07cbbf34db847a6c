// What differs between Debian's containernetworking-plugins 1.1.1 (the oracle installed here) and upstream v1.9.1
// (which we follow) and is not a plugin's own choice: masked before a differential comparison, each item named.
import type { StepRecord } from './oracle.ts';

/**
 * Masks what differs between Debian's 1.1.1 and v1.9.1 (which we follow) and is not a plugin's own choice:
 * * 1.1.1 prints `"dns": {}` in 1.x results; v1.9.1's library omits an empty DNS;
 * * 1.1.1 creates the container veth end with txqueuelen 0, v1.9.1 leaves the kernel default (1000);
 *   (the host end gets 0 from both);
 * * v1.9.1 sets net.ipv6.conf.<if>.keep_addr_on_down=1 before adding IPv6 addresses, 1.1.1 does not;
 * * host-local writes its files 0600 in v1.9.1, 0644 in 1.1.1.
 */
export function maskVersionDifferences(records: StepRecord[]): StepRecord[] {
  for (const r of records) {
    const res = (r.snapshot.outcome as { result?: Record<string, unknown> } | undefined)?.result;
    if (res?.dns && typeof res.dns === 'object' && Object.keys(res.dns).length === 0) delete res.dns;
    const raw = r.outcome.result as Record<string, unknown> | undefined;
    if (raw?.dns && Object.keys(raw.dns as object).length === 0) delete raw.dns;
    for (const pod of Object.values(
      (r.snapshot.pods ?? {}) as Record<
        string,
        { links?: Array<Record<string, unknown>>; sysctls?: Record<string, string> }
      >,
    )) {
      for (const l of pod.links ?? []) if (l.kind === 'veth') delete l.txqlen;
      for (const k of Object.keys(pod.sysctls ?? {})) if (k.endsWith('/keep_addr_on_down')) delete pod.sysctls![k];
    }
    for (const f of Object.values((r.snapshot.state ?? {}) as Record<string, { mode?: string }>)) delete f.mode;
    for (const ns of [r.snapshot.host, ...Object.values((r.snapshot.pods ?? {}) as object)] as Array<
      NsSnapshot | undefined
    >)
      dropCarrierTimed(ns);
  }
  return renumberVeths(records);
}

interface NsSnapshot {
  addrs?: Array<{ addrs?: Array<Record<string, unknown>> }>;
  routes?: Array<Record<string, unknown>>;
}

/**
 * What the kernel adds when a link gets carrier (IPv6 link-local addresses, fe80::/64, the fe80:: anycast and
 * ff00::/8 multicast routes) appears or goes a few milliseconds apart from run to run: not compared.
 */
function dropCarrierTimed(ns: NsSnapshot | undefined): void {
  if (!ns) return;
  for (const a of ns.addrs ?? []) if (a.addrs) a.addrs = a.addrs.filter((x) => x.local !== '<link-local>');
  if (ns.routes) {
    ns.routes = ns.routes.filter((r) => !(String(r.dst).startsWith('fe80:') || r.dst === 'ff00::/8'));
  }
}

/**
 * The harness numbers host veths over every veth on the machine (other suites' too); number them again in
 * order of first appearance so that a step without a result compares stably.
 */
function renumberVeths(records: StepRecord[]): StepRecord[] {
  return records.map((r) => {
    const seen = new Map<string, string>();
    const text = JSON.stringify(r.snapshot).replace(/<veth\d+>/g, (m) => {
      if (!seen.has(m)) seen.set(m, `<veth${seen.size + 1}>`);
      return seen.get(m)!;
    });
    return { ...r, snapshot: JSON.parse(text) };
  });
}

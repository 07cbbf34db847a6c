// Shared pieces of the bridge tests: config builders over a Sandbox, and the comparison with the reference
// (tests/_lib/oracle.ts) with the known, documented differences of Debian's 1.1.1 masked out.
import * as assert from 'uvu/assert';
import { compareWithReference, diffSnapshots, type CompareOptions, type Comparison, type StepRecord } from '../../_lib/oracle.ts';
import type { Sandbox } from '../../_lib/sandbox.ts';

export interface BridgeConfOptions {
  bridge: string;
  network: string;
  /** host-local ranges (one set per entry); omitted = L2 */
  subnets?: string[];
  dataDir?: string;
  routes?: Array<{ dst: string; gw?: string }>;
  cniVersion?: string;
  extra?: Record<string, unknown>;
  ipamExtra?: Record<string, unknown>;
}

export function bridgeConf(o: BridgeConfOptions): Record<string, unknown> {
  const conf: Record<string, unknown> = { cniVersion: o.cniVersion ?? '1.0.0', name: o.network, type: 'bridge', bridge: o.bridge, ...o.extra };
  if (o.subnets) {
    conf.ipam = {
      type: 'host-local', dataDir: o.dataDir, ranges: o.subnets.map((s) => [{ subnet: s }]),
      ...(o.routes ? { routes: o.routes } : {}), ...o.ipamExtra,
    };
  }
  return conf;
}

/**
 * Masks what differs between Debian's 1.1.1 and v1.9.1 (which we follow) and is not the bridge's own choice:
 * * 1.1.1 prints `"dns": {}` in 1.x results; v1.9.1's library omits an empty DNS;
 * * 1.1.1 creates the container veth end with txqueuelen 0, v1.9.1 leaves the kernel default (1000);
 *   (the host end gets 0 from both);
 * * v1.9.1 sets net.ipv6.conf.<if>.keep_addr_on_down=1 before adding IPv6 addresses, 1.1.1 does not;
 * * host-local writes its files 0600 in v1.9.1, 0644 in 1.1.1.
 */
export function maskVersionDifferences(records: StepRecord[]): StepRecord[] {
  for (const r of records) {
    const res = (r.snapshot.outcome as { result?: Record<string, unknown> } | undefined)?.result;
    if (res && res.dns && typeof res.dns === 'object' && Object.keys(res.dns).length === 0) delete res.dns;
    const raw = r.outcome.result as Record<string, unknown> | undefined;
    if (raw && raw.dns && Object.keys(raw.dns as object).length === 0) delete raw.dns;
    for (const pod of Object.values((r.snapshot.pods ?? {}) as Record<string, { links?: Array<Record<string, unknown>>; sysctls?: Record<string, string> }>)) {
      for (const l of pod.links ?? []) if (l.kind === 'veth') delete l.txqlen;
      for (const k of Object.keys(pod.sysctls ?? {})) if (k.endsWith('/keep_addr_on_down')) delete pod.sysctls![k];
    }
    for (const f of Object.values((r.snapshot.state ?? {}) as Record<string, { mode?: string }>)) delete f.mode;
    for (const ns of [r.snapshot.host, ...Object.values((r.snapshot.pods ?? {}) as object)] as Array<NsSnapshot | undefined>) dropCarrierTimed(ns);
  }
  return renumberVeths(records);
}

interface NsSnapshot { addrs?: Array<{ addrs?: Array<Record<string, unknown>> }>; routes?: Array<Record<string, unknown>> }

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

/** Runs the scenario on both and asserts the same error (code and message) for every step. */
export async function assertSameErrors(opts: CompareOptions): Promise<Comparison> {
  const cmp = await compareWithReference({
    ...opts,
    prepare: async (ctx) => {
      const c = await opts.prepare(ctx);
      return { ...c, scope: { nftTables: [], ...c.scope } };
    },
  });
  // the snapshot's copy of the outcome has the sandbox prefix replaced by <sb>
  const errors = (rs: StepRecord[]) => rs.map((r) => ({ step: r.label, outcome: { ...(r.snapshot.outcome as object), result: undefined } }));
  assert.equal(errors(cmp.records.ours), errors(cmp.records.reference));
  return cmp;
}

/** Runs the scenario on the reference and on ours and asserts both left the same state at every step. */
export async function assertSameAsReference(opts: CompareOptions): Promise<Comparison> {
  // Only the nft tables a case names: other suites change theirs (cni_hostport, ...) at the same time.
  const prepare = opts.prepare;
  const cmp = await compareWithReference({
    ...opts,
    prepare: async (ctx) => {
      const c = await prepare(ctx);
      return { ...c, scope: { nftTables: [], ...c.scope } };
    },
  });
  const diff = diffSnapshots(maskVersionDifferences(cmp.records.reference), maskVersionDifferences(cmp.records.ours));
  assert.is(diff, '', diff);
  return cmp;
}

/** The record of a step by label. */
export function stepOf(records: StepRecord[], label: string): StepRecord {
  const r = records.find((x) => x.label === label);
  if (!r) throw new Error(`no step ${label}`);
  return r;
}

export function hostSysctls(bridgeAndPorts = true): string[] {
  const keys = ['net/ipv4/ip_forward'];
  if (bridgeAndPorts) keys.push('net/ipv6/conf/*/accept_ra');
  return keys;
}

export const podSysctls = [
  'net/ipv6/conf/*/accept_dad', 'net/ipv6/conf/*/enhanced_dad', 'net/ipv4/conf/*/arp_notify',
  'net/ipv6/conf/*/disable_ipv6', 'net/ipv6/conf/*/keep_addr_on_down',
];

export function newIds(sb: Sandbox, token: string): { network: string; containerId: string; bridge: string } {
  return { network: `brnet-${token}`, containerId: `cid-${token}`, bridge: sb.name('br') };
}

// Shared pieces of the bridge tests: config builders over a Sandbox, and the comparison with the reference
// (tests/_lib/oracle.ts) with the known, documented differences of Debian's 1.1.1 masked out
// (tests/_lib/version-differences.ts).
import * as assert from 'uvu/assert';
import {
  compareWithReference,
  diffSnapshots,
  type CompareOptions,
  type Comparison,
  type StepRecord,
} from '../../_lib/oracle.ts';
import { maskVersionDifferences } from '../../_lib/version-differences.ts';

export { maskVersionDifferences };
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
  const conf: Record<string, unknown> = {
    cniVersion: o.cniVersion ?? '1.0.0',
    name: o.network,
    type: 'bridge',
    bridge: o.bridge,
    ...o.extra,
  };
  if (o.subnets) {
    conf.ipam = {
      type: 'host-local',
      dataDir: o.dataDir,
      ranges: o.subnets.map((s) => [{ subnet: s }]),
      ...(o.routes ? { routes: o.routes } : {}),
      ...o.ipamExtra,
    };
  }
  return conf;
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
  const errors = (rs: StepRecord[]) =>
    rs.map((r) => ({ step: r.label, outcome: { ...(r.snapshot.outcome as object), result: undefined } }));
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
  'net/ipv6/conf/*/accept_dad',
  'net/ipv6/conf/*/enhanced_dad',
  'net/ipv4/conf/*/arp_notify',
  'net/ipv6/conf/*/disable_ipv6',
  'net/ipv6/conf/*/keep_addr_on_down',
];

export function newIds(sb: Sandbox, token: string): { network: string; containerId: string; bridge: string } {
  return { network: `brnet-${token}`, containerId: `cid-${token}`, bridge: sb.name('br') };
}

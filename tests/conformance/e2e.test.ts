// The end-to-end scenario (docs/reference-notes.md §1): a bridge (ipMasq, hairpin) + portmap + bandwidth conflist
// through a libcni-style runtime, reference plugins against ours, compared after ADD, CHECK and DEL: result,
// links, addresses, routes, sysctls, iptables (nat/filter), nft, tc and host-local state.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareWithReference, diffSnapshots, referenceNames, type StepRecord } from '../_lib/oracle.ts';
import { maskVersionDifferences } from '../_lib/version-differences.ts';

const test = suite('conformance e2e');

interface E2e {
  cniVersion: string;
  ranges: Array<Array<{ subnet: string }>>;
  routes: Array<{ dst: string }>;
  hostPort: number;
}

function scenario(e: E2e) {
  return compareWithReference({
    prepare: async ({ sb, token }) => {
      const pod = await sb.netns('pod');
      const dataDir = sb.dir('ipam');
      return {
        config: {
          cniVersion: e.cniVersion,
          name: `e2e-${token}`,
          plugins: [
            {
              type: 'bridge',
              bridge: sb.name('br'),
              isGateway: true,
              ipMasq: true,
              hairpinMode: true,
              ipam: { type: 'host-local', dataDir, ranges: e.ranges, routes: e.routes },
            },
            { type: 'portmap', capabilities: { portMappings: true }, snat: true },
            { type: 'bandwidth', capabilities: { bandwidth: true } },
          ],
        },
        netns: pod.path,
        containerId: `e2e-${token}`,
        ifName: 'eth0',
        cniArgs: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-a;K8S_POD_INFRA_CONTAINER_ID=e2e-${token}`,
        capabilityArgs: {
          portMappings: [
            { hostPort: e.hostPort, containerPort: 8080, protocol: 'tcp' },
            { hostPort: e.hostPort + 1, containerPort: 5353, protocol: 'udp' },
          ],
          bandwidth: { ingressRate: 10000000, ingressBurst: 1000000, egressRate: 20000000, egressBurst: 1000000 },
        },
        scope: {
          dataDir,
          sysctls: ['net/ipv4/conf/*/route_localnet', 'net/ipv4/conf/*/forwarding'],
          podSysctls: ['net/ipv4/conf/eth0/arp_notify', 'net/ipv6/conf/eth0/accept_dad'],
        },
      };
    },
  });
}

/**
 * Debian 1.1.1's portmap CHECK checks each address family's rules in the other family's table too and fails
 * (containernetworking/plugins#819, fixed upstream):
 * compare the CHECK step's state but not its outcome, and return both outcomes for the caller to assert.
 */
function splitCheck(ref: StepRecord[], ours: StepRecord[]): string {
  const strip = (r: StepRecord[]) =>
    maskVersionDifferences(r).map((x) =>
      x.label === 'CHECK' ? { ...x, snapshot: { ...x.snapshot, outcome: undefined } } : x,
    );
  return diffSnapshots(strip(ref), strip(ours));
}

test('IPv4, cniVersion 1.0.0: same result, rules, links, tc and state after ADD, CHECK, DEL', async () => {
  const cmp = await scenario({
    cniVersion: '1.0.0',
    ranges: [[{ subnet: '10.200.83.0/24' }]],
    routes: [{ dst: '0.0.0.0/0' }],
    hostPort: 28380,
  });
  const { reference: ref, ours } = cmp.records;
  assert.is(ref[0]!.outcome.exitCode, 0, JSON.stringify(ref[0]!.outcome.error));
  assert.is(splitCheck(ref, ours), '', splitCheck(ref, ours));
  assert.is(ours[0]!.outcome.exitCode, 0, JSON.stringify(ours[0]!.outcome.error));
  assert.match(String(ref[1]!.outcome.error?.msg), /could not check ipv6 dnat/);
  assert.is(ours[1]!.outcome.exitCode, 0, `ours CHECK: ${JSON.stringify(ours[1]!.outcome.error)}`);
  assert.is(ours[2]!.outcome.exitCode, 0, JSON.stringify(ours[2]!.outcome.error));
  const names = referenceNames(`e2e-${cmp.token}`, `e2e-${cmp.token}`);
  const added = JSON.stringify(ours[0]!.snapshot);
  for (const n of [names.masqChain, names.dnatChain, names.ifb, '10.200.83.2/24'])
    assert.ok(added.includes(n), `after ADD: ${n}`);
  const deleted = JSON.stringify(ours[2]!.snapshot);
  for (const n of [names.masqChain, names.dnatChain, names.ifb]) assert.not.ok(deleted.includes(n), `after DEL: ${n}`);
});

test('dual stack, cniVersion 0.4.0: same after ADD, CHECK, DEL', async () => {
  const cmp = await scenario({
    cniVersion: '0.4.0',
    ranges: [[{ subnet: '10.200.84.0/24' }], [{ subnet: 'fd00:200:80::/64' }]],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    hostPort: 28382,
  });
  const { reference: ref, ours } = cmp.records;
  assert.is(ref[0]!.outcome.exitCode, 0, JSON.stringify(ref[0]!.outcome.error));
  assert.is(splitCheck(ref, ours), '', splitCheck(ref, ours));
  // #819 bites dual stack too: 1.1.1 looks for the IPv4 DNAT rules in the ip6tables chain.
  assert.match(String(ref[1]!.outcome.error?.msg), /could not check ipv6 dnat/);
  for (const r of ours) assert.is(r.outcome.exitCode, 0, `${r.label}: ${JSON.stringify(r.outcome.error)}`);
});

test.run();

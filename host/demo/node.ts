// The demo's node: the kubelet network-plugin layer (host/kubelet) with --network-plugin=kubenet, built the way
// dockershim builds it (createNetworkStack: hairpin mode, Init, the --pod-cidr event, the PluginManager), on the
// demo's own bridge, pod CIDR and private state (host-local store, result cache) under the demo's temp dir.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cniBinDir } from '../paths.ts';
import {
  DEFAULT_FLAGS,
  KubenetNetworkPlugin,
  SandboxTable,
  createNetworkStack,
  type NetworkFlags,
} from '../kubelet/index.ts';
import { formatStatusTable, podStatus, type PodRecord } from '../kubelet/pods.ts';
import type { DemoNode, DemoOptions, DemoPod } from './types.ts';

/**
 * kubenet's masquerade rule matches all of the node's outgoing traffic (it has no source match); the demo
 * passes the kubelet's "off" value so that a run on a real machine never rewrites anyone else's traffic.
 */
const NON_MASQUERADE_CIDR = '0.0.0.0/0';

export async function startNode(o: DemoOptions, pods: DemoPod[]): Promise<DemoNode> {
  const sandboxes = new SandboxTable();
  for (const p of pods) {
    sandboxes.set(p.sandboxId, {
      netns: p.netnsPath,
      ports: p.ports.map((m) => ({
        hostPort: m.hostPort,
        containerPort: m.containerPort,
        protocol: m.protocol === 'udp' ? 'UDP' : 'TCP',
        hostIP: '',
      })),
    });
  }
  const cacheDir = join(o.stateDir, 'cache');
  const dataDir = join(o.stateDir, 'ipam');
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const flags: NetworkFlags = {
    ...DEFAULT_FLAGS,
    networkPlugin: 'kubenet',
    cniBinDirs: [cniBinDir],
    cniCacheDir: cacheDir,
    podCidr: o.podCidr,
    nonMasqueradeCidr: NON_MASQUERADE_CIDR,
  };
  const stack = await createNetworkStack({
    flags,
    host: sandboxes,
    bridge: o.bridge,
    dataDir,
    dedupChain: `${o.bridge.toUpperCase()}-DEDUP`,
    prependDefaultBinDir: false,
  });
  const kubenet = stack.plugin;
  if (!(kubenet instanceof KubenetNetworkPlugin)) throw new Error(`expected kubenet, got ${kubenet.name()}`);
  await stack.manager.status();

  const record = (p: DemoPod): PodRecord => ({
    namespace: p.namespace,
    name: p.name,
    sandboxId: p.sandboxId,
    netns: p.netnsPath,
    ports: sandboxes.get(p.sandboxId)?.ports ?? [],
    annotations: p.annotations,
    flags: [],
    createdAt: '',
  });

  return {
    summary:
      `--network-plugin=kubenet --pod-cidr=${kubenet.cidrs.join(',')}, bridge ${o.bridge}, MTU ${kubenet.mtu}, ` +
      `hairpin ${stack.hairpinMode}, --cni-bin-dir=${cniBinDir}`,
    async up(p) {
      await stack.manager.setUpPod(p.namespace, p.name, p.sandboxId, p.annotations);
      const status = await stack.manager.getPodNetworkStatus(p.namespace, p.name, p.sandboxId);
      return status?.ips ?? [];
    },
    async down(p) {
      await stack.manager.tearDownPod(p.namespace, p.name, p.sandboxId);
    },
    async statusTable(ps) {
      return formatStatusTable(await Promise.all(ps.map((p) => podStatus(record(p)))));
    },
    async shutdown() {
      await kubenet.shutdown({ removeBridge: true });
    },
  };
}

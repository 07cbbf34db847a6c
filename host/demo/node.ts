// The demo's node: the kubelet network-plugin layer (host/kubelet) with kubenet, as dockershim drove it —
// Init, the pod-cidr-change event, then SetUpPod/TearDownPod through the PluginManager — on the demo's own
// bridge, pod CIDR and private state (host-local store, result cache) under the demo's temp dir.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cniBinDir } from '../paths.ts';
import { effectiveHairpinMode } from '../kubelet/flags.ts';
import { KubenetNetworkPlugin } from '../kubelet/kubenet.ts';
import { PluginManager } from '../kubelet/manager.ts';
import { POD_CIDR_CHANGE, POD_CIDR_KEY, type NetworkHost, type PortMapping } from '../kubelet/types.ts';
import { table } from './output.ts';
import type { DemoNode, DemoOptions, DemoPod } from './types.ts';

/**
 * The masquerade rule kubenet adds matches all of the node's outgoing traffic (no source match); the demo
 * switches it off (the kubelet's own "disabled" value) so a run on a real machine never rewrites other traffic.
 */
const NON_MASQUERADE_CIDR = '0.0.0.0/0';

export async function startNode(o: DemoOptions, pods: DemoPod[]): Promise<DemoNode> {
  const bySandbox = new Map(pods.map((p) => [p.sandboxId, p]));
  const pod = (id: string): DemoPod => {
    const p = bySandbox.get(id);
    if (!p) throw new Error(`no such sandbox: ${id}`);
    return p;
  };
  const host: NetworkHost = {
    getNetNS: async (id) => pod(id).netnsPath,
    getPodPortMappings: async (id) => pod(id).ports.map((m): PortMapping => ({
      hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol === 'udp' ? 'UDP' : 'TCP', hostIP: '',
    })),
  };
  const cacheDir = join(o.stateDir, 'cache');
  const dataDir = join(o.stateDir, 'ipam');
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const kubenet = new KubenetNetworkPlugin({
    binDirs: [cniBinDir], prependDefaultBinDir: false, cacheDir, dataDir,
    bridge: o.bridge, dedupChain: `${o.bridge.toUpperCase()}-DEDUP`,
  });
  const hairpin = effectiveHairpinMode('promiscuous-bridge', kubenet.name());
  await kubenet.init(host, hairpin, NON_MASQUERADE_CIDR, 0);
  const manager = new PluginManager(kubenet);
  manager.event(POD_CIDR_CHANGE, { [POD_CIDR_KEY]: o.podCidr });
  await manager.status();

  return {
    summary: `bridge ${o.bridge}, pod CIDR ${kubenet.cidrs.join(',')}, MTU ${kubenet.mtu}, hairpin ${hairpin}, plugins from ${cniBinDir}`,
    async up(p) {
      await manager.setUpPod(p.namespace, p.name, p.sandboxId, p.annotations);
      const status = await manager.getPodNetworkStatus(p.namespace, p.name, p.sandboxId);
      return status?.ips ?? [];
    },
    async down(p) {
      await manager.tearDownPod(p.namespace, p.name, p.sandboxId);
    },
    async statusTable(ps) {
      return podStatusTable(ps);
    },
    async shutdown() {
      await kubenet.shutdown({ removeBridge: true });
    },
  };
}

function podStatusTable(ps: DemoPod[]): string {
  return table([
    ['POD', 'IP', 'NETNS', 'PORTS', 'SHAPING'],
    ...ps.map((p) => [
      `${p.namespace}/${p.name}`, p.ip ?? '', p.netnsName,
      p.ports.map((m) => `${m.hostPort}->${m.containerPort}/${m.protocol}`).join(',') || '-',
      Object.entries(p.annotations).map(([k, v]) => `${k.replace('kubernetes.io/', '').replace('-bandwidth', '')} ${v}`).join(', ') || '-',
    ]),
  ]);
}

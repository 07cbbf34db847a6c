// The network kubenet generates once the pod CIDR is known (kubernetes v1.23
// pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go, Event and NET_CONFIG_TEMPLATE): the `bridge` config for cbr0
// in the kubelet's exact text, and the list we actually run, which chains `portmap` and `bandwidth` after it (hostPorts
// and shaping the way today's runtimes do them, instead of dockershim's hostport manager and tc shaper). Shared by the
// kubenet network plugin and the `kubenet` CNI meta-plugin.
import { Cidr, familyOf } from '../core/index.ts';
import { parseConfList, type NetworkConfigList } from '../runtime/config.ts';

/** The kubelet's --hairpin-mode values (kubenet: promiscuous-bridge or hairpin-veth on cbr0). */
export type HairpinMode = 'promiscuous-bridge' | 'hairpin-veth' | 'none';

export const KUBENET_NETWORK = 'kubenet';
export const DEFAULT_BRIDGE = 'cbr0';
/** Version of the list we run: chaining needs prevResult (≥ 0.3.0), DEL gets the cached result (≥ 0.4.0). */
export const KUBENET_LIST_VERSION = '0.4.0';

export interface KubenetNetworkOptions {
  /** Pod CIDRs in network form, in the order received. */
  podCidrs: string[];
  mtu: number;
  hairpinVeth: boolean;
  /** default cbr0 */
  bridge?: string;
  /** host-local store (default: host-local's own, /var/lib/cni/networks/kubenet) */
  dataDir?: string;
  /** network name (default kubenet; host-local keys its store by it) */
  name?: string;
}

/**
 * `--pod-cidr` / the pod-cidr-change value: comma-separated CIDRs, each reduced to its network
 * (`10.0.0.1/24` → `10.0.0.0/24`). Unlike the kubelet, a bad entry rejects the whole value.
 */
export function parsePodCidrs(value: string, dualStack = true): string[] {
  let parts = value.split(',');
  if (!dualStack && parts.length > 1) parts = parts.slice(0, 1);
  return parts.map((p) => {
    const c = Cidr.tryParse(p);
    if (!c) throw new Error(`invalid CIDR address: ${p}`);
    return `${c.network}/${c.prefix}`;
  });
}

/** The `ranges` body: one range set per CIDR, each with just a subnet (kubelet's exact text). */
export function rangesText(cidrs: readonly string[]): string {
  return cidrs.map((c) => `\n[{\n"subnet": "${c}"\n}]`).join(',');
}

/** The `routes` body: a default route per family present, IPv4 first (kubelet's exact text). */
export function routesText(cidrs: readonly string[]): string {
  const routes: string[] = [];
  if (cidrs.some((c) => familyOf(c) === 4)) routes.push('{"dst": "0.0.0.0/0"}');
  if (cidrs.some((c) => familyOf(c) === 6)) routes.push('{"dst": "::/0"}');
  return routes.join(',');
}

/** The bridge config exactly as the kubelet writes it (plus `dataDir` in ipam when one is given). */
export function kubenetBridgeConfigText(o: KubenetNetworkOptions): string {
  const dataDir = o.dataDir ? `,\n    "dataDir": ${JSON.stringify(o.dataDir)}` : '';
  return `{
  "cniVersion": "0.1.0",
  "name": ${JSON.stringify(o.name ?? KUBENET_NETWORK)},
  "type": "bridge",
  "bridge": ${JSON.stringify(o.bridge ?? DEFAULT_BRIDGE)},
  "mtu": ${o.mtu},
  "addIf": "eth0",
  "isGateway": true,
  "ipMasq": false,
  "hairpinMode": ${o.hairpinVeth},
  "ipam": {
    "type": "host-local",
    "ranges": [${rangesText(o.podCidrs)}],
    "routes": [${routesText(o.podCidrs)}]${dataDir}
  }
}`;
}

/** The list kubenet runs: the bridge config, then portmap (portMappings) and bandwidth (bandwidth). */
export function kubenetNetworkList(o: KubenetNetworkOptions): NetworkConfigList {
  const bridge = JSON.parse(kubenetBridgeConfigText(o)) as Record<string, unknown>;
  delete bridge.cniVersion;
  delete bridge.name;
  const list = {
    cniVersion: KUBENET_LIST_VERSION,
    name: o.name ?? KUBENET_NETWORK,
    plugins: [
      bridge,
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
  return parseConfList(new TextEncoder().encode(JSON.stringify(list)));
}

export const KUBENET_LOOPBACK_JSON = '{"cniVersion":"0.1.0","name":"kubenet-loopback","type":"loopback"}';

/** kubenet's loopback config, as a one-plugin list. */
export function kubenetLoopbackList(): NetworkConfigList {
  return parseConfList(
    new TextEncoder().encode('{"cniVersion":"0.1.0","name":"kubenet-loopback","plugins":[{"type":"loopback"}]}'),
  );
}

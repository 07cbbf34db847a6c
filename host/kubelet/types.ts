// The kubelet's network-plugin contract (dockershim era, 1.20–1.23): what a plugin offers and what the
// runtime side (the "host") gives it. Names and semantics follow
// kubernetes v1.23 pkg/kubelet/dockershim/network/plugins.go (NetworkPlugin, Host).
import type { HairpinMode } from '../node/kubenet-config.ts';
import { errorMessage } from '../errors.ts';

/** A host port of a pod, as the sandbox checkpoint lists it (protocol upper-case; hostPort 0 = none). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** '' = all addresses */
  hostIP: string;
}

/** What the runtime knows about a sandbox: the two calls plugins may make. */
export interface NetworkHost {
  /** The sandbox's network namespace path (throws when the sandbox is gone). */
  getNetNS(sandboxId: string): Promise<string>;
  /** Every declared container port of the sandbox (plugins skip hostPort <= 0). */
  getPodPortMappings(sandboxId: string): Promise<PortMapping[]>;
}

export interface PodNetworkStatus {
  /** IPs[0] */
  ip: string;
  /** IPv4 first */
  ips: string[];
}

export type { HairpinMode };

/** Event name and detail key the kubelet sends when the node's pod CIDR becomes known. */
export const POD_CIDR_CHANGE = 'pod-cidr-change';
export const POD_CIDR_KEY = 'pod-cidr';
/** The pod's interface name. */
export const DEFAULT_IF_NAME = 'eth0';
/** CNI call timeout (a bit under the 4-minute CRI request timeout). */
export const CNI_TIMEOUT_MS = 220_000;

export interface NetworkPlugin {
  /** `cni`, `kubenet`, `kubernetes.io/no-op` */
  name(): string;
  /** Called once, before anything else. */
  init(host: NetworkHost, hairpinMode: HairpinMode, nonMasqueradeCidr: string, mtu: number): Promise<void>;
  /** Only `pod-cidr-change` with details[`pod-cidr`] is ever sent. */
  event(name: string, details: Record<string, unknown>): void;
  /** Always empty in 1.20+. */
  capabilities(): Set<number>;
  setUpPod(
    namespace: string,
    name: string,
    sandboxId: string,
    annotations: Record<string, string>,
    options: Record<string, string>,
  ): Promise<void>;
  tearDownPod(namespace: string, name: string, sandboxId: string): Promise<void>;
  /** null: the plugin does not know (noop) — the runtime falls back to its own view. */
  getPodNetworkStatus(namespace: string, name: string, sandboxId: string): Promise<PodNetworkStatus | null>;
  /** Throws when the node's network is not ready (the message becomes the NetworkReady condition). */
  status(): Promise<void>;
}

/** `<name>_<namespace>`: the key of per-pod locks, hostport comments and error messages. */
export function podFullName(namespace: string, name: string): string {
  return `${name}_${namespace}`;
}

/** The container ID CNI gets: a sandbox ID's bare part (`docker://abc` → `abc`). */
export function bareContainerId(sandboxId: string): string {
  const at = sandboxId.indexOf('://');
  return at >= 0 ? sandboxId.slice(at + 3) : sandboxId;
}

/** Sysctls the plugins touch (net/bridge/..., net/ipv6/...), replaceable in tests. */
export interface SysctlAccess {
  /** Throws when the key does not exist. */
  get(key: string): number;
  set(key: string, value: number): void;
}

/** The host's interfaces for kubenet's MTU detection (replaceable in tests). */
export type MtuLister = () => Promise<
  Array<{ name: string; mtu: number; up: boolean; loopback: boolean; pointToPoint: boolean }>
>;

/** Several errors as one, printed like Go's utilerrors aggregate: one → its text, more → `[a, b]`. */
export function aggregate(errors: readonly unknown[]): Error | null {
  const msgs = errors.map(errorMessage);
  if (msgs.length === 0) return null;
  return new Error(msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`);
}

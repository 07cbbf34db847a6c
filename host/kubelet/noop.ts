// The noop plugin (`--network-plugin` empty): makes bridged traffic visible to iptables and does nothing
// else; its Init never fails (kubernetes v1.23 pkg/kubelet/dockershim/network/plugins.go, NoopNetworkPlugin).
import { errorMessage } from '../errors.ts';
import { SysctlOps } from '../net/sysctl.ts';
import type { HairpinMode, NetworkHost, NetworkPlugin, PodNetworkStatus, SysctlAccess } from './types.ts';

export const NOOP_PLUGIN_NAME = 'kubernetes.io/no-op';
export const BRIDGE_NF_CALL_IPTABLES = 'net/bridge/bridge-nf-call-iptables';
export const BRIDGE_NF_CALL_IP6TABLES = 'net/bridge/bridge-nf-call-ip6tables';

/** The host's /proc/sys. */
export function hostSysctl(): SysctlAccess {
  const ops = new SysctlOps(null);
  return {
    get: (key) => {
      const v = Number.parseInt(ops.get(key).trim(), 10);
      if (Number.isNaN(v)) throw new Error(`sysctl ${key}: not an integer`);
      return v;
    },
    set: (key, value) => ops.set(key, value),
  };
}

export type Logger = (message: string) => void;

/**
 * bridge-nf-call-iptables=1 always (failure only logged); bridge-nf-call-ip6tables=1 only when it can be read.
 * (The kubelet also runs `modprobe br-netfilter` first; we do not load modules — `wasm-cni doctor` reports a
 * missing br_netfilter.)
 */
export function enableBridgeNetfilter(sysctl: SysctlAccess, log: Logger, ip6 = true): void {
  try {
    sysctl.set(BRIDGE_NF_CALL_IPTABLES, 1);
  } catch (e) {
    log(`can't set sysctl bridge-nf-call-iptables: ${errorMessage(e)}`);
  }
  if (!ip6) return;
  let v: number;
  try {
    v = sysctl.get(BRIDGE_NF_CALL_IP6TABLES);
  } catch {
    return;
  }
  if (v !== 1) {
    try {
      sysctl.set(BRIDGE_NF_CALL_IP6TABLES, 1);
    } catch (e) {
      log(`can't set sysctl bridge-nf-call-ip6tables: ${errorMessage(e)}`);
    }
  }
}

export class NoopNetworkPlugin implements NetworkPlugin {
  constructor(
    private readonly sysctl: SysctlAccess = hostSysctl(),
    private readonly log: Logger = () => {},
  ) {}
  name(): string {
    return NOOP_PLUGIN_NAME;
  }
  async init(_host: NetworkHost, _hairpin: HairpinMode, _nonMasq: string, _mtu: number): Promise<void> {
    enableBridgeNetfilter(this.sysctl, this.log);
  }
  event(): void {}
  capabilities(): Set<number> {
    return new Set();
  }
  async setUpPod(): Promise<void> {}
  async tearDownPod(): Promise<void> {}
  async getPodNetworkStatus(): Promise<PodNetworkStatus | null> {
    return null;
  }
  async status(): Promise<void> {}
}

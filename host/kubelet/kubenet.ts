// The `kubenet` network plugin (kubernetes v1.23 pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go): a cbr0
// bridge network generated from the node's pod CIDR(s), run through the CNI bridge + host-local plugins (and, unlike
// dockershim, portmap for hostPorts and bandwidth for shaping, chained after the bridge), the MTU picked by the Wasm
// core, one masquerade rule, promiscuous-bridge mode with its de-dup rules.
import { annotate, errorMessage } from '../errors.ts';
import { readdirSync } from 'node:fs';
import { Cidr, pickMtu, type MtuInterface, familyOf } from '../core/index.ts';
import { withNetHandle } from '../net/index.ts';
import { SysctlOps } from '../net/sysctl.ts';
import { findInPath, type Env } from '../cni/invoke.ts';
import { CniRuntime, type PluginExecutor, type RuntimeConf } from '../runtime/runtime.ts';
import type { NetworkConfigList } from '../runtime/config.ts';
import { bandwidthCapability, extractPodBandwidth, kubenetBurst } from './bandwidth.ts';
import { portMappingsCapability } from './cni.ts';
import { syncDedupRules, removeDedupRules, DEDUP_CHAIN, type DedupPair } from '../firewall/dedup.ts';
import { hostInterfaces } from '../node/interfaces.ts';
import {
  DEFAULT_BRIDGE,
  kubenetBridgeConfigText,
  kubenetLoopbackList,
  kubenetNetworkList,
  parsePodCidrs,
} from '../node/kubenet-config.ts';
import { ensureMasqRule, removeMasqRule } from '../node/masq.ts';
import { enableBridgeNetfilter, hostSysctl, type Logger } from './noop.ts';
import { getPodIPs } from './podips.ts';
import {
  DEFAULT_IF_NAME,
  POD_CIDR_CHANGE,
  bareContainerId,
  POD_CIDR_KEY,
  aggregate,
  type HairpinMode,
  type NetworkHost,
  type NetworkPlugin,
  type PodNetworkStatus,
  type SysctlAccess,
} from './types.ts';

export const KUBENET_PLUGIN_NAME = 'kubenet';
export const DEFAULT_CNI_DIR = '/opt/cni/bin';
/** kubenet's own requirement: all three in one directory of the bin path. */
export const REQUIRED_PLUGINS = ['bridge', 'host-local', 'loopback'] as const;
/** What our kubenet chains after the bridge (resolved anywhere on the bin path). */
export const CHAINED_PLUGINS = ['portmap', 'bandwidth'] as const;

export interface KubenetOptions {
  /** --cni-bin-dir entries; /opt/cni/bin is put in front unless prependDefaultBinDir is false. */
  binDirs: string[];
  cacheDir: string;
  prependDefaultBinDir?: boolean;
  /** default cbr0 */
  bridge?: string;
  /** host-local's store (default /var/lib/cni/networks/kubenet) */
  dataDir?: string;
  /** network name (default kubenet) */
  networkName?: string;
  /** ebtables-style de-dup chain (default KUBE-DEDUP) */
  dedupChain?: string;
  exec?: PluginExecutor;
  env?: Env;
  sysctl?: SysctlAccess;
  /** The host's interfaces for MTU detection (default: read over netlink). */
  listInterfaces?: () => Promise<MtuInterface[]>;
  log?: Logger;
  /** Accept only the first pod CIDR (the kubelet with the IPv6DualStack gate off). Default false. */
  singleStack?: boolean;
}

export class KubenetNetworkPlugin implements NetworkPlugin {
  readonly runtime: CniRuntime;
  readonly binDirs: string[];
  readonly bridge: string;
  private host: NetworkHost | undefined;
  private hairpinMode: HairpinMode = 'none';
  private nonMasqueradeCidr = '10.0.0.0/8';
  private mtuValue = 0;
  private podCidrs: string[] = [];
  private netConfigText: string | undefined;
  private netConfig: NetworkConfigList | undefined;
  private readonly loConfig = kubenetLoopbackList();
  private readonly podIPs = new Map<string, string[]>();
  private readonly log: Logger;
  private readonly sysctl: SysctlAccess;

  constructor(readonly opts: KubenetOptions) {
    this.binDirs = opts.prependDefaultBinDir === false ? [...opts.binDirs] : [DEFAULT_CNI_DIR, ...opts.binDirs];
    this.bridge = opts.bridge ?? DEFAULT_BRIDGE;
    this.runtime = new CniRuntime({
      path: this.binDirs.filter((d) => d !== ''),
      cacheDir: opts.cacheDir,
      exec: opts.exec,
      env: opts.env,
      onStderr: () => {},
    });
    this.log = opts.log ?? (() => {});
    this.sysctl = opts.sysctl ?? hostSysctl();
  }

  name(): string {
    return KUBENET_PLUGIN_NAME;
  }
  get mtu(): number {
    return this.mtuValue;
  }
  /** Pod CIDRs in network form ([] until the first pod-cidr-change). */
  get cidrs(): string[] {
    return [...this.podCidrs];
  }
  /** The generated bridge config text (undefined until the pod CIDR is known). */
  get bridgeConfigText(): string | undefined {
    return this.netConfigText;
  }
  /** The list run for pods (bridge, portmap, bandwidth). */
  get networkList(): NetworkConfigList | undefined {
    return this.netConfig;
  }
  get nonMasqCidr(): string {
    return this.nonMasqueradeCidr;
  }
  get hairpin(): HairpinMode {
    return this.hairpinMode;
  }

  async init(host: NetworkHost, hairpinMode: HairpinMode, nonMasqueradeCidr: string, mtu: number): Promise<void> {
    this.host = host;
    this.hairpinMode = hairpinMode;
    this.nonMasqueradeCidr = nonMasqueradeCidr;
    if (mtu === 0) {
      let itfs: MtuInterface[] = [];
      try {
        itfs = await (this.opts.listInterfaces ?? hostInterfaces)();
      } catch (e) {
        this.log(`failed to list host interfaces: ${errorMessage(e)}`);
      }
      const choice = pickMtu(itfs);
      if (choice.source === 'fallback')
        this.log(`failed to find the minimum MTU (no suitable interface: ${this.bridge}), using ${choice.mtu}`);
      this.mtuValue = choice.mtu;
    } else {
      this.mtuValue = mtu;
    }
    enableBridgeNetfilter(this.sysctl, this.log, false);
    await ensureMasqRule(nonMasqueradeCidr);
  }

  event(name: string, details: Record<string, unknown>): void {
    if (name !== POD_CIDR_CHANGE) return;
    const value = details[POD_CIDR_KEY];
    if (typeof value !== 'string' || value === '') {
      this.log(`${name} event didn't have pod CIDR`);
      return;
    }
    if (this.netConfig) {
      this.log(`ignoring subsequent pod CIDR update to ${value}`);
      return;
    }
    let cidrs: string[];
    try {
      cidrs = parsePodCidrs(value, !this.opts.singleStack);
    } catch (e) {
      this.log(`failed to parse pod CIDR ${value}: ${errorMessage(e)}`);
      return;
    }
    const o = {
      podCidrs: cidrs,
      mtu: this.mtuValue,
      hairpinVeth: this.hairpinMode === 'hairpin-veth',
      bridge: this.bridge,
      dataDir: this.opts.dataDir,
      name: this.opts.networkName,
    };
    try {
      this.netConfigText = kubenetBridgeConfigText(o);
      this.netConfig = kubenetNetworkList(o);
      this.podCidrs = cidrs;
    } catch (e) {
      this.netConfigText = undefined;
      this.netConfig = undefined;
      this.log(`failed to generate the kubenet network config: ${errorMessage(e)}`);
    }
  }

  capabilities(): Set<number> {
    return new Set();
  }

  async status(): Promise<void> {
    if (!this.netConfig) throw new Error('kubenet does not have netConfig. This is most likely due to lack of PodCIDR');
    if (!this.checkRequiredBinaries()) {
      throw new Error(
        `could not locate kubenet required CNI plugins [${REQUIRED_PLUGINS.join(' ')}] at [${this.binDirs.map((d) => JSON.stringify(d)).join(' ')}]`,
      );
    }
    const path = this.binDirs.filter((d) => d !== '');
    for (const p of CHAINED_PLUGINS) {
      try {
        findInPath(p, path);
      } catch {
        throw new Error(
          `could not locate CNI plugin "${p}" (hostPorts/shaping) at [${this.binDirs.map((d) => JSON.stringify(d)).join(' ')}]`,
        );
      }
    }
  }

  /** The kubelet's check: one directory of the bin path holds bridge, host-local and loopback. */
  checkRequiredBinaries(): boolean {
    return this.binDirs.some((dir) => {
      let names: string[];
      try {
        names = readdirSync(dir).map((n) => n.trim());
      } catch {
        return false;
      }
      return REQUIRED_PLUGINS.every((p) => names.includes(p));
    });
  }

  async setUpPod(
    namespace: string,
    name: string,
    sandboxId: string,
    annotations: Record<string, string>,
    _options: Record<string, string>,
  ): Promise<void> {
    try {
      await this.status();
    } catch (e) {
      throw annotate(e, 'kubenet cannot SetUpPod');
    }
    try {
      await this.setup(sandboxId, annotations);
    } catch (e) {
      try {
        await this.teardown(namespace, name, sandboxId);
      } catch (t) {
        this.log(`failed to tear down after failed setup: ${errorMessage(t)}`);
      }
      throw e;
    }
    await ensureMasqRule(this.nonMasqueradeCidr).catch((e) => this.log(errorMessage(e)));
  }

  private async setup(sandboxId: string, annotations: Record<string, string>): Promise<void> {
    const host = this.requireHost();
    let bw;
    try {
      bw = extractPodBandwidth(annotations);
    } catch (e) {
      throw annotate(e, 'error reading pod bandwidth annotations');
    }
    let netns = '';
    try {
      netns = await host.getNetNS(sandboxId);
    } catch (e) {
      this.log(`kubenet failed to retrieve network namespace path: ${errorMessage(e)}`);
    }
    if (netns) this.disableDad(netns);
    await this.runtime.addNetworkList(this.loConfig, { containerId: bareContainerId(sandboxId), netns, ifName: 'lo' });
    const rt = await this.runtimeConf(sandboxId, netns);
    const mappings = await host.getPodPortMappings(sandboxId);
    rt.capabilityArgs = { portMappings: portMappingsCapability(mappings) };
    const bandwidth = bandwidthCapability(bw, kubenetBurst);
    if (bandwidth) rt.capabilityArgs.bandwidth = bandwidth;
    let result;
    try {
      result = (await this.runtime.addNetworkList(this.netConfig!, rt)).result;
    } catch (e) {
      throw annotate(e, 'error adding container to network');
    }
    const v4 = result.ips?.find((i) => familyOf(i.address) === 4);
    const v6 = result.ips?.find((i) => familyOf(i.address) === 6);
    if (!v4 && !v6) throw new Error("cni didn't report ipv4 ipv6");
    const pairs: DedupPair[] = [];
    const ips: string[] = [];
    for (const c of [v4, v6]) {
      if (!c) continue;
      const cidr = Cidr.parse(c.address);
      ips.push(cidr.ip);
      if (c.gateway) pairs.push({ gateway: c.gateway, subnet: `${cidr.network}/${cidr.prefix}` });
    }
    if (this.hairpinMode === 'promiscuous-bridge') await this.promiscuousBridge(pairs);
    this.podIPs.set(sandboxId, ips);
  }

  /** cbr0 promiscuous (fatal on failure) and the de-dup rules (best effort). */
  private async promiscuousBridge(pairs: DedupPair[]): Promise<void> {
    const mac = await withNetHandle(null, async (h) => {
      let link;
      try {
        link = await h.link.get(this.bridge);
      } catch (e) {
        throw annotate(e, `failed to lookup "${this.bridge}"`);
      }
      if (!link.promisc) {
        try {
          await h.link.setPromisc(this.bridge, true);
        } catch (e) {
          throw annotate(e, `Error setting promiscuous mode on ${this.bridge}`);
        }
      }
      return link.mac;
    });
    try {
      await syncDedupRules(mac, pairs, this.opts.dedupChain ?? DEDUP_CHAIN);
    } catch (e) {
      this.log(`failed to ensure the de-dup rules: ${errorMessage(e)}`);
    }
  }

  /** IPv6 DAD off inside the pod (best effort; only when the host has IPv6). */
  private disableDad(netns: string): void {
    try {
      this.sysctl.get('net/ipv6/conf/default/dad_transmits');
    } catch {
      this.log('ipv6 not enabled');
      return;
    }
    try {
      new SysctlOps(netns).set('net/ipv6/conf/default/dad_transmits', 0);
    } catch (e) {
      this.log(`failed to disable DAD in the pod: ${errorMessage(e)}`);
    }
  }

  async tearDownPod(namespace: string, name: string, sandboxId: string): Promise<void> {
    if (!this.netConfig) throw new Error('kubenet needs a PodCIDR to tear down pods');
    await this.teardown(namespace, name, sandboxId);
    await ensureMasqRule(this.nonMasqueradeCidr).catch((e) => this.log(errorMessage(e)));
  }

  /**
   * DEL of loopback and the kubenet list (portmap and bandwidth undo hostPorts and shaping from the cached
   * result). Unlike the kubelet, DEL errors are returned even when no IPs were recorded for the sandbox.
   */
  private async teardown(_namespace: string, _name: string, sandboxId: string): Promise<void> {
    const errors: unknown[] = [];
    let netns = '';
    try {
      netns = await this.requireHost().getNetNS(sandboxId);
    } catch {
      /* DEL without a netns still releases the IP */
    }
    const ignoreMissing = (e: unknown) => {
      if (!errorMessage(e).includes('no such file or directory')) errors.push(e);
    };
    await this.runtime
      .delNetworkList(this.loConfig, { containerId: bareContainerId(sandboxId), netns, ifName: 'lo' })
      .catch(ignoreMissing);
    if (this.netConfig) {
      const rt = await this.runtimeConf(sandboxId, netns);
      try {
        rt.capabilityArgs = {
          portMappings: portMappingsCapability(await this.requireHost().getPodPortMappings(sandboxId)),
        };
      } catch (e) {
        errors.push(e);
      }
      await this.runtime.delNetworkList(this.netConfig, rt).catch(ignoreMissing);
    }
    this.podIPs.delete(sandboxId);
    const err = aggregate(errors);
    if (err) throw err;
  }

  async getPodNetworkStatus(_namespace: string, _name: string, sandboxId: string): Promise<PodNetworkStatus> {
    const cached = this.podIPs.get(sandboxId);
    if (cached && cached.length > 0) return { ip: cached[0]!, ips: [...cached] };
    let netns: string;
    try {
      netns = await this.requireHost().getNetNS(sandboxId);
    } catch (e) {
      throw annotate(e, 'kubenet failed to retrieve network namespace path');
    }
    if (netns === '')
      throw new Error(`cannot find the network namespace, skipping pod network status for container "${sandboxId}"`);
    const ips = await getPodIPs(netns);
    this.podIPs.set(sandboxId, ips);
    return { ip: ips[0]!, ips: [...ips] };
  }

  /** Records IPs for a sandbox (what the kubelet's cache holds; used by callers restoring state, and tests). */
  recordPodIPs(sandboxId: string, ips: string[]): void {
    this.podIPs.set(sandboxId, [...ips]);
  }

  /**
   * Node teardown (the kubelet never does this): the masquerade rule, the de-dup chain and, when asked, the
   * bridge. Pods must be torn down first.
   */
  async shutdown(opts: { removeBridge?: boolean } = {}): Promise<void> {
    const errors: unknown[] = [];
    await removeMasqRule(this.nonMasqueradeCidr).catch((e) => errors.push(e));
    await removeDedupRules(this.opts.dedupChain ?? DEDUP_CHAIN).catch((e) => errors.push(e));
    if (opts.removeBridge)
      await withNetHandle(null, (h) => h.link.deleteIfExists(this.bridge)).catch((e) => errors.push(e));
    const err = aggregate(errors);
    if (err) throw err;
  }

  private async runtimeConf(sandboxId: string, netns: string): Promise<RuntimeConf> {
    return { containerId: bareContainerId(sandboxId), netns, ifName: DEFAULT_IF_NAME };
  }

  private requireHost(): NetworkHost {
    if (!this.host) throw new Error('network plugin used before Init');
    return this.host;
  }
}

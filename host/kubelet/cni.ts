// The `cni` network plugin (kubernetes v1.23 pkg/kubelet/dockershim/network/cni/cni.go): the default network = the
// first valid config file in --cni-conf-dir (re-read at most every 5 s), a loopback network, CNI_ARGS with the pod's
// identity, and runtimeConfig (portMappings, bandwidth, ipRanges) built from the pod. Plugins run through host/runtime.
import { annotate, errorMessage } from '../errors.ts';
import { CniRuntime, type PluginExecutor, type RuntimeConf } from '../runtime/runtime.ts';
import { confFiles, loadConfFile, parseConfList, type NetworkConfigList } from '../runtime/config.ts';
import { findInPath, type Env } from '../cni/invoke.ts';
import { bandwidthCapability, extractPodBandwidth } from './bandwidth.ts';
import { getPodIPs } from './podips.ts';
import type { Logger } from './noop.ts';
import {
  CNI_TIMEOUT_MS,
  DEFAULT_IF_NAME,
  bareContainerId,
  POD_CIDR_CHANGE,
  POD_CIDR_KEY,
  type HairpinMode,
  type NetworkHost,
  type NetworkPlugin,
  type PodNetworkStatus,
  type PortMapping,
} from './types.ts';

export const CNI_PLUGIN_NAME = 'cni';
/** How long a loaded default network is trusted before the directory is read again. */
export const CONFIG_RESYNC_MS = 5000;
/** setUpPod option carrying the pod UID (sent as K8S_POD_UID when present). */
export const POD_UID_OPTION = 'uid';
/** setUpPod option carrying the CRI DNSConfig JSON. */
export const DNS_OPTION = 'dns';

export const LOOPBACK_NETWORK_JSON = '{"cniVersion":"0.2.0","name":"cni-loopback","plugins":[{"type":"loopback"}]}';

export interface CniNetwork {
  name: string;
  list: NetworkConfigList;
  /** Capabilities declared true by any plugin of the list, sorted. */
  capabilities: string[];
  /** The file it was loaded from ('' for built-in networks). */
  file: string;
}

export interface CniPluginOptions {
  confDir: string;
  cacheDir: string;
  /** --cni-bin-dir entries (empty ones are dropped). */
  binDirs: string[];
  /** How plugins are run (default: exec the binaries on binDirs). */
  exec?: PluginExecutor;
  /** Base environment for plugin processes (default: this process's). */
  env?: Env;
  /** Replaces the loopback network (tests). */
  loopback?: NetworkConfigList;
  resyncMs?: number;
  log?: Logger;
}

/** Reads the default network of a config dir: the first file (byte order) that parses and validates. */
export async function getDefaultCniNetwork(
  confDir: string,
  runtime: CniRuntime,
  log: Logger = () => {},
): Promise<CniNetwork> {
  const files = confFiles(confDir, ['.conf', '.conflist', '.json']);
  if (files.length === 0) throw new Error(`no networks found in ${confDir}`);
  for (const file of files) {
    let list: NetworkConfigList;
    try {
      list = loadConfFile(file);
    } catch (e) {
      log(`error loading CNI config file ${file}: ${errorMessage(e)}`);
      continue;
    }
    if (list.plugins.length === 0) {
      log(`CNI config list ${file} has no networks, skipping`);
      continue;
    }
    try {
      const capabilities = await runtime.validateNetworkList(list);
      return { name: list.name, list, capabilities, file };
    } catch (e) {
      log(`error validating CNI config list ${file}: ${errorMessage(e)}`);
    }
  }
  throw new Error(`no valid networks found in ${confDir}`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: context deadline exceeded`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class CniNetworkPlugin implements NetworkPlugin {
  readonly runtime: CniRuntime;
  readonly loopbackNetwork: CniNetwork;
  private defaultNetwork: CniNetwork | undefined;
  private lastSync = 0;
  private podCidr = '';
  private host: NetworkHost | undefined;
  private readonly log: Logger;
  private readonly resyncMs: number;

  constructor(readonly opts: CniPluginOptions) {
    const binDirs = opts.binDirs.filter((d) => d !== '');
    this.runtime = new CniRuntime({
      path: binDirs,
      cacheDir: opts.cacheDir,
      exec: opts.exec,
      env: opts.env,
      onStderr: () => {},
    });
    const lo = opts.loopback ?? parseConfList(new TextEncoder().encode(LOOPBACK_NETWORK_JSON));
    this.loopbackNetwork = { name: lo.name, list: lo, capabilities: [], file: '' };
    this.log = opts.log ?? (() => {});
    this.resyncMs = opts.resyncMs ?? CONFIG_RESYNC_MS;
  }

  name(): string {
    return CNI_PLUGIN_NAME;
  }

  /** The network pods are attached to, if one has been loaded. */
  network(): CniNetwork | undefined {
    return this.defaultNetwork;
  }

  /** The pod CIDR received with the first pod-cidr-change event ('' until then). */
  get podCIDR(): string {
    return this.podCidr;
  }

  /** Re-reads the config dir; on failure the previously loaded network stays (as the kubelet does). */
  async syncNetworkConfig(): Promise<void> {
    this.lastSync = Date.now();
    try {
      this.defaultNetwork = await getDefaultCniNetwork(this.opts.confDir, this.runtime, this.log);
    } catch (e) {
      this.log(`unable to update cni config: ${errorMessage(e)}`);
      throw e;
    }
  }

  async init(host: NetworkHost, _hairpin: HairpinMode, _nonMasq: string, _mtu: number): Promise<void> {
    this.host = host;
    await this.syncNetworkConfig().catch(() => {});
  }

  event(name: string, details: Record<string, unknown>): void {
    if (name !== POD_CIDR_CHANGE) return;
    const cidr = details[POD_CIDR_KEY];
    if (typeof cidr !== 'string' || cidr === '') {
      this.log(`${name} event didn't have pod CIDR`);
      return;
    }
    if (this.podCidr !== '') {
      this.log(`ignoring subsequent pod CIDR update to ${cidr}`);
      return;
    }
    this.podCidr = cidr;
  }

  capabilities(): Set<number> {
    return new Set();
  }

  async status(): Promise<void> {
    await this.refresh();
    this.checkInitialized();
    // Not checked by the kubelet, but every SetUpPod would fail without it.
    if (!this.opts.exec) {
      for (const p of this.loopbackNetwork.list.plugins) {
        try {
          findInPath(p.network.type, this.runtime.path);
        } catch (e) {
          throw annotate(e, 'cni loopback plugin missing');
        }
      }
    }
  }

  async setUpPod(
    namespace: string,
    name: string,
    sandboxId: string,
    annotations: Record<string, string>,
    options: Record<string, string>,
  ): Promise<void> {
    await this.refresh();
    const network = this.checkInitialized();
    let netns: string;
    try {
      netns = await this.requireHost().getNetNS(sandboxId);
    } catch (e) {
      throw annotate(e, 'CNI failed to retrieve network namespace path');
    }
    const rt = await this.runtimeConf(namespace, name, sandboxId, netns, annotations, options);
    await withTimeout(
      (async () => {
        await this.runtime.addNetworkList(this.loopbackNetwork.list, rt);
        await this.runtime.addNetworkList(network.list, rt);
      })(),
      CNI_TIMEOUT_MS,
      'SetUpPod',
    );
  }

  async tearDownPod(namespace: string, name: string, sandboxId: string): Promise<void> {
    await this.refresh();
    const network = this.checkInitialized();
    let netns = '';
    try {
      netns = await this.requireHost().getNetNS(sandboxId);
    } catch (e) {
      this.log(`CNI failed to retrieve network namespace path: ${errorMessage(e)}`);
    }
    const rt = await this.runtimeConf(namespace, name, sandboxId, netns, undefined, undefined);
    await withTimeout(
      (async () => {
        try {
          await this.runtime.delNetworkList(this.loopbackNetwork.list, rt);
        } catch (e) {
          this.log(`error deleting loopback network: ${errorMessage(e)}`);
        }
        try {
          await this.runtime.delNetworkList(network.list, rt);
        } catch (e) {
          if (!errorMessage(e).includes('no such file or directory')) throw e;
        }
      })(),
      CNI_TIMEOUT_MS,
      'TearDownPod',
    );
  }

  async getPodNetworkStatus(_namespace: string, _name: string, sandboxId: string): Promise<PodNetworkStatus> {
    let netns: string;
    try {
      netns = await this.requireHost().getNetNS(sandboxId);
    } catch (e) {
      throw annotate(e, 'CNI failed to retrieve network namespace path');
    }
    if (netns === '')
      throw new Error(`cannot find the network namespace, skipping pod network status for container "${sandboxId}"`);
    let ips: string[];
    try {
      ips = await getPodIPs(netns);
    } catch (e) {
      throw new Error(
        `cannot find pod IPs in the network namespace, skipping pod network status for container "${sandboxId}": ${errorMessage(e)}`,
      );
    }
    return { ip: ips[0]!, ips };
  }

  /** The attachment as libcni gets it (kubelet buildCNIRuntimeConf); no annotations/options on DEL. */
  async runtimeConf(
    namespace: string,
    name: string,
    sandboxId: string,
    netns: string,
    annotations: Record<string, string> | undefined,
    options: Record<string, string> | undefined,
  ): Promise<RuntimeConf> {
    const args: Array<[string, string]> = [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', namespace],
      ['K8S_POD_NAME', name],
      ['K8S_POD_INFRA_CONTAINER_ID', sandboxId],
    ];
    if (options?.[POD_UID_OPTION]) args.push(['K8S_POD_UID', options[POD_UID_OPTION]]);
    let mappings: PortMapping[];
    try {
      mappings = await this.requireHost().getPodPortMappings(sandboxId);
    } catch (e) {
      throw annotate(e, 'could not retrieve port mappings');
    }
    const capabilityArgs: Record<string, unknown> = {
      portMappings: portMappingsCapability(mappings),
      ipRanges: [[{ subnet: this.podCidr }]],
    };
    let bw;
    try {
      bw = extractPodBandwidth(annotations);
    } catch (e) {
      throw annotate(e, 'failed to get pod bandwidth from annotations');
    }
    const bandwidth = bandwidthCapability(bw);
    if (bandwidth) capabilityArgs.bandwidth = bandwidth;
    if (options && Object.hasOwn(options, DNS_OPTION)) {
      try {
        const dns = JSON.parse(options[DNS_OPTION]!);
        if (dns === null || typeof dns !== 'object' || Array.isArray(dns))
          throw new Error('json: cannot unmarshal into Go value of type runtime.DNSConfig');
      } catch (e) {
        throw annotate(e, `failed to unmarshal dns config "${options[DNS_OPTION]}"`);
      }
      // On Linux the kubelet builds no `dns` capability argument (it is Windows-only).
    }
    return { containerId: bareContainerId(sandboxId), netns, ifName: DEFAULT_IF_NAME, args, capabilityArgs };
  }

  private async refresh(): Promise<void> {
    if (Date.now() - this.lastSync >= this.resyncMs) await this.syncNetworkConfig().catch(() => {});
  }

  private checkInitialized(): CniNetwork {
    const n = this.defaultNetwork;
    if (!n) throw new Error('cni config uninitialized');
    if (n.capabilities.includes('ipRanges') && this.podCidr === '')
      throw new Error('cni config needs ipRanges but no PodCIDR set');
    return n;
  }

  private requireHost(): NetworkHost {
    if (!this.host) throw new Error('network plugin used before Init');
    return this.host;
  }
}

/** runtimeConfig.portMappings: host ports > 0 only, protocol lower-case, hostIP always present. */
export function portMappingsCapability(mappings: readonly PortMapping[]): Array<Record<string, unknown>> {
  return mappings
    .filter((m) => m.hostPort > 0)
    .map((m) => ({
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol: m.protocol.toLowerCase(),
      hostIP: m.hostIP ?? '',
    }));
}

/** `[cni]`, after one best-effort read of the config dir (the kubelet probes even when cni is not selected). */
export async function probeCniPlugins(opts: CniPluginOptions): Promise<CniNetworkPlugin[]> {
  const p = new CniNetworkPlugin(opts);
  await p.syncNetworkConfig().catch(() => {});
  return [p];
}

// host/kubelet: the kubelet's network-plugin layer (dockershim era): cni, kubenet, noop, the PluginManager.
export * from './types.ts';
export {
  DEFAULT_FLAGS,
  FLAG_HELP,
  FlagError,
  effectiveHairpinMode,
  formatNetworkFlags,
  isNetworkFlag,
  parseNetworkFlags,
  setFlag,
  type NetworkFlags,
} from './flags.ts';
export {
  createNetworkStack,
  initNetworkPlugin,
  qualifiedNameErrors,
  type InitResult,
  type NetworkStack,
  type NetworkStackOptions,
} from './plugins.ts';
export { PluginManager } from './manager.ts';
export { NetworkPluginMetrics } from './metrics.ts';
export { NoopNetworkPlugin, NOOP_PLUGIN_NAME, enableBridgeNetfilter, hostSysctl, type Logger } from './noop.ts';
export {
  CniNetworkPlugin,
  CNI_PLUGIN_NAME,
  DNS_OPTION,
  POD_UID_OPTION,
  getDefaultCniNetwork,
  portMappingsCapability,
  probeCniPlugins,
  type CniNetwork,
  type CniPluginOptions,
} from './cni.ts';
export {
  KubenetNetworkPlugin,
  KUBENET_PLUGIN_NAME,
  REQUIRED_PLUGINS,
  CHAINED_PLUGINS,
  type KubenetOptions,
} from './kubenet.ts';
export { hostInterfaces } from '../node/interfaces.ts';
export {
  DEFAULT_BRIDGE,
  KUBENET_NETWORK,
  kubenetBridgeConfigText,
  kubenetNetworkList,
  parsePodCidrs,
  rangesText,
  routesText,
} from '../node/kubenet-config.ts';
export { ensureMasqRule, removeMasqRule, listMasqRules, masqRule, MASQ_COMMENT } from '../node/masq.ts';
export { DEDUP_CHAIN, listDedupRules, removeDedupRules, syncDedupRules, ebtablesInstalled } from '../firewall/dedup.ts';
export {
  EGRESS_ANNOTATION,
  INGRESS_ANNOTATION,
  UNLIMITED_BURST,
  bandwidthCapability,
  kubeletBurst,
  kubenetBurst,
  type BurstPolicy,
  extractPodBandwidth,
  type PodBandwidth,
} from './bandwidth.ts';
export { getPodIPs } from './podips.ts';
export { SandboxTable, parsePortSpec, type SandboxInfo } from './host.ts';

// The kubelet's network flags, with its names and defaults (kubernetes v1.23
// cmd/kubelet/app/options/container_runtime.go), and the hairpin-mode rule dockershim applies before plugin init
// (pkg/kubelet/dockershim/docker_service.go, effectiveHairpinMode).
import type { HairpinMode } from './types.ts';

export interface NetworkFlags {
  /** --network-plugin: 'cni', 'kubenet', '' (noop) */
  networkPlugin: string;
  /** --cni-bin-dir, split on commas (empty entries kept here; the cni plugin drops them) */
  cniBinDirs: string[];
  /** --cni-conf-dir */
  cniConfDir: string;
  /** --cni-cache-dir */
  cniCacheDir: string;
  /** --network-plugin-mtu (0 = detect) */
  networkPluginMtu: number;
  /** --non-masquerade-cidr */
  nonMasqueradeCidr: string;
  /** --pod-cidr ('' = none; 'v4,v6' for dual-stack) */
  podCidr: string;
  /** --hairpin-mode as given (see effectiveHairpinMode) */
  hairpinMode: string;
}

export const DEFAULT_FLAGS: Readonly<NetworkFlags> = Object.freeze({
  networkPlugin: '',
  cniBinDirs: ['/opt/cni/bin'],
  cniConfDir: '/etc/cni/net.d',
  cniCacheDir: '/var/lib/cni/cache',
  networkPluginMtu: 0,
  nonMasqueradeCidr: '10.0.0.0/8',
  podCidr: '',
  hairpinMode: 'promiscuous-bridge',
});

export const FLAG_HELP = `kubelet network flags (names and defaults as the kubelet's):
  --network-plugin cni|kubenet    '' (default) = noop
  --cni-bin-dir DIRS              comma-separated plugin dirs, first match wins (default /opt/cni/bin)
  --cni-conf-dir DIR              cni: where the default network is found (default /etc/cni/net.d)
  --cni-cache-dir DIR             result cache (default /var/lib/cni/cache)
  --network-plugin-mtu N          kubenet: bridge MTU, 0 = smallest MTU of the host's up interfaces (default 0)
  --non-masquerade-cidr CIDR      kubenet: masquerade traffic leaving this CIDR (default 10.0.0.0/8)
  --pod-cidr CIDR[,CIDR]          the node's pod CIDR(s), IPv4 and/or IPv6
  --hairpin-mode MODE             promiscuous-bridge (default), hairpin-veth, none
`;

export class FlagError extends Error {}

const FLAG_KEYS: Record<string, keyof NetworkFlags> = {
  '--network-plugin': 'networkPlugin',
  '--cni-bin-dir': 'cniBinDirs',
  '--cni-conf-dir': 'cniConfDir',
  '--cni-cache-dir': 'cniCacheDir',
  '--network-plugin-mtu': 'networkPluginMtu',
  '--non-masquerade-cidr': 'nonMasqueradeCidr',
  '--pod-cidr': 'podCidr',
  '--hairpin-mode': 'hairpinMode',
};

export function isNetworkFlag(flag: string): boolean {
  return Object.hasOwn(FLAG_KEYS, flag.split('=')[0]!);
}

/** Sets one flag from its text value (the kubelet's parsing: comma split, integer MTU). */
export function setFlag(flags: NetworkFlags, flag: string, value: string): void {
  const key = FLAG_KEYS[flag];
  if (!key) throw new FlagError(`unknown flag: ${flag}`);
  switch (key) {
    case 'cniBinDirs':
      flags.cniBinDirs = value.split(',');
      break;
    case 'networkPluginMtu': {
      if (!/^[+-]?\d+$/.test(value.trim()))
        throw new FlagError(
          `invalid argument "${value}" for "${flag}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`,
        );
      flags.networkPluginMtu = Number(value.trim());
      break;
    }
    default:
      flags[key] = value;
  }
}

/**
 * Pulls the kubelet network flags (`--flag value` or `--flag=value`) out of argv; returns them over the
 * defaults, plus the arguments that are not network flags, in order.
 */
export function parseNetworkFlags(
  argv: readonly string[],
  base: Partial<NetworkFlags> = {},
): { flags: NetworkFlags; rest: string[] } {
  const flags: NetworkFlags = { ...DEFAULT_FLAGS, cniBinDirs: [...DEFAULT_FLAGS.cniBinDirs], ...base };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (!Object.hasOwn(FLAG_KEYS, name)) {
      rest.push(a);
      continue;
    }
    const value: string | undefined = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new FlagError(`flag needs an argument: ${name}`);
    setFlag(flags, name, value);
  }
  return { flags, rest };
}

/** The flags back as argv (only those that differ from the defaults), e.g. to record a pod's node settings. */
export function formatNetworkFlags(flags: NetworkFlags): string[] {
  const out: string[] = [];
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    const v = flags[key];
    const d = DEFAULT_FLAGS[key];
    const text = Array.isArray(v) ? v.join(',') : String(v);
    const dText = Array.isArray(d) ? d.join(',') : String(d);
    if (text !== dText) out.push(`${flag}=${text}`);
  }
  return out;
}

/**
 * dockershim's effective hairpin mode: promiscuous-bridge is kubenet-only and silently becomes hairpin-veth
 * for any other plugin; unknown values are fatal (`unknown value: "<x>"`).
 */
export function effectiveHairpinMode(mode: string, pluginName: string): HairpinMode {
  switch (mode) {
    case 'promiscuous-bridge':
      return pluginName === 'kubenet' ? 'promiscuous-bridge' : 'hairpin-veth';
    case 'hairpin-veth':
    case 'none':
      return mode;
    default:
      throw new FlagError(`unknown value: "${mode}"`);
  }
}

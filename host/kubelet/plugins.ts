// Choosing and initialising the network plugin as dockershim does (kubernetes v1.23
// pkg/kubelet/dockershim/network/plugins.go, InitNetworkPlugin), and one call that builds the whole stack from the
// kubelet's flags.
import { errorMessage } from '../errors.ts';
import type { PluginExecutor } from '../runtime/runtime.ts';
import type { Env } from '../cni/invoke.ts';
import { CniNetworkPlugin, probeCniPlugins } from './cni.ts';
import { effectiveHairpinMode, type NetworkFlags } from './flags.ts';
import { KubenetNetworkPlugin } from './kubenet.ts';
import { PluginManager } from './manager.ts';
import { NoopNetworkPlugin, type Logger } from './noop.ts';
import {
  POD_CIDR_CHANGE,
  POD_CIDR_KEY,
  aggregate,
  type HairpinMode,
  type MtuLister,
  type NetworkHost,
  type NetworkPlugin,
  type SysctlAccess,
} from './types.ts';

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes' qualified-name check ([prefix/]name); returns the reasons it fails ([] when valid). */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const errs: string[] = [];
  if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    name = n;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
      errs.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      );
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME.test(name))
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    );
  return errs;
}

export interface InitResult {
  plugin: NetworkPlugin | undefined;
  /** Every error collected (any one is fatal for dockershim). */
  error: Error | null;
}

/**
 * InitNetworkPlugin: '' → the noop plugin (always initialised); otherwise the probed plugin of that name,
 * initialised. Invalid and duplicate names among the probed plugins are errors even when another is chosen.
 */
export async function initNetworkPlugin(
  plugins: NetworkPlugin[],
  name: string,
  host: NetworkHost,
  hairpinMode: HairpinMode,
  nonMasqueradeCidr: string,
  mtu: number,
  noop: () => NetworkPlugin = () => new NoopNetworkPlugin(),
): Promise<InitResult> {
  if (name === '') {
    const p = noop();
    await p.init(host, hairpinMode, nonMasqueradeCidr, mtu);
    return { plugin: p, error: null };
  }
  const errors: string[] = [];
  const byName = new Map<string, NetworkPlugin>();
  for (const p of plugins) {
    const n = p.name();
    const reasons = qualifiedNameErrors(n);
    if (reasons.length > 0) {
      errors.push(`network plugin has invalid name: "${n}": ${reasons.join(', ')}`);
      continue;
    }
    if (byName.has(n)) {
      errors.push(`network plugin "${n}" was registered more than once`);
      continue;
    }
    byName.set(n, p);
  }
  const chosen = byName.get(name);
  if (chosen) {
    try {
      await chosen.init(host, hairpinMode, nonMasqueradeCidr, mtu);
    } catch (e) {
      errors.push(`network plugin "${name}" failed init: ${errorMessage(e)}`);
    }
  } else {
    errors.push(`network plugin "${name}" not found`);
  }
  return { plugin: chosen, error: aggregate(errors) };
}

export interface NetworkStackOptions {
  /** Defaults: the kubelet's (DEFAULT_FLAGS). */
  flags: NetworkFlags;
  host: NetworkHost;
  /** kubenet: bridge name (default cbr0), host-local store, network name, de-dup chain. */
  bridge?: string;
  dataDir?: string;
  networkName?: string;
  dedupChain?: string;
  /** kubenet: put /opt/cni/bin in front of --cni-bin-dir (the kubelet always does). Default true. */
  prependDefaultBinDir?: boolean;
  exec?: PluginExecutor;
  env?: Env;
  sysctl?: SysctlAccess;
  listInterfaces?: MtuLister;
  log?: Logger;
}

export interface NetworkStack {
  manager: PluginManager;
  plugin: NetworkPlugin;
  hairpinMode: HairpinMode;
}

/**
 * What dockershim does at start-up: effective hairpin mode, probe cni + kubenet, InitNetworkPlugin (any error
 * is fatal: `didn't find compatible CNI plugin with given settings ...`), the PluginManager around it, and the
 * --pod-cidr forwarded as a pod-cidr-change event when set.
 */
export async function createNetworkStack(o: NetworkStackOptions): Promise<NetworkStack> {
  const f = o.flags;
  const hairpinMode = effectiveHairpinMode(f.hairpinMode, f.networkPlugin);
  const sysctl = o.sysctl;
  const probed: NetworkPlugin[] = [];
  if (f.networkPlugin !== '') {
    const cni: CniNetworkPlugin[] =
      f.networkPlugin === 'cni'
        ? await probeCniPlugins({
            confDir: f.cniConfDir,
            cacheDir: f.cniCacheDir,
            binDirs: f.cniBinDirs,
            exec: o.exec,
            env: o.env,
            log: o.log,
          })
        : [
            new CniNetworkPlugin({
              confDir: f.cniConfDir,
              cacheDir: f.cniCacheDir,
              binDirs: f.cniBinDirs,
              exec: o.exec,
              env: o.env,
              log: o.log,
            }),
          ];
    probed.push(...cni);
    probed.push(
      new KubenetNetworkPlugin({
        binDirs: f.cniBinDirs,
        cacheDir: f.cniCacheDir,
        prependDefaultBinDir: o.prependDefaultBinDir,
        bridge: o.bridge,
        dataDir: o.dataDir,
        networkName: o.networkName,
        dedupChain: o.dedupChain,
        exec: o.exec,
        env: o.env,
        sysctl,
        listInterfaces: o.listInterfaces,
        log: o.log,
      }),
    );
  }
  const { plugin, error } = await initNetworkPlugin(
    probed,
    f.networkPlugin,
    o.host,
    hairpinMode,
    f.nonMasqueradeCidr,
    f.networkPluginMtu,
    () => new NoopNetworkPlugin(sysctl, o.log),
  );
  if (error || !plugin) {
    throw new Error(
      `didn't find compatible CNI plugin with given settings ${JSON.stringify(f)}: ${error?.message ?? 'no plugin'}`,
    );
  }
  if (f.podCidr !== '') plugin.event(POD_CIDR_CHANGE, { [POD_CIDR_KEY]: f.podCidr });
  return { manager: new PluginManager(plugin), plugin, hairpinMode };
}

// What libcni does for a container runtime: run a network configuration list against an attachment
// (ADD in order with prevResult chaining, DEL in reverse with the cached result, CHECK, GC, STATUS),
// inject runtimeConfig for declared capabilities, probe plugin versions, and keep the result cache.
// Plugins are executables found on the plugin path (ours or the reference's alike); `exec` can be
// replaced (e.g. to run our handlers in-process).
import { annotate, errorMessage } from '../errors.ts';
import { CniError, cniErrorText } from '../cni/errors.ts';
import { findInPath, readPluginResult, spawnPlugin, stdoutOrThrow, type Env } from '../cni/invoke.ts';
import type { PluginResponse } from '../cni/handler.ts';
import { parseJson, isPlainObject } from '../cni/decode.ts';
import { parseResult, resultToWire, sortKeys, withDefaultVersion } from '../cni/result.ts';
import { validateContainerId, validateInterfaceName, validateNetworkName } from '../cni/skel.ts';
import type { CapabilityArgs, GCAttachment, Result } from '../cni/types.ts';
import { CURRENT_VERSION, versionAtLeast } from '../cni/version.ts';
import {
  DEFAULT_CACHE_DIR,
  decodeCacheEntry,
  deleteCacheEntry,
  listCachedAttachments,
  readCacheFile,
  writeCacheEntry,
  type CacheEntry,
} from './cache.ts';
import type { NetworkConfigList, PluginConfig } from './config.ts';

/** One attachment: what a runtime knows about the container side. */
export interface RuntimeConf {
  containerId: string;
  /** Path of the network namespace ('' allowed for DEL). */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, in order. */
  args?: Array<[string, string]>;
  capabilityArgs?: CapabilityArgs;
}

export interface PluginExecutor {
  /** Full path of the plugin called `type` (throws with libcni's messages). */
  find(type: string, paths: readonly string[]): string;
  run(pluginPath: string, stdin: Uint8Array, env: Env): Promise<PluginResponse>;
}

export const execExecutor: PluginExecutor = { find: findInPath, run: spawnPlugin };

export interface RuntimeOptions {
  /** Plugin directories (CNI_PATH), searched in order. */
  path: readonly string[];
  /** libcni's cacheDir: results live in `<cacheDir>/results`. Default /var/lib/cni. */
  cacheDir?: string;
  /** Base environment for plugins (default: this process's). CNI_* variables are set on top. */
  env?: Env;
  exec?: PluginExecutor;
  /** Where plugins' stderr goes on success (libcni copies it to its own stderr). */
  onStderr?: (text: string) => void;
}

export interface AddResult {
  /** The final result as printed by the last plugin (cniVersion filled in when it was missing). */
  raw: Record<string, unknown>;
  /** The same in the 1.x model. */
  result: Result;
}

export interface VersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

function describe(p: PluginConfig): string {
  const name = p.network.name ? ` name=${JSON.stringify(p.network.name)}` : '';
  return `type=${JSON.stringify(p.network.type)}${name}`;
}

/** libcni's `fmt.Errorf("<prefix>: %w", err)`, keeping the plugin's code for callers that want it. */
function wrap(e: unknown, prefix: string): CniError {
  const inner = cniErrorText(e);
  return new CniError(e instanceof CniError ? e.code : 999, `${prefix}: ${inner}`);
}

export class CniRuntime {
  readonly path: readonly string[];
  readonly cacheDir: string;
  private readonly env: Env;
  private readonly exec: PluginExecutor;
  private readonly onStderr: (text: string) => void;

  constructor(opts: RuntimeOptions) {
    this.path = opts.path;
    this.cacheDir = opts.cacheDir || DEFAULT_CACHE_DIR;
    this.env = opts.env ?? process.env;
    this.exec = opts.exec ?? execExecutor;
    this.onStderr =
      opts.onStderr ??
      ((t) => {
        process.stderr.write(t);
      });
  }

  // ---- list operations ----------------------------------------------------------------------------------

  /** ADD every plugin in order, chaining results; the final result is cached only when all succeed. */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<AddResult> {
    validateAttachment(list.name, rt);
    let prev: AddResult | undefined;
    for (const plugin of list.plugins) {
      try {
        const conf = this.buildConfig(
          list,
          plugin,
          prev ? resultToWire(prev.result, prev.result.cniVersion) : undefined,
          rt,
        );
        const stdout = await this.runPlugin(plugin, 'ADD', conf, rt);
        prev = readPluginResult(stdout, list.cniVersion);
      } catch (e) {
        throw wrap(e, `plugin ${describe(plugin)} failed (add)`);
      }
    }
    if (!prev) throw new Error('no plugin configs found');
    try {
      writeCacheEntry(this.cacheDir, {
        containerId: rt.containerId,
        config: list.bytes,
        ifName: rt.ifName,
        networkName: list.name,
        netns: rt.netns,
        cniArgs: rt.args,
        capabilityArgs: rt.capabilityArgs,
        result: resultToWire(prev.result, prev.result.cniVersion) as Record<string, unknown>,
      });
    } catch (e) {
      throw annotate(e, `failed to set network "${list.name}" cached result`);
    }
    return prev;
  }

  /** CHECK every plugin in order with the cached result; a no-op when the list disables CHECK. */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    validateAttachment(list.name, rt);
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw new Error(`configuration version "${list.cniVersion}" does not support the CHECK command`);
    }
    if (list.disableCheck) return;
    let cached: Result | undefined;
    try {
      cached = this.cachedResult(list, rt);
    } catch (e) {
      throw annotate(e, `failed to get network "${list.name}" cached result`);
    }
    const prev = cached ? resultToWire(cached, list.cniVersion) : undefined;
    for (const plugin of list.plugins) {
      await this.runPlugin(plugin, 'CHECK', this.buildConfig(list, plugin, prev, rt), rt);
    }
  }

  /** DEL every plugin in reverse order with the cached result (≥ 0.4.0), then drop the cache entry. */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    validateAttachment(list.name, rt);
    let prev: unknown;
    if (versionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        const cached = this.cachedResult(list, rt);
        if (cached) prev = resultToWire(cached, list.cniVersion);
      } catch {
        deleteCacheEntry(this.cacheDir, list.name, rt.containerId, rt.ifName); // unreadable: DEL without it
      }
    }
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.runPlugin(plugin, 'DEL', this.buildConfig(list, plugin, prev, rt), rt);
      } catch (e) {
        throw wrap(e, `plugin ${describe(plugin)} failed (delete)`);
      }
    }
    deleteCacheEntry(this.cacheDir, list.name, rt.containerId, rt.ifName);
  }

  /**
   * GC (libcni GCNetworkList): DEL every cached attachment of this network that is not in `valid`
   * (all of them when `valid` is undefined), then, for lists ≥ 1.1.0, send GC to every plugin.
   * Errors are collected and thrown together at the end.
   */
  async gcNetworkList(list: NetworkConfigList, valid?: GCAttachment[]): Promise<void> {
    if (list.disableGC) return;
    const keep = new Set((valid ?? []).map((a) => `${a.containerID}\u0000${a.ifname}`));
    const errors: string[] = [];
    for (const att of listCachedAttachments(this.cacheDir)) {
      if (att.networkName !== list.name || keep.has(`${att.containerId}\u0000${att.ifName}`)) continue;
      const rt: RuntimeConf = {
        containerId: att.containerId,
        netns: att.netns ?? '',
        ifName: att.ifName,
        args: att.cniArgs,
        capabilityArgs: att.capabilityArgs,
      };
      try {
        await this.delNetworkList(list, rt);
      } catch (e) {
        errors.push(`failed to delete stale attachment ${rt.containerId} ${rt.ifName}: ${errorMessage(e)}`);
      }
    }
    if (versionAtLeast(list.cniVersion, '1.1.0')) {
      const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
      if (valid) {
        inject['cni.dev/valid-attachments'] = valid;
        inject['cni.dev/attachments'] = valid;
      }
      for (const plugin of list.plugins) {
        try {
          await this.runPlugin(plugin, 'GC', { ...plugin.raw, ...inject }, undefined);
        } catch (e) {
          errors.push(`failed to GC plugin ${plugin.network.type}: ${cniErrorText(e)}`);
        }
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  }

  /** STATUS (≥ 1.1.0; a no-op for older lists): every plugin in order, the first error as is. */
  async statusNetworkList(list: NetworkConfigList): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) {
      await this.runPlugin(
        plugin,
        'STATUS',
        { ...plugin.raw, name: list.name, cniVersion: list.cniVersion },
        undefined,
      );
    }
  }

  /** The cached final result of an attachment, converted to the list's version; undefined when none is cached. */
  cachedResult(list: NetworkConfigList, rt: RuntimeConf): Result | undefined {
    const bytes = readCacheFile(this.cacheDir, list.name, rt.containerId, rt.ifName);
    if (!bytes) return undefined;
    const entry = decodeCacheEntry(bytes);
    let raw: unknown;
    if (entry) raw = entry.result ?? {};
    else raw = parseJson(bytes); // legacy: the file is the result itself
    const declared =
      isPlainObject(raw) && typeof raw.cniVersion === 'string' && raw.cniVersion ? raw.cniVersion : '0.1.0';
    const result = parseResult(withDefaultVersion(raw, declared), declared);
    try {
      resultToWire(result, list.cniVersion);
    } catch (e) {
      throw new Error(`failed to convert cached result to config version "${list.cniVersion}": ${errorMessage(e)}`);
    }
    return result;
  }

  /** The whole cache entry of an attachment (libcni GetNetworkListCachedConfig: config bytes, CNI args, capability args). */
  cachedAttachment(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>): CacheEntry | undefined {
    const bytes = readCacheFile(this.cacheDir, network, rt.containerId, rt.ifName);
    return bytes ? decodeCacheEntry(bytes) : undefined;
  }

  /** Every cached attachment, optionally of one container (libcni GetCachedAttachments). */
  cachedAttachments(containerId = ''): CacheEntry[] {
    return listCachedAttachments(this.cacheDir, containerId);
  }

  /** VERSION probe of a plugin (libcni GetVersionInfo). */
  async versionInfo(type: string): Promise<VersionInfo> {
    const pluginPath = this.exec.find(type, this.path);
    const env = this.pluginEnv('VERSION', { containerId: '', netns: 'dummy', ifName: 'dummy' }, 'dummy');
    const res = await this.exec.run(pluginPath, new TextEncoder().encode(`{"cniVersion":"${CURRENT_VERSION}"}`), env);
    let stdout: string;
    try {
      stdout = stdoutOrThrow(res);
    } catch (e) {
      if (e instanceof CniError && e.toString() === 'unknown CNI_COMMAND: VERSION')
        return { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] };
      throw e;
    }
    let info: unknown;
    try {
      info = parseJson(stdout);
    } catch (e) {
      throw annotate(e, 'decoding version info');
    }
    const o = isPlainObject(info) ? info : {};
    const cniVersion = typeof o.cniVersion === 'string' ? o.cniVersion : '';
    if (!cniVersion) throw new Error('decoding version info: missing field cniVersion');
    const supported = Array.isArray(o.supportedVersions)
      ? o.supportedVersions.filter((v): v is string => typeof v === 'string')
      : [];
    if (supported.length === 0) {
      if (cniVersion === '0.2.0') return { cniVersion, supportedVersions: ['0.1.0', '0.2.0'] };
      throw new Error('decoding version info: missing field supportedVersions');
    }
    return { cniVersion, supportedVersions: supported };
  }

  /** Checks that every plugin of the list exists and supports its version; returns the declared capabilities. */
  async validateNetworkList(list: NetworkConfigList): Promise<string[]> {
    const errors: string[] = [];
    const caps = new Set<string>();
    const expected = list.cniVersion || '0.1.0';
    for (const plugin of list.plugins) {
      try {
        const info = await this.versionInfo(plugin.network.type);
        if (!info.supportedVersions.includes(expected)) {
          errors.push(`plugin ${plugin.network.type} does not support config version "${expected}"`);
        }
      } catch (e) {
        errors.push(cniErrorText(e));
      }
      for (const [c, on] of Object.entries(plugin.network.capabilities ?? {})) if (on) caps.add(c);
    }
    if (errors.length > 0) throw new Error(`[${errors.join(' ')}]`);
    return [...caps].sort();
  }

  // ---- one plugin -------------------------------------------------------------------------------------------

  /** The stdin one plugin gets (libcni buildOneConfig): list name/version, prevResult, runtimeConfig for declared+supplied capabilities. */
  buildConfig(
    list: NetworkConfigList,
    plugin: PluginConfig,
    prevResult: unknown,
    rt: RuntimeConf,
  ): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin.raw, name: list.name, cniVersion: list.cniVersion };
    if (prevResult !== undefined) conf.prevResult = prevResult;
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, declared] of Object.entries(plugin.network.capabilities ?? {})) {
      if (declared && rt.capabilityArgs && Object.hasOwn(rt.capabilityArgs, cap))
        runtimeConfig[cap] = rt.capabilityArgs[cap];
    }
    if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
    return conf;
  }

  private pluginEnv(command: string, rt: RuntimeConf | undefined, path?: string): Env {
    return {
      ...this.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt?.containerId ?? '',
      CNI_NETNS: rt?.netns ?? '',
      CNI_ARGS: (rt?.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_IFNAME: rt?.ifName ?? '',
      CNI_PATH: path ?? this.path.join(':'),
    };
  }

  private async runPlugin(
    plugin: PluginConfig,
    command: string,
    conf: Record<string, unknown>,
    rt: RuntimeConf | undefined,
  ): Promise<string> {
    const pluginPath = this.exec.find(plugin.network.type, this.path);
    const stdin = new TextEncoder().encode(JSON.stringify(sortKeys(conf)));
    const res = await this.exec.run(pluginPath, stdin, this.pluginEnv(command, rt));
    const out = stdoutOrThrow(res);
    if (res.stderr) this.onStderr(res.stderr);
    return out;
  }
}

/** Container id, network name and interface name checked before anything runs or any cache path is built. */
export function validateAttachment(network: string, rt: RuntimeConf): void {
  validateContainerId(rt.containerId);
  validateNetworkName(network);
  validateInterfaceName(rt.ifName);
}

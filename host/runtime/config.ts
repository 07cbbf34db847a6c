// Network configuration files as libcni reads them: .conflist lists, legacy single-plugin .conf/.json files
// (wrapped as a one-plugin list), the per-network plugin directory, cniVersions selection, and the
// directory searches (by name like cnitool, or the default network like container runtimes).
import { annotate, errorMessage } from '../errors.ts';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { DecodeError, isPlainObject, parseJson } from '../cni/decode.ts';
import { netConfSchema, type DecodedNetConf } from '../cni/netconf.ts';
import { sortKeys } from '../cni/result.ts';
import { CURRENT_VERSION, compareVersions } from '../cni/version.ts';

export interface PluginConfig {
  /** The plugin object as libcni keeps it (re-serialised, keys sorted). */
  raw: Record<string, unknown>;
  /** Its common fields (type, capabilities, ...), decoded Go-style. */
  network: DecodedNetConf & { type: string };
}

export interface NetworkConfigList {
  name: string;
  /** The selected version ("" means 0.1.0 semantics). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The bytes the list was loaded from (cached, base64, in the result cache's `config`). */
  bytes: Uint8Array;
}

function jsonBytes(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(sortKeys(v)));
}

/** Go's %T for a value decoded into interface{}. */
function goTypeOf(v: unknown): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** One plugin object (libcni NetworkPluginConfFromBytes). */
export function parsePluginConf(obj: unknown): PluginConfig {
  let network: DecodedNetConf | undefined;
  try {
    network = netConfSchema.decode(obj, { path: [] });
  } catch (e) {
    if (e instanceof DecodeError) throw new Error(`error parsing configuration: ${e.message}`);
    throw e;
  }
  if (!network.type) throw new Error("error parsing configuration: missing 'type'");
  return { raw: sortKeys(obj) as Record<string, unknown>, network: network as PluginConfig['network'] };
}

/** A configuration list from bytes (libcni NetworkConfFromBytes; no sibling directory lookup). */
export function parseConfList(bytes: Uint8Array): NetworkConfigList {
  const fail = (msg: string): never => {
    throw new Error(`error parsing configuration list: ${msg}`);
  };
  let raw: unknown;
  try {
    raw = parseJson(bytes);
  } catch (e) {
    return fail(errorMessage(e));
  }
  if (raw === null) raw = {};
  if (!isPlainObject(raw))
    return fail(
      `json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw === 'boolean' ? 'bool' : typeof raw} into Go value of type map[string]interface {}`,
    );

  if (!Object.hasOwn(raw, 'name')) fail('no name');
  const name = raw.name;
  if (typeof name !== 'string') return fail(`invalid name type ${goTypeOf(name)}`);

  let cniVersion = '';
  if (Object.hasOwn(raw, 'cniVersion')) {
    if (typeof raw.cniVersion !== 'string') return fail(`invalid cniVersion type ${goTypeOf(raw.cniVersion)}`);
    cniVersion = raw.cniVersion;
  }

  if (Object.hasOwn(raw, 'cniVersions')) {
    const rvs = raw.cniVersions;
    if (!Array.isArray(rvs)) return fail('invalid type for cniVersions: []interface {}');
    const pool: string[] = [];
    for (const [i, rv] of rvs.entries()) {
      if (typeof rv !== 'string') fail(`invalid type for cniVersions index ${i}: ${goTypeOf(rv)}`);
      let newer: boolean;
      try {
        newer = compareVersions(rv, CURRENT_VERSION) > 0;
      } catch (e) {
        return fail(`invalid cniVersions entry ${rv} at index ${i}: ${errorMessage(e)}`);
      }
      if (!newer) pool.push(rv);
    }
    if (cniVersion !== '') {
      let newer: boolean;
      try {
        newer = compareVersions(cniVersion, CURRENT_VERSION) > 0;
      } catch (e) {
        return fail(`invalid cniVersion ${cniVersion}: ${errorMessage(e)}`);
      }
      if (!newer) pool.push(cniVersion);
    }
    pool.sort(compareVersions);
    if (pool.length > 0) cniVersion = pool[pool.length - 1]!;
  }

  const readBool = (key: string): boolean => {
    if (!Object.hasOwn(raw, key)) return false;
    const v = (raw as Record<string, unknown>)[key];
    if (typeof v === 'boolean') return v;
    if (typeof v !== 'string') return fail(`invalid type ${goTypeOf(v)} for ${key}`);
    const s = v.toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
    return fail(`invalid value "${s}" for ${key}`);
  };
  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck: readBool('disableCheck'),
    disableGC: readBool('disableGC'),
    loadOnlyInlinedPlugins: readBool('loadOnlyInlinedPlugins'),
    plugins: [],
    bytes,
  };

  if (!Object.hasOwn(raw, 'plugins')) {
    if (list.loadOnlyInlinedPlugins) fail("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return list;
  }
  const plugins = raw.plugins;
  if (!Array.isArray(plugins)) return fail(`invalid 'plugins' type ${goTypeOf(plugins)}`);
  if (plugins.length === 0) fail('no plugins in list');
  plugins.forEach((p, i) => {
    try {
      list.plugins.push(parsePluginConf(p));
    } catch (e) {
      throw annotate(e, `failed to parse plugin config ${i}`);
    }
  });
  return list;
}

/** A legacy single-plugin config wrapped as a list (libcni ConfFromBytes + ConfListFromConf). */
export function parseConfAsList(bytes: Uint8Array): NetworkConfigList {
  let raw: unknown;
  try {
    raw = parseJson(bytes);
  } catch (e) {
    throw annotate(e, 'error parsing configuration');
  }
  const plugin = parsePluginConf(raw);
  const wrapped = { name: plugin.network.name ?? '', cniVersion: plugin.network.cniVersion ?? '', plugins: [raw] };
  return parseConfList(jsonBytes(wrapped));
}

/** Regular files in `dir` with one of `exts`, sorted by full path (a missing directory has none). */
export function confFiles(dir: string, exts: readonly string[]): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((e) => !e.isDirectory() && exts.includes(extname(e.name)))
    .map((e) => join(dir, e.name))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function readConf(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw annotate(e, `error reading ${file}`);
  }
}

/** A .conflist file plus, unless loadOnlyInlinedPlugins, the `*.conf` plugin files in `<dir>/<name>/` (libcni NetworkConfFromFile). */
export function loadConfListFile(file: string): NetworkConfigList {
  const list = parseConfList(readConf(file));
  if (!list.loadOnlyInlinedPlugins) {
    const pluginDir = join(file, '..', list.name);
    for (const f of confFiles(pluginDir, ['.conf'])) {
      let raw: unknown;
      try {
        raw = parseJson(readConf(f));
      } catch (e) {
        throw annotate(e, 'error parsing configuration');
      }
      list.plugins.push(parsePluginConf(raw));
    }
  }
  if (list.plugins.length === 0) throw new Error('no plugin configs found');
  return list;
}

/** Any config file by extension: .conflist as a list, .conf/.json wrapped. */
export function loadConfFile(file: string): NetworkConfigList {
  return extname(file) === '.conflist' ? loadConfListFile(file) : parseConfAsList(readConf(file));
}

/**
 * The network called `name` in `dir`, the way cnitool finds it (libcni LoadNetworkConf): sorted .conflist
 * files first, then sorted .conf/.json files; a file that fails to parse stops the search with its error.
 */
export function loadNetworkByName(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, ['.conflist']);
  for (const f of lists) {
    const list = loadConfListFile(f);
    if (list.name === name) return list;
  }
  const singles = confFiles(dir, ['.conf', '.json']);
  if (singles.length === 0) {
    if (lists.length > 0) throw new Error(`no net configuration with name "${name}" in ${dir}`);
    throw new Error(`no net configurations found in ${dir}`);
  }
  for (const f of singles) {
    const list = parseConfAsList(readConf(f));
    if (list.name === name) return list;
  }
  throw new Error(`no net configuration with name "${name}" in ${dir}`);
}

export interface DefaultNetworkOptions {
  /** CRI-O/ocicni and dockershim skip files that fail to load; containerd (the default here: false) stops with the error. */
  skipInvalid?: boolean;
}

/**
 * The default network of a config directory as container runtimes pick it: the first of the `.conf`,
 * `.conflist`, `.json` files in lexical order. Returns the list and the file it came from.
 */
export function loadDefaultNetwork(
  dir: string,
  opts: DefaultNetworkOptions = {},
): { list: NetworkConfigList; file: string } {
  const files = confFiles(dir, ['.conf', '.conflist', '.json']);
  const errors: string[] = [];
  for (const file of files) {
    try {
      return { list: loadConfFile(file), file };
    } catch (e) {
      if (!opts.skipInvalid) throw annotate(e, basename(file));
      errors.push(`${basename(file)}: ${errorMessage(e)}`);
    }
  }
  if (errors.length > 0) throw new Error(`no valid network configuration in ${dir} (${errors.join('; ')})`);
  throw new Error(`no net configurations found in ${dir}`);
}

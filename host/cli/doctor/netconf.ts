// The network configuration directory: every file parses the way libcni reads it (host/runtime), the first
// one (the network container runtimes use) above all, and every plugin it names — `type`, and an `ipam.type`,
// which the plugin execs from the same bin dir — exists there.
import { basename } from 'node:path';
import { plugins as ourPlugins } from '../../plugins/registry.ts';
import { confFiles, loadConfFile, type NetworkConfigList } from '../../runtime/config.ts';
import type { Executable } from './executables.ts';
import type { Report } from './findings.ts';

export interface LoadedNetwork {
  file: string;
  list: NetworkConfigList;
}

/** The plugin names a list execs: each plugin's type and its IPAM plugin's type. */
export function namedPlugins(list: NetworkConfigList): string[] {
  const names = list.plugins.flatMap((p) => {
    const ipam = (p.raw.ipam as { type?: unknown } | undefined)?.type;
    return [p.network.type, ...(typeof ipam === 'string' && ipam ? [ipam] : [])];
  });
  return [...new Set(names)];
}

export function checkNetworkConfigs(
  report: Report,
  confDir: string,
  binDir: string,
  executables: Executable[],
): LoadedNetwork[] {
  const files = confFiles(confDir, ['.conf', '.conflist', '.json']);
  if (files.length === 0) {
    report.add(
      'config',
      'fail',
      `no network configuration in ${confDir}: the kubelet reports "cni config uninitialized" and the node stays NotReady`,
      `write a .conflist into ${confDir} (see host/plugins/bridge/README.md)`,
    );
    return [];
  }
  const loaded: LoadedNetwork[] = [];
  files.forEach((file, i) => {
    const role = i === 0 ? 'the network runtimes use' : 'not used by runtimes that take the first file';
    let list: NetworkConfigList;
    try {
      list = loadConfFile(file);
    } catch (e) {
      report.add(
        'config',
        i === 0 ? 'fail' : 'warn',
        `${file} (${role}): ${(e as Error).message}`,
        `jq . ${file}   # then fix the file`,
      );
      return;
    }
    loaded.push({ file, list });
    const plugins = namedPlugins(list);
    const missing = plugins.filter((p) => !executables.some((e) => e.name === p));
    report.add(
      'config',
      'ok',
      `${basename(file)}: network "${list.name}" (cniVersion ${list.cniVersion || '0.1.0'}; ${list.plugins.map((p) => p.network.type).join(' → ')}), ${role}`,
    );
    for (const p of missing) {
      report.add(
        'config',
        'fail',
        `${basename(file)} names plugin "${p}", which is not in ${binDir}: every pod on network "${list.name}" fails`,
        Object.hasOwn(ourPlugins, p)
          ? `wasm-cni install --bin-dir ${binDir}`
          : `install the "${p}" plugin into ${binDir}, or remove it from ${file}`,
      );
    }
  });
  return loaded;
}

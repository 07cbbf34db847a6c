// Test doubles for the kubelet network-plugin layer (tests/kubelet): fake CNI plugin binaries as small shell
// scripts in a private bin dir, an in-memory sysctl, and a scriptable network plugin.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkHost, NetworkPlugin, PodNetworkStatus, SysctlAccess } from '../../host/kubelet/index.ts';

/** The Go suites' fake sysctl (docs/reference-notes.md §5): get of a missing key fails, set creates. */
export class FakeSysctl implements SysctlAccess {
  constructor(readonly settings: Map<string, number> = new Map()) {}
  get(key: string): number {
    const v = this.settings.get(key);
    if (v === undefined) throw new Error(`open /proc/sys/${key}: no such file or directory`);
    return v;
  }
  set(key: string, value: number): void {
    this.settings.set(key, value);
  }
}

/**
 * The A2.1 fake plugin: prints a fixed 0.2.0 result (also for VERSION); for other commands saves stdin to
 * <out>/<name>.in, env to <out>/<name>.env, and "$CNI_COMMAND $CNI_NETNS $K8S_POD_NAMESPACE $K8S_POD_NAME
 * $K8S_POD_INFRA_CONTAINER_ID" (no newline) to <out>/<name>.out.
 */
export function writeRecordingPlugin(binDir: string, name: string, outDir: string, ip = '10.200.100.2/24'): void {
  mkdirSync(binDir, { recursive: true });
  const script = `#!/bin/sh
echo '{ "cniVersion": "0.2.0", "ip4": { "ip": "${ip}" } }'
if [ "$CNI_COMMAND" = "VERSION" ]; then exit 0; fi
cat > "${outDir}/${name}.in"
env > "${outDir}/${name}.env"
K8S_POD_NAMESPACE= ; K8S_POD_NAME= ; K8S_POD_INFRA_CONTAINER_ID=
IFS=';'
for kv in $CNI_ARGS; do
  case "$kv" in
    K8S_POD_NAMESPACE=*) K8S_POD_NAMESPACE="\${kv#*=}" ;;
    K8S_POD_NAME=*) K8S_POD_NAME="\${kv#*=}" ;;
    K8S_POD_INFRA_CONTAINER_ID=*) K8S_POD_INFRA_CONTAINER_ID="\${kv#*=}" ;;
  esac
done
printf '%s' "$CNI_COMMAND $CNI_NETNS $K8S_POD_NAMESPACE $K8S_POD_NAME $K8S_POD_INFRA_CONTAINER_ID" > "${outDir}/${name}.out"
`;
  writeFileSync(join(binDir, name), script);
  chmodSync(join(binDir, name), 0o755);
}

/**
 * A fake plugin that appends "<name> $CNI_COMMAND $CNI_IFNAME $CNI_CONTAINERID" to <log> and answers with a
 * result of the config's version (`result` JSON without cniVersion; default none), supporting `versions`.
 * `failOn` = a command on which it prints a CNI error {code 7, msg "<name> failed"} and exits 1.
 */
export function writeLoggingPlugin(
  binDir: string,
  name: string,
  log: string,
  opts: { result?: string; versions?: string[]; failOn?: string } = {},
): void {
  mkdirSync(binDir, { recursive: true });
  const versions = JSON.stringify(opts.versions ?? ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0']);
  const script = `#!/bin/sh
if [ "$CNI_COMMAND" = "VERSION" ]; then echo '{"cniVersion":"1.0.0","supportedVersions":${versions}}'; exit 0; fi
echo "${name} $CNI_COMMAND $CNI_IFNAME $CNI_CONTAINERID" >> "${log}"
cat > /dev/null
if [ "$CNI_COMMAND" = "${opts.failOn ?? '-'}" ]; then echo '{"code":7,"msg":"${name} failed","details":"x"}'; exit 1; fi
if [ "$CNI_COMMAND" = "ADD" ]; then echo '{"cniVersion":"0.4.0"${opts.result ? `,${opts.result}` : ''}}'; fi
exit 0
`;
  writeFileSync(join(binDir, name), script);
  chmodSync(join(binDir, name), 0o755);
}

/** A host with a fixed netns per sandbox ('' default) and port mappings. */
export function fakeHost(
  netns: Record<string, string> = {},
  ports: Record<string, ReturnType<NetworkHost['getPodPortMappings']> extends Promise<infer P> ? P : never> = {},
): NetworkHost {
  return {
    getNetNS: async (id) => netns[id] ?? '',
    getPodPortMappings: async (id) => ports[id] ?? [],
  };
}

/** A network plugin whose operations are hooks; records every call with its start/end time. */
export class ScriptedPlugin implements NetworkPlugin {
  readonly calls: Array<{ op: string; pod: string; start: number; end: number }> = [];
  hooks: Partial<Record<'setUp' | 'tearDown' | 'status', (pod: string) => Promise<void>>> = {};
  constructor(private readonly pluginName = 'someNetworkPlugin') {}
  name(): string {
    return this.pluginName;
  }
  async init(): Promise<void> {}
  event(): void {}
  capabilities(): Set<number> {
    return new Set();
  }
  private async record(op: 'setUp' | 'tearDown' | 'status', pod: string): Promise<void> {
    const start = performance.now();
    await new Promise((r) => setTimeout(r, 1));
    await this.hooks[op]?.(pod);
    this.calls.push({ op, pod, start, end: performance.now() });
  }
  async setUpPod(_ns: string, name: string): Promise<void> {
    await this.record('setUp', name);
  }
  async tearDownPod(_ns: string, name: string): Promise<void> {
    await this.record('tearDown', name);
  }
  async getPodNetworkStatus(_ns: string, name: string): Promise<PodNetworkStatus> {
    await this.record('status', name);
    return { ip: '1.2.3.4', ips: ['1.2.3.4'] };
  }
  async status(): Promise<void> {}
}

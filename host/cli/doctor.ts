// `wasm-cni doctor`: checks this node for pod networking the way the kubelet layer will use it — plugin
// binaries, the default CNI config, sysctls, br_netfilter, iptables/nftables, the MTU kubenet would pick,
// and the warm daemon. With --bin-dir/--conf-dir it checks a deployed node instead (doctor/deployed.ts).
// Read-only: it changes nothing. Exit 0 when nothing is wrong, 1 with warnings, 2 with errors (findings.ts).
import { errorMessage } from '../errors.ts';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pickMtu } from '../core/index.ts';
import { requestStatus } from '../daemon/client.ts';
import { socketPathFromEnv } from '../daemon/wire.ts';
import { iptablesInstalled, iptablesUsable } from '../firewall/iptables.ts';
import { nftInstalled } from '../firewall/nft.ts';
import { runTool } from '../firewall/tools.ts';
import { SysctlOps } from '../net/sysctl.ts';
import { CniRuntime } from '../runtime/runtime.ts';
import { addonPath, cniBinDir, coreWasmPath } from '../paths.ts';
import {
  CHAINED_PLUGINS,
  FLAG_HELP,
  FlagError,
  REQUIRED_PLUGINS,
  ebtablesInstalled,
  getDefaultCniNetwork,
  hostInterfaces,
  listMasqRules,
  parseNetworkFlags,
  type NetworkFlags,
} from '../kubelet/index.ts';
import { diagnoseDeployed } from './doctor/deployed.ts';
import { exitCodeFor, formatFindings, type Finding, type Verdict } from './doctor/findings.ts';

const HELP = `usage: wasm-cni doctor [--json] [kubelet flags]
       wasm-cni doctor --bin-dir DIR --conf-dir DIR [--cache-dir DIR] [--socket PATH] [--json]

Checks this node for pod networking and changes nothing.

With kubelet flags: plugin binaries in --cni-bin-dir, the default network in --cni-conf-dir, sysctls
(ip_forward, bridge-nf-call-*), br_netfilter, iptables/nftables backends, the MTU kubenet would pick, the
wasm-cni daemon, and this build tree.

With --bin-dir/--conf-dir, a node as deployed: every executable in --bin-dir is the wasm-cni one and all of one
build; the cold-path kit (--bin-dir/.wasm-cni) runs; the daemon at --socket answers (and how it was started)
and runs the executables' build (what --bin-dir/wasm-cni version prints; another wire protocol is an error);
every file in --conf-dir parses and names only plugins in --bin-dir; br_netfilter, bridge-nf-call-iptables,
ip_forward and the pod MTU; the iptables back end (legacy or nf_tables) is the one kube-proxy uses; host-local
ranges of the configured networks nearly full, or holding empty or orphaned reservations (orphaned: no entry for
the container in --cache-dir/results, default /var/lib/cni). Each finding comes with the command that fixes it.

Exit status: 0 nothing wrong, 1 warnings only, 2 errors (also for a usage error).
--json prints the findings as a JSON array of {area, verdict: ok|info|warn|fail, detail, fix?}.

${FLAG_HELP}`;

export type { Verdict };
export type Check = Finding;

function sysctl(key: string): string | null {
  try {
    return new SysctlOps(null).get(key).trim();
  } catch {
    return null;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export async function diagnose(flags: NetworkFlags): Promise<Check[]> {
  const out: Check[] = [];
  const add = (area: string, verdict: Verdict, detail: string) => out.push({ area, verdict, detail });
  const plugin = flags.networkPlugin;
  add('plugin', 'info', `--network-plugin=${plugin === '' ? "'' (noop)" : plugin}`);

  // build artefacts
  for (const [what, p] of [
    ['Wasm core', coreWasmPath],
    ['N-API addon', addonPath],
    ['CNI executables', join(cniBinDir, 'bridge')],
  ] as const) {
    add(
      'build',
      existsSync(p) ? 'ok' : 'fail',
      existsSync(p) ? `${what}: ${p}` : `${what} missing (${p}): run \`bash build.sh\``,
    );
  }

  // plugin binaries
  const dirs = plugin === 'kubenet' ? ['/opt/cni/bin', ...flags.cniBinDirs] : flags.cniBinDirs.filter((d) => d !== '');
  const wanted = [...REQUIRED_PLUGINS, ...CHAINED_PLUGINS];
  for (const name of wanted) {
    const at = dirs.find((d) => isFile(join(d, name)));
    const needed = plugin === 'kubenet';
    add(
      'binaries',
      at ? 'ok' : needed ? 'fail' : 'warn',
      at ? `${name}: ${join(at, name)}` : `${name}: not in [${dirs.join(' ')}]`,
    );
  }
  if (plugin === 'kubenet') {
    const one = dirs.find((d) => {
      try {
        const n = readdirSync(d);
        return REQUIRED_PLUGINS.every((p) => n.includes(p));
      } catch {
        return false;
      }
    });
    add(
      'binaries',
      one ? 'ok' : 'fail',
      one
        ? `kubenet: ${REQUIRED_PLUGINS.join(', ')} together in ${one}`
        : `kubenet needs ${REQUIRED_PLUGINS.join(', ')} in ONE directory of [${dirs.join(' ')}]`,
    );
  }

  // default CNI config
  try {
    const rt = new CniRuntime({
      path: dirs.length ? dirs : [cniBinDir],
      cacheDir: flags.cniCacheDir,
      onStderr: () => {},
    });
    const n = await getDefaultCniNetwork(flags.cniConfDir, rt);
    add(
      'config',
      'ok',
      `default network "${n.name}" from ${n.file} (${n.list.plugins.map((p) => p.network.type).join(' → ')}${n.capabilities.length ? `; capabilities ${n.capabilities.join(',')}` : ''})`,
    );
  } catch (e) {
    add(
      'config',
      plugin === 'cni' ? 'fail' : 'info',
      `${errorMessage(e)}${plugin === 'cni' ? ' — the node reports "cni config uninitialized"' : ''}`,
    );
  }

  // sysctls and br_netfilter
  const fwd = sysctl('net/ipv4/ip_forward');
  add(
    'sysctl',
    fwd === '1' ? 'ok' : 'warn',
    `net.ipv4.ip_forward = ${fwd ?? '?'}${fwd === '1' ? '' : ' (the bridge plugin turns it on for gateways)'}`,
  );
  const fwd6 = sysctl('net/ipv6/conf/all/forwarding');
  add('sysctl', 'info', `net.ipv6.conf.all.forwarding = ${fwd6 ?? 'n/a (no IPv6)'}`);
  const brnf = existsSync('/sys/module/br_netfilter') || existsSync('/proc/sys/net/bridge');
  add(
    'br_netfilter',
    brnf ? 'ok' : 'warn',
    brnf
      ? 'loaded'
      : 'not loaded: run `modprobe br_netfilter` (bridged pod traffic then bypasses iptables, e.g. service rules)',
  );
  for (const t of ['iptables', 'ip6tables']) {
    const v = sysctl(`net/bridge/bridge-nf-call-${t}`);
    add(
      'sysctl',
      v === '1' ? 'ok' : v === null ? 'info' : 'warn',
      `net.bridge.bridge-nf-call-${t} = ${v ?? 'n/a'}${v === '0' ? ' (kubenet/noop set it to 1)' : ''}`,
    );
  }

  // firewall backends
  for (const f of [4, 6] as const) {
    const tool = f === 4 ? 'iptables' : 'ip6tables';
    if (!iptablesInstalled(f)) {
      add('firewall', f === 4 ? 'warn' : 'info', `${tool}: not installed`);
      continue;
    }
    const ver = await runTool(tool, ['--version'])
      .then((r) => r.stdout.trim())
      .catch(() => '');
    const usable = await iptablesUsable(f);
    add('firewall', usable ? 'fail' : 'ok', `${ver || tool}${usable ? `: nat table unusable: ${usable.message}` : ''}`);
  }
  if (nftInstalled()) {
    const ver = await runTool('nft', ['--version'])
      .then((r) => r.stdout.trim())
      .catch(() => 'nft');
    add('firewall', 'ok', ver);
  } else add('firewall', 'info', 'nft: not installed');
  add(
    'firewall',
    ebtablesInstalled() ? 'ok' : 'info',
    ebtablesInstalled()
      ? 'ebtables: installed (promiscuous-bridge de-dup rules)'
      : 'ebtables: not installed (promiscuous-bridge runs without de-dup rules)',
  );
  try {
    const masq = await listMasqRules();
    add(
      'firewall',
      'info',
      masq.length ? `kubenet masquerade rule: ${masq.join(' | ')}` : 'kubenet masquerade rule: none',
    );
  } catch {
    /* iptables unusable: reported above */
  }

  // MTU
  try {
    const c = pickMtu(await hostInterfaces(), flags.networkPluginMtu);
    add(
      'mtu',
      c.source === 'fallback' ? 'warn' : 'ok',
      `kubenet MTU ${c.mtu} (${c.source === 'interface' ? `smallest up interface: ${c.interface}` : c.source === 'explicit' ? '--network-plugin-mtu' : 'no suitable interface: fallback'})`,
    );
  } catch (e) {
    add('mtu', 'warn', `cannot list interfaces: ${errorMessage(e)}`);
  }

  // daemon
  const sock = socketPathFromEnv();
  try {
    const s = await requestStatus(sock, 1000);
    add('daemon', 'ok', `running, pid ${s.pid}, ${s.socket}, served ${s.served}`);
  } catch {
    add(
      'daemon',
      'info',
      `not running at ${sock} (the executables start Node per call: slower; \`wasm-cni daemon\` or deploy/)`,
    );
  }
  return out;
}

const DEPLOYED_FLAGS = ['--bin-dir', '--conf-dir', '--cache-dir', '--socket'];

const DEPLOYED_OPTIONS = {
  'bin-dir': { type: 'string', default: '/opt/cni/bin' },
  'conf-dir': { type: 'string', default: '/etc/cni/net.d' },
  'cache-dir': { type: 'string' },
  socket: { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function runDeployed(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof DEPLOYED_OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: DEPLOYED_OPTIONS }));
  } catch (e) {
    process.stderr.write(`wasm-cni doctor: ${(e as Error).message}\n(see 'wasm-cni doctor --help')\n`);
    return 2;
  }
  const findings = await diagnoseDeployed({
    binDir: values['bin-dir'],
    confDir: values['conf-dir'],
    cacheDir: values['cache-dir'],
    socket: values.socket,
  });
  process.stdout.write(values.json ? `${JSON.stringify(findings, null, 2)}\n` : formatFindings(findings));
  return exitCodeFor(findings);
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.some((a) => DEPLOYED_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)))) return runDeployed(argv);
  let flags: NetworkFlags;
  let rest: string[];
  try {
    ({ flags, rest } = parseNetworkFlags(argv));
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`wasm-cni doctor: ${e.message}\n`);
    return 2;
  }
  const json = rest.includes('--json');
  const unknown = rest.filter((a) => a !== '--json');
  if (unknown.length) {
    process.stderr.write(`wasm-cni doctor: unknown option ${unknown[0]}\n(see 'wasm-cni doctor --help')\n`);
    return 2;
  }
  const checks = await diagnose(flags);
  process.stdout.write(json ? `${JSON.stringify(checks, null, 2)}\n` : formatFindings(checks));
  return exitCodeFor(checks);
}

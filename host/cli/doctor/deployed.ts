// `wasm-cni doctor --bin-dir DIR --conf-dir DIR`: a node as it is deployed, in the order a pod's network
// setup depends on it: the executables, the daemon (and whether it runs their build), the cold-path kit, the
// network config, the kernel, iptables, and host-local's state. Read-only: it changes nothing (the probes run
// CNI VERSION on the cold path and `wasm-cni version` from the bin dir).
import { DEFAULT_CACHE_DIR } from '../../runtime/cache.ts';
import { socketPathFromEnv } from '../../daemon/wire.ts';
import { checkDaemonBuild } from './build.ts';
import { checkDaemon } from './daemon.ts';
import { checkExecutables } from './executables.ts';
import { Report, type Finding } from './findings.ts';
import { checkHostLocal } from './ipam.ts';
import { checkIptablesMode } from './iptables-mode.ts';
import { checkKernel } from './kernel.ts';
import { checkKit } from './kit.ts';
import { checkNetworkConfigs } from './netconf.ts';
import { readShimSettings } from './settings.ts';
import { systemProbes, type NodeProbes } from './probes.ts';

export interface DeployedNode {
  binDir: string;
  confDir: string;
  /** The runtime's result cache (libcni's cache dir; the kubelet's --cni-cache-dir). */
  cacheDir?: string;
  /** The daemon socket (default: $WASM_CNI_SOCKET, else the bin dir's wasm-cni.conf, else /run/wasm-cni/wasm-cni.sock). */
  socket?: string;
}

export async function diagnoseDeployed(node: DeployedNode, probes: NodeProbes = systemProbes): Promise<Finding[]> {
  const report = new Report();
  const executables = checkExecutables(report, node.binDir);
  const settings = readShimSettings(node.binDir);
  if (settings.file)
    report.add(
      'settings',
      'info',
      `${settings.file}: on-demand ${settings.onDemand}, idle-exit ${settings.idleExitSeconds} s${settings.socket ? `, socket ${settings.socket}` : ''}`,
    );
  const onDemand = settings.onDemand && executables.some((e) => e.startsDaemon);
  const socket = node.socket ?? (process.env.WASM_CNI_SOCKET || settings.socket || socketPathFromEnv());
  const daemon = await checkDaemon(report, socket, onDemand, probes);
  const daemonServes = daemon
    ? await checkDaemonBuild(report, { binDir: node.binDir, socket }, daemon, executables, probes)
    : false;
  await checkKit(report, node.binDir, executables, daemonServes, probes);
  const networks = checkNetworkConfigs(report, node.confDir, node.binDir, executables);
  await checkKernel(report, networks, probes);
  await checkIptablesMode(report, probes);
  checkHostLocal(report, networks, node.cacheDir ?? DEFAULT_CACHE_DIR);
  return report.findings;
}

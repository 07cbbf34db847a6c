// The kernel settings pod networking on a bridge depends on: br_netfilter with bridge-nf-call-iptables (service
// traffic between pods on one bridge goes through kube-proxy's rules), IPv4 forwarding, and a pod MTU that fits
// the node's uplink.
import { type MtuChoice, pickMtu } from '../../core/index.ts';
import type { Report } from './findings.ts';
import type { LoadedNetwork } from './netconf.ts';
import type { NodeProbes } from './probes.ts';

/** The bridge plugin's default MTU when `mtu` is not set (containernetworking/plugins v1.9.1 bridge.go). */
const BRIDGE_DEFAULT_MTU = 1500;

export async function checkKernel(report: Report, networks: LoadedNetwork[], probes: NodeProbes): Promise<void> {
  // built into the kernel, it has no module entry but its sysctls exist
  const brnf = probes.moduleLoaded('br_netfilter') || probes.sysctl('net/bridge/bridge-nf-call-iptables') !== null;
  report.add(
    'kernel',
    brnf ? 'ok' : 'warn',
    brnf
      ? 'br_netfilter loaded'
      : 'br_netfilter not loaded: traffic between pods on one bridge bypasses iptables (Service rules, network policy)',
    brnf ? undefined : 'modprobe br_netfilter && echo br_netfilter > /etc/modules-load.d/br_netfilter.conf',
  );
  if (brnf) {
    const v = probes.sysctl('net/bridge/bridge-nf-call-iptables');
    report.add(
      'kernel',
      v === '1' ? 'ok' : 'warn',
      `net.bridge.bridge-nf-call-iptables = ${v ?? 'n/a'}`,
      v === '1' ? undefined : 'sysctl -w net.bridge.bridge-nf-call-iptables=1   # and persist it in /etc/sysctl.d/',
    );
  }
  const fwd = probes.sysctl('net/ipv4/ip_forward');
  report.add(
    'kernel',
    fwd === '1' ? 'ok' : 'warn',
    `net.ipv4.ip_forward = ${fwd ?? 'n/a'}${fwd === '1' ? '' : ' (pods cannot reach beyond the node unless a plugin turns it on)'}`,
    fwd === '1' ? undefined : 'sysctl -w net.ipv4.ip_forward=1   # and persist it in /etc/sysctl.d/',
  );

  let uplink: MtuChoice;
  try {
    uplink = pickMtu(await probes.interfaces());
  } catch (e) {
    report.add('mtu', 'warn', `cannot list interfaces: ${(e as Error).message}`);
    return;
  }
  if (uplink.source === 'fallback') {
    report.add('mtu', 'info', `no up, non-loopback interface to compare pod MTUs with`);
    return;
  }
  for (const { file, list } of networks) {
    for (const p of list.plugins.filter((x) => x.network.type === 'bridge')) {
      const mtu = typeof p.raw.mtu === 'number' && p.raw.mtu > 0 ? p.raw.mtu : BRIDGE_DEFAULT_MTU;
      const set = typeof p.raw.mtu === 'number' ? `"mtu": ${mtu}` : `default MTU ${mtu}`;
      if (mtu > uplink.mtu)
        report.add(
          'mtu',
          'warn',
          `network "${list.name}": pods get ${set}, above ${uplink.interface}'s ${uplink.mtu}: large packets leaving the node are dropped or fragmented`,
          `set "mtu": ${uplink.mtu} on the bridge plugin in ${file}`,
        );
      else report.add('mtu', 'ok', `network "${list.name}": pod MTU ${mtu} fits ${uplink.interface} (${uplink.mtu})`);
    }
  }
}

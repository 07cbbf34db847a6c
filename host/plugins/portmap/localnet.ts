// route_localnet on the host interface that routes to the pod, so that 127.0.0.1:<hostPort> can be DNATed across
// a routing boundary. The device is found by longest-prefix match over the main table (/proc/net/route), which
// answers what `ip route get <pod ip>` answers for a pod on a local bridge; no process, no socket.
import { readFileSync } from 'node:fs';
import { ipToBytes } from '../../core/index.ts';
import { parseIpNet } from '../../firewall/addr.ts';
import { SysctlOps } from '../../net/sysctl.ts';

/** The device of the most specific main-table IPv4 route covering `ip`, or "" when none does. */
export function routeDeviceFor(ip: string, routeTable = '/proc/net/route'): string {
  const target = v4Number(parseIpNet(ip).ip);
  let best = '';
  let bestLen = -1;
  let bestMetric = Infinity;
  for (const line of readFileSync(routeTable, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [dev, destHex, , flagsHex, , , metric, maskHex] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if ((parseInt(flagsHex, 16) & 1) === 0) continue; // RTF_UP
    const dest = leHex(destHex);
    const mask = leHex(maskHex);
    if ((target & mask) >>> 0 !== dest) continue;
    const len = popcount(mask);
    const m = Number(metric);
    if (len > bestLen || (len === bestLen && m < bestMetric)) {
      best = dev;
      bestLen = len;
      bestMetric = m;
    }
  }
  return best;
}

/** Sets net.ipv4.conf.<dev>.route_localnet=1 in the host namespace (netns: the caller's, null: this process's). */
export function enableLocalnetRouting(dev: string, netns: string | null = null): void {
  // Through SysctlOps even in this process's namespace: a daemon serving a caller with another root writes
  // the caller's /proc/sys (its own is read-only in an unprivileged container).
  new SysctlOps(netns).setRouteLocalnet(dev);
}

function v4Number(ip: string): number {
  return ipToBytes(ip).reduce((a, o) => ((a << 8) | o) >>> 0, 0);
}

/** /proc/net/route prints addresses as host-order (little-endian) hex. */
function leHex(h: string): number {
  const n = parseInt(h, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0;
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n; x; x = (x & (x - 1)) >>> 0) c++;
  return c;
}

// bridge DEL (plugins.md §1.3), with the reference's leaks fixed:
// * the ipMasq rules and the spoof check are removed on every path (empty or vanished netns, repeated DEL),
//   using the interface's addresses, else the cached prevResult, else the chain name alone;
// * an interface whose host end is tagged for another attachment (wrong container ID) is left alone.
import { existsSync } from 'node:fs';
import { ipamDel } from '../../cni/ipam.ts';
import { prevResultOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { teardownIpMasq } from '../../firewall/ipmasq.ts';
import { NetHandle } from '../../net/handle.ts';
import { attachmentId, loadBridgeConfig, type BridgeConfig } from './config.ts';
import { openNetns } from './add.ts';
import { ownerOf, ownerTag } from './owner.ts';
import { teardownSpoofCheck } from './spoofcheck.ts';

export async function cmdDel(a: CmdArgs): Promise<void> {
  const c = loadBridgeConfig(a.conf, a.cniVersion, a.args);
  const isL3 = c.ipamType !== '';
  let ifaceAddrs: string[] | undefined;
  if (a.netns !== '' && existsSync(a.caller.resolve(a.netns))) ifaceAddrs = await deleteContainerIface(a, c);
  if (isL3) await ipamDel(a, c.ipamType);
  if (c.macspoofchk) await teardownSpoofCheck(attachmentId(a.containerId, a.ifName)).catch(() => undefined);
  if (isL3 && c.ipMasq) {
    const ips = ifaceAddrs && ifaceAddrs.length > 0 ? ifaceAddrs : prevResultAddrs(a);
    await teardownIpMasq({ network: c.networkName, containerId: a.containerId, ifName: a.ifName, ips });
  }
}

/**
 * Our addresses recorded in the cached result (those on the container interface). The reference's DEL never
 * parses prevResult, so one that does not parse is ignored rather than failing DEL.
 */
function prevResultAddrs(a: CmdArgs): string[] | undefined {
  let prev;
  try {
    prev = prevResultOf(a);
  } catch {
    return undefined;
  }
  if (!prev?.ips?.length) return undefined;
  return prev.ips.map((ip) => ip.address);
}

/**
 * Deletes `CNI_IFNAME` in the netns (its peer goes with it) and returns its global unicast addresses; undefined
 * when there is no such link or it belongs to another attachment.
 */
async function deleteContainerIface(a: CmdArgs, c: BridgeConfig): Promise<string[] | undefined> {
  const cont = await openNetns(a.netns, a.caller);
  try {
    const link = await cont.link.find(a.ifName);
    if (!link) return undefined;
    if (!(await ownedBy(cont, a.caller.netns, link.parentIndex, c.networkName, a.containerId))) return undefined;
    const addrs = (await cont.addr.list(link.index)).filter((x) => isGlobalUnicast(x.ip)).map((x) => x.cidr);
    try {
      await cont.link.delete(link.index);
    } catch (e) {
      throw new Error(`failed to delete "${a.ifName}": ${(e as Error).message}`);
    }
    return addrs;
  } finally {
    cont.close();
  }
}

/** False only when the host end carries our tag for a different network/container. */
async function ownedBy(
  cont: NetHandle,
  hostNetns: string | null,
  peerIndex: number | undefined,
  network: string,
  containerId: string,
): Promise<boolean> {
  if (peerIndex === undefined || cont.nsPath === null) return true;
  const host = await NetHandle.open(hostNetns);
  try {
    const peer = await host.link.find(peerIndex);
    if (peer?.kind !== 'veth') return true;
    const tag = ownerOf(peer);
    return tag === undefined || tag === ownerTag(network, containerId);
  } finally {
    host.close();
  }
}

/** Go's net.IP.IsGlobalUnicast: not unspecified, loopback, link-local, multicast or the IPv4 broadcast. */
export function isGlobalUnicast(ip: string): boolean {
  if (ip.includes(':')) {
    const l = ip.toLowerCase();
    return !(l === '::' || l === '::1' || /^fe[89ab]/.test(l) || l.startsWith('ff'));
  }
  const o = ip.split('.').map(Number);
  if (o[0] === 0 && o.every((x) => x === 0)) return false;
  if (ip === '255.255.255.255') return false;
  return !(o[0] === 127 || (o[0]! >= 224 && o[0]! <= 239) || (o[0] === 169 && o[1] === 254));
}

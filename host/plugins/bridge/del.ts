// bridge DEL (containernetworking/plugins v1.9.1 plugins/main/bridge/bridge.go, cmdDel), with the reference's leaks
// fixed:
// * the ipMasq rules and the spoof check are removed on every path (empty or vanished netns, repeated DEL),
//   using the interface's addresses, else the cached prevResult, else the chain name alone;
// * an interface whose host end is tagged for another attachment (wrong container ID) is left alone.
import { isGlobalUnicast } from '../../core/index.ts';
import { annotate } from '../../errors.ts';
import { existsSync } from 'node:fs';
import { delegateDel } from '../../cni/delegate.ts';
import { prevResultOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import { teardownIpMasq } from '../../firewall/ipmasq.ts';
import { NetHandle, openNetns } from '../../net/handle.ts';
import { attachmentId, loadBridgeConfig, type BridgeConfig } from './config.ts';
import { ownerOf, ownerTag } from './owner.ts';
import { teardownSpoofCheck } from './spoofcheck.ts';

export async function cmdDel(a: CmdArgs): Promise<void> {
  const c = loadBridgeConfig(a.conf, a.cniVersion, a.args);
  const isL3 = c.ipamType !== '';
  let ifaceAddrs: string[] | undefined;
  if (a.netns !== '' && existsSync(a.caller.resolve(a.netns))) ifaceAddrs = await deleteContainerIface(a, c);
  if (isL3) await delegateDel(a, c.ipamType);
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
      throw annotate(e, `failed to delete "${a.ifName}"`);
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

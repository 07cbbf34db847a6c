// bridge CHECK (containernetworking/plugins v1.9.1 plugins/main/bridge/bridge.go, cmdCheck): the links, MACs, promisc
// state, addresses and routes of prevResult must still be there. Unlike the reference, an L2 (no IPAM) network is
// checked too instead of failing on the empty IPAM type.
import { delegateCheck } from '../../cni/delegate.ts';
import { prevResultOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Interface, IPConfig, Route } from '../../cni/types.ts';
import { Cidr, canonicalIP, familyOf } from '../../core/index.ts';
import { NetHandle, openNetns } from '../../net/handle.ts';
import type { Link } from '../../net/link.ts';
import { AF_INET, AF_INET6 } from '../../net/nl/constants.ts';
import { loadBridgeConfig, type BridgeConfig } from './config.ts';
import { isDefaultDst } from './gateway.ts';

interface Found {
  found: boolean;
  index: number;
  peerIndex?: number;
  masterIndex?: number;
}
const notFound: Found = { found: false, index: 0 };

export async function cmdCheck(a: CmdArgs): Promise<void> {
  const c = loadBridgeConfig(a.conf, a.cniVersion, a.args);
  const cont = await openNetns(a.netns, a.caller);
  const host = await NetHandle.open(a.caller.netns);
  try {
    if (c.ipamType !== '') await delegateCheck(a, c.ipamType);
    const prev = prevResultOf(a);
    if (!prev) throw new Error('Required prevResult missing');
    const interfaces = prev.interfaces ?? [];
    let brEntry: Interface = { name: '' };
    let contEntry: Interface = { name: '' };
    for (const i of interfaces) {
      if (i.name === c.bridge) brEntry = i;
      else if (i.name === a.ifName && i.sandbox === a.netns) contEntry = i;
    }
    const br = await validateBridge(host, brEntry, c);
    if (a.netns !== (contEntry.sandbox ?? '')) {
      throw new Error(`Sandbox in prevResult ${contEntry.sandbox ?? ''} doesn't match configured netns: ${a.netns}`);
    }
    const contIf = await validateContainerIface(cont, contEntry);
    let veth = notFound;
    for (const i of interfaces) {
      if (i.name === brEntry.name || i.name === contEntry.name) continue;
      veth = await validateHostVeth(host, i, br, contIf);
      if (veth.found) break;
    }
    if (!br.found) throw new Error(`CNI created bridge ${c.bridge} in host namespace was not found`);
    if (!contIf.found) throw new Error(`CNI created interface in container ${a.ifName} not found`);
    if (!veth.found) throw new Error(`CNI veth created for bridge ${c.bridge} was not found`);
    await validateIps(cont, a.ifName, prev.ips ?? []);
    await validateRoutes(cont, prev.routes ?? []);
  } finally {
    host.close();
    cont.close();
  }
}

async function lookup(h: NetHandle, i: Interface, inSandbox: boolean): Promise<Link> {
  if (i.name === '') throw new Error('Interface name missing ');
  const link = await h.link.find(i.name);
  if (!link) throw new Error(`Interface name ${i.name} not found`);
  if (inSandbox && !i.sandbox) throw new Error(`Interface ${i.name} is expected to be in a sandbox`);
  if (!inSandbox && i.sandbox) throw new Error(`Interface ${i.name} should not be in sandbox`);
  return link;
}

async function validateBridge(host: NetHandle, i: Interface, c: BridgeConfig): Promise<Found> {
  const link = await lookup(host, i, false);
  if (link.kind !== 'bridge') throw new Error(`Interface ${i.name} does not have link type of bridge`);
  if (i.mac && i.mac !== link.mac) throw new Error(`Bridge interface ${i.name} Mac doesn't match: ${i.mac}`);
  if (link.promisc !== c.promiscMode) {
    throw new Error(
      `Bridge interface ${i.name} configured Promisc Mode ${c.promiscMode} doesn't match current state: ${link.promisc} `,
    );
  }
  return { found: true, index: link.index, masterIndex: link.masterIndex };
}

async function validateContainerIface(cont: NetHandle, i: Interface): Promise<Found> {
  const link = await lookup(cont, i, true);
  if (link.kind !== 'veth') throw new Error(`Error: Container interface ${link.name} not of type veth`);
  if (link.parentIndex === undefined) throw new Error(`Unable to obtain veth peer index for veth ${link.name}`);
  if (i.mac && i.mac !== link.mac)
    throw new Error(`Interface ${i.name} Mac ${i.mac} doesn't match container Mac: ${link.mac}`);
  return { found: true, index: link.index, peerIndex: link.parentIndex };
}

/** A host veth peered with the container interface and enslaved to the bridge; other entries are skipped. */
async function validateHostVeth(host: NetHandle, i: Interface, br: Found, contIf: Found): Promise<Found> {
  const link = await lookup(host, i, false);
  if (link.kind !== 'veth') return notFound;
  if (link.parentIndex === undefined) throw new Error(`Unable to obtain veth peer index for veth ${link.name}`);
  if (link.index !== contIf.peerIndex || contIf.index !== link.parentIndex || link.masterIndex !== br.index)
    return notFound;
  if (i.mac && i.mac !== link.mac) throw new Error(`Interface ${i.name} Mac doesn't match: ${i.mac} not found`);
  return { found: true, index: link.index };
}

function canonicalCidr(text: string): string {
  const c = Cidr.parse(text);
  return `${canonicalIP(c.ip)}/${c.prefix}`;
}

/** Every prevResult address is on the interface, and a route to its prefix exists. */
async function validateIps(cont: NetHandle, ifName: string, ips: IPConfig[]): Promise<void> {
  for (const ip of ips) {
    const link = await cont.link.find(ifName);
    if (!link) throw new Error(`Cannot find container link ${ifName}`);
    const want = canonicalCidr(ip.address);
    const addrs = await cont.addr.list(link.index);
    if (!addrs.some((x) => canonicalCidr(x.cidr) === want))
      throw new Error(`Failed to match addr ${want} on interface ${ifName}`);
    const net = Cidr.parse(ip.address).toString();
    const routes = await cont.route.list({ family: familyOf(ip.address) === 6 ? AF_INET6 : AF_INET });
    if (!routes.some((r) => canonicalCidr(r.dst) === canonicalCidr(net))) {
      throw new Error(`Failed to find Gateway ${ip.gateway ?? '<nil>'} for interface ${ifName}`);
    }
  }
}

/** Every prevResult route exists (dst, and gw when set; a default route is matched on being default only). */
async function validateRoutes(cont: NetHandle, routes: Route[]): Promise<void> {
  for (const r of routes) {
    const v6 = familyOf(r.dst) === 6;
    const table = await cont.route.list({ family: v6 ? AF_INET6 : AF_INET });
    const isDefault = isDefaultDst(r.dst, v6);
    const found = table.some((t) => {
      if (isDefault) return isDefaultDst(t.dst, v6);
      if (canonicalCidr(t.dst) !== canonicalCidr(r.dst)) return false;
      return r.gw === undefined || (t.gw !== undefined && canonicalIP(t.gw) === canonicalIP(r.gw));
    });
    if (!found) throw new Error(`Expected Route ${goRouteText(r)} not found in routing table`);
  }
}

/** The reference prints a types.Route with Go's %+v of its net.IPNet. */
function goRouteText(r: Route): string {
  const c = Cidr.parse(r.dst);
  const bits = c.family === 4 ? 32 : 128;
  const mask = Buffer.alloc(bits / 8);
  for (let b = 0; b < c.prefix; b++) mask[b >> 3] = (mask[b >> 3] ?? 0) | (0x80 >> (b & 7));
  return `{Dst:{IP:${canonicalIP(c.ip)} Mask:${mask.toString('hex')}} GW:${r.gw ?? '<nil>'} MTU:${r.mtu ?? 0} AdvMSS:${r.advmss ?? 0} Priority:${r.priority ?? 0} Table:${r.table ?? '<nil>'} Scope:${r.scope ?? '<nil>'}}`;
}

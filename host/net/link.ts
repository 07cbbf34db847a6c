// Links: list/get, create (veth with the peer straight into another namespace, bridge, ifb, dummy),
// change (up/down, mtu, mac, master, netns, promisc, txqueuelen, name, alias), bridge-port flags, delete.
import { withNetnsFd, type NetContext, type NetnsRef } from './context.ts';
import { attrNested, attrS32, attrStr, attrU32, attrU8, parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_BRIDGE,
  AF_UNSPEC,
  IFF_PROMISC,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_BR_VLAN_FILTERING,
  IFLA_BRPORT_ISOLATED,
  IFLA_BRPORT_LEARNING,
  IFLA_BRPORT_MODE,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_PROMISCUITY,
  IFLA_PROTINFO,
  IFLA_TXQLEN,
  IFNAMSIZ,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
  VETH_INFO_PEER,
} from './nl/constants.ts';
import { NetlinkError } from './nl/error.ts';
import { bytesToMac, macToBytes } from './nl/ip.ts';
import type { NlMessage } from './nl/message.ts';
import { IFINFOMSG_LEN, ifInfoMsg, readIfInfoMsg } from './nl/structs.ts';

const EINVAL = 22;
const ENODEV = 19;

/** A link by name or by index. */
export type LinkRef = string | number;

export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
const OPER_STATES: OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: 'veth', 'bridge', 'ifb', 'dummy', ...; '' for devices without one (lo, physical NICs) */
  kind: string;
  flags: number;
  /** administratively up (IFF_UP) */
  up: boolean;
  operState: OperState;
  mtu: number;
  /** '' when the link has no hardware address */
  mac: string;
  txQueueLen: number;
  /** set via IFF_PROMISC by someone (not counting promiscuity taken by bridges etc.) */
  promisc: boolean;
  promiscuity: number;
  masterIndex?: number;
  /** IFLA_LINK: for a veth, the peer's index (in linkNetnsId's namespace when that is set) */
  parentIndex?: number;
  linkNetnsId?: number;
  /** IFLA_IFALIAS (`ip link set X alias ...`, /sys/class/net/X/ifalias); present when the link has one */
  alias?: string;
  bridge?: { vlanFiltering: boolean };
  /** present when the link is a bridge port */
  bridgePort?: { hairpin: boolean; learning: boolean; isolated: boolean };
}

/** Attributes a link can be created with (all optional). */
export interface LinkAttrs {
  mtu?: number;
  mac?: string;
  txQueueLen?: number;
  up?: boolean;
  /** bridge to attach to (resolved in this handle's namespace) */
  master?: LinkRef;
}

export interface VethSpec extends LinkAttrs {
  name: string;
  /** The peer cannot be brought up in the same request (the kernel opens it before its other end exists):
   * set it up afterwards through a handle of its namespace. */
  peer: { name: string; mtu?: number; mac?: string; txQueueLen?: number; netns?: NetnsRef };
}
export interface BridgeSpec extends LinkAttrs {
  name: string;
  vlanFiltering?: boolean;
}
export interface SimpleLinkSpec extends LinkAttrs {
  name: string;
}

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** a bridge to attach to, or null to detach */
  master?: LinkRef | null;
  promisc?: boolean;
  txQueueLen?: number;
  name?: string;
  netns?: NetnsRef;
  /** IFLA_IFALIAS, at most 255 bytes (longer: ERANGE); '' removes it. Only a change: the kernel ignores an
   * alias in a creating RTM_NEWLINK (as it does for `ip link add ... alias X`). */
  alias?: string;
}

export interface BridgePortChanges {
  hairpin?: boolean;
  learning?: boolean;
  isolated?: boolean;
}

export function isValidLinkName(name: string): boolean {
  const bytes = Buffer.byteLength(name);
  return bytes > 0 && bytes < IFNAMSIZ && !/[\s/:]/.test(name) && name !== '.' && name !== '..';
}

export function checkLinkName(name: string): void {
  if (!isValidLinkName(name)) {
    const why =
      Buffer.byteLength(name) >= IFNAMSIZ ? `longer than ${IFNAMSIZ - 1} bytes` : 'not a valid interface name';
    throw new NetlinkError(EINVAL, { message: `invalid link name "${name}": ${why}`, request: 'RTM_NEWLINK' });
  }
}

export function parseLink(msg: NlMessage): Link {
  const hdr = readIfInfoMsg(msg.data);
  const a = parseAttrs(msg.data, IFINFOMSG_LEN);
  const info = attrNested(a, IFLA_LINKINFO);
  const kind = info ? (attrStr(info, IFLA_INFO_KIND) ?? '') : '';
  const link: Link = {
    index: hdr.index,
    name: attrStr(a, IFLA_IFNAME) ?? '',
    kind,
    flags: hdr.flags,
    up: (hdr.flags & IFF_UP) !== 0,
    operState: OPER_STATES[attrU8(a, IFLA_OPERSTATE) ?? 0] ?? 'unknown',
    mtu: attrU32(a, IFLA_MTU) ?? 0,
    mac: a.has(IFLA_ADDRESS) ? bytesToMac(a.get(IFLA_ADDRESS)!) : '',
    txQueueLen: attrU32(a, IFLA_TXQLEN) ?? 0,
    promisc: (hdr.flags & IFF_PROMISC) !== 0,
    promiscuity: attrU32(a, IFLA_PROMISCUITY) ?? 0,
  };
  const master = attrU32(a, IFLA_MASTER);
  if (master) link.masterIndex = master;
  const parent = attrS32(a, IFLA_LINK);
  if (parent !== undefined) link.parentIndex = parent;
  const netnsId = attrS32(a, IFLA_LINK_NETNSID);
  if (netnsId !== undefined) link.linkNetnsId = netnsId;
  const alias = attrStr(a, IFLA_IFALIAS);
  if (alias) link.alias = alias;
  if (info && kind === 'bridge') {
    const data = attrNested(info, IFLA_INFO_DATA);
    link.bridge = { vlanFiltering: (data && attrU8(data, IFLA_BR_VLAN_FILTERING)) === 1 };
  }
  if (info && attrStr(info, IFLA_INFO_SLAVE_KIND) === 'bridge') {
    const data = attrNested(info, IFLA_INFO_SLAVE_DATA);
    link.bridgePort = {
      hairpin: (data && attrU8(data, IFLA_BRPORT_MODE)) === 1,
      learning: (data && attrU8(data, IFLA_BRPORT_LEARNING)) === 1,
      isolated: (data && attrU8(data, IFLA_BRPORT_ISOLATED)) === 1,
    };
  }
  return link;
}

/** The header + the attribute that names the link: index in the header, or IFLA_IFNAME. */
function addressed(ref: LinkRef, family = AF_UNSPEC, flags = 0, change = 0): PayloadWriter {
  const w = new PayloadWriter();
  if (typeof ref === 'number') return w.raw(ifInfoMsg({ family, index: ref, flags, change }));
  checkLinkName(ref);
  return w.raw(ifInfoMsg({ family, flags, change })).str(IFLA_IFNAME, ref);
}

export class LinkOps {
  constructor(private readonly ctx: NetContext) {}

  async list(): Promise<Link[]> {
    const msgs = await this.ctx.sock.dump({ type: RTM_GETLINK, payload: ifInfoMsg(), name: 'RTM_GETLINK' });
    return msgs.filter((m) => m.type === RTM_NEWLINK).map(parseLink);
  }

  /** The link, or a NetlinkError ENODEV ("no such device"). */
  async get(ref: LinkRef): Promise<Link> {
    const msgs = await this.ctx.sock.request({
      type: RTM_GETLINK,
      payload: addressed(ref).bytes(),
      name: 'RTM_GETLINK',
    });
    const m = msgs.find((x) => x.type === RTM_NEWLINK);
    if (!m) throw new NetlinkError(ENODEV, { request: 'RTM_GETLINK' });
    return parseLink(m);
  }

  /** The link, or undefined when it does not exist. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    if (typeof ref === 'string' && !isValidLinkName(ref)) return undefined;
    try {
      return await this.get(ref);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  async index(ref: LinkRef): Promise<number> {
    return typeof ref === 'number' ? ref : (await this.get(ref)).index;
  }

  async addVeth(spec: VethSpec): Promise<void> {
    checkLinkName(spec.peer.name);
    const peer = spec.peer;
    const send = (peerNsFd?: number) =>
      this.create(spec, 'veth', (w) => {
        w.nest(IFLA_INFO_DATA, (d) =>
          d.nest(VETH_INFO_PEER, (p) => {
            p.raw(ifInfoMsg());
            p.str(IFLA_IFNAME, peer.name);
            if (peer.mtu) p.u32(IFLA_MTU, peer.mtu);
            if (peer.mac) p.attr(IFLA_ADDRESS, macToBytes(peer.mac));
            if (peer.txQueueLen !== undefined) p.u32(IFLA_TXQLEN, peer.txQueueLen);
            if (peerNsFd !== undefined) p.u32(IFLA_NET_NS_FD, peerNsFd);
          }),
        );
      });
    if (peer.netns === undefined) return send();
    return withNetnsFd(peer.netns, send);
  }

  addBridge(spec: BridgeSpec): Promise<void> {
    return this.create(spec, 'bridge', (w) => {
      if (spec.vlanFiltering !== undefined)
        w.nest(IFLA_INFO_DATA, (d) => d.u8(IFLA_BR_VLAN_FILTERING, spec.vlanFiltering ? 1 : 0));
    });
  }

  addIfb(spec: SimpleLinkSpec): Promise<void> {
    return this.create(spec, 'ifb');
  }
  addDummy(spec: SimpleLinkSpec): Promise<void> {
    return this.create(spec, 'dummy');
  }

  /** Any kind without kind-specific data (e.g. 'ifb', 'dummy'). Fails with EEXIST if the name is taken. */
  async create(spec: LinkAttrs & { name: string }, kind: string, data?: (w: PayloadWriter) => void): Promise<void> {
    checkLinkName(spec.name);
    const master = spec.master === undefined ? undefined : await this.index(spec.master);
    const w = new PayloadWriter()
      .raw(ifInfoMsg({ flags: spec.up ? IFF_UP : 0, change: spec.up ? IFF_UP : 0 }))
      .str(IFLA_IFNAME, spec.name);
    if (spec.mtu) w.u32(IFLA_MTU, spec.mtu);
    if (spec.mac) w.attr(IFLA_ADDRESS, macToBytes(spec.mac));
    if (spec.txQueueLen !== undefined) w.u32(IFLA_TXQLEN, spec.txQueueLen);
    if (master !== undefined) w.u32(IFLA_MASTER, master);
    w.nest(IFLA_LINKINFO, (li) => {
      li.str(IFLA_INFO_KIND, kind);
      data?.(li);
    });
    await this.ctx.sock.request({
      type: RTM_NEWLINK,
      flags: NLM_F_CREATE | NLM_F_EXCL,
      payload: w.bytes(),
      name: 'RTM_NEWLINK',
    });
  }

  /** Applies all given changes in one request (atomic from the kernel's side for most combinations). */
  async set(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const send = async (nsFd?: number) => {
      let flags = 0,
        change = 0;
      if (changes.up !== undefined) {
        change |= IFF_UP;
        if (changes.up) flags |= IFF_UP;
      }
      if (changes.promisc !== undefined) {
        change |= IFF_PROMISC;
        if (changes.promisc) flags |= IFF_PROMISC;
      }
      const master =
        changes.master === undefined ? undefined : changes.master === null ? 0 : await this.index(changes.master);
      let w: PayloadWriter;
      if (changes.name !== undefined) {
        checkLinkName(changes.name);
        w = new PayloadWriter()
          .raw(ifInfoMsg({ index: await this.index(ref), flags, change }))
          .str(IFLA_IFNAME, changes.name);
      } else {
        w = addressed(ref, AF_UNSPEC, flags, change);
      }
      if (changes.mtu !== undefined) w.u32(IFLA_MTU, changes.mtu);
      if (changes.mac !== undefined) w.attr(IFLA_ADDRESS, macToBytes(changes.mac));
      if (changes.txQueueLen !== undefined) w.u32(IFLA_TXQLEN, changes.txQueueLen);
      if (master !== undefined) w.u32(IFLA_MASTER, master);
      // no NUL: the kernel stores exactly the given bytes (as iproute2 and vishvananda/netlink send it)
      if (changes.alias !== undefined) w.attr(IFLA_IFALIAS, Buffer.from(changes.alias));
      if (nsFd !== undefined) w.u32(IFLA_NET_NS_FD, nsFd);
      await this.ctx.sock.request({
        type: RTM_SETLINK,
        payload: w.bytes(),
        name: 'RTM_SETLINK',
        slow: nsFd !== undefined,
      });
    };
    if (changes.netns === undefined) return send();
    return withNetnsFd(changes.netns, send);
  }

  setUp(ref: LinkRef): Promise<void> {
    return this.set(ref, { up: true });
  }
  setDown(ref: LinkRef): Promise<void> {
    return this.set(ref, { up: false });
  }
  setMtu(ref: LinkRef, mtu: number): Promise<void> {
    return this.set(ref, { mtu });
  }
  setMac(ref: LinkRef, mac: string): Promise<void> {
    return this.set(ref, { mac });
  }
  setMaster(ref: LinkRef, master: LinkRef | null): Promise<void> {
    return this.set(ref, { master });
  }
  setPromisc(ref: LinkRef, on: boolean): Promise<void> {
    return this.set(ref, { promisc: on });
  }
  setTxQueueLen(ref: LinkRef, txQueueLen: number): Promise<void> {
    return this.set(ref, { txQueueLen });
  }
  setName(ref: LinkRef, name: string): Promise<void> {
    return this.set(ref, { name });
  }
  setNetns(ref: LinkRef, netns: NetnsRef): Promise<void> {
    return this.set(ref, { netns });
  }
  setAlias(ref: LinkRef, alias: string): Promise<void> {
    return this.set(ref, { alias });
  }

  /** Bridge-port flags of a link attached to a bridge (`ip link set X type bridge_slave hairpin on`). */
  async setBridgePort(ref: LinkRef, changes: BridgePortChanges): Promise<void> {
    const w = new PayloadWriter().raw(ifInfoMsg({ family: AF_BRIDGE, index: await this.index(ref) }));
    w.nest(
      IFLA_PROTINFO,
      (p) => {
        if (changes.hairpin !== undefined) p.u8(IFLA_BRPORT_MODE, changes.hairpin ? 1 : 0);
        if (changes.learning !== undefined) p.u8(IFLA_BRPORT_LEARNING, changes.learning ? 1 : 0);
        if (changes.isolated !== undefined) p.u8(IFLA_BRPORT_ISOLATED, changes.isolated ? 1 : 0);
      },
      true,
    );
    await this.ctx.sock.request({ type: RTM_SETLINK, payload: w.bytes(), name: 'RTM_SETLINK' });
  }

  /** Deletes the link (a veth takes its peer with it). ENODEV when it does not exist. */
  async delete(ref: LinkRef): Promise<void> {
    await this.ctx.sock.request({
      type: RTM_DELLINK,
      payload: addressed(ref).bytes(),
      name: 'RTM_DELLINK',
      slow: true,
    });
  }

  /** Deletes the link if it exists; true when something was deleted. */
  async deleteIfExists(ref: LinkRef): Promise<boolean> {
    try {
      await this.delete(ref);
      return true;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return false;
      throw e;
    }
  }
}

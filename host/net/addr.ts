// IP addresses on links (v4/v6): add/replace/delete/list, with IFA_F_NODAD and friends.
import type { NetContext } from './context.ts';
import type { LinkOps, LinkRef } from './link.ts';
import { attrStr, attrU32, parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_INET,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from './nl/constants.ts';
import { bytesToIp, parsePrefix, type IpPrefix } from './nl/ip.ts';
import type { NlMessage } from './nl/message.ts';
import { IFADDRMSG_LEN, ifAddrMsg, readIfAddrMsg } from './nl/structs.ts';

export interface Addr {
  /** "10.1.2.3/24", "fd00::2/64" */
  cidr: string;
  /** the address alone */
  ip: string;
  prefixLen: number;
  family: number;
  linkIndex: number;
  scope: number;
  /** IFA_F_* (full 32 bits) */
  flags: number;
  label?: string;
  broadcast?: string;
  /** the peer of a point-to-point address, when it differs from the local one */
  peer?: string;
}

export interface AddrOptions {
  /** skip duplicate address detection (IPv6) */
  noDad?: boolean;
  /** don't add the prefix route */
  noPrefixRoute?: boolean;
  /** IPv4 broadcast; default: computed for prefixes shorter than /31 (as vishvananda/netlink does); false: none */
  broadcast?: string | false;
  scope?: number;
  label?: string;
}

export const AddrScope = { universe: RT_SCOPE_UNIVERSE, link: RT_SCOPE_LINK, host: RT_SCOPE_HOST } as const;

function broadcastOf(p: IpPrefix): string {
  const b = Buffer.from(p.ip);
  for (let bit = p.prefixLen; bit < 32; bit++) b[bit >> 3] |= 0x80 >> (bit & 7);
  return bytesToIp(b);
}

export function parseAddr(msg: NlMessage): Addr {
  const h = readIfAddrMsg(msg.data);
  const a = parseAttrs(msg.data, IFADDRMSG_LEN);
  const local = a.get(IFA_LOCAL);
  const address = a.get(IFA_ADDRESS);
  const ipBytes = local ?? address!;
  const ip = bytesToIp(ipBytes);
  const out: Addr = {
    cidr: `${ip}/${h.prefixLen}`,
    ip,
    prefixLen: h.prefixLen,
    family: h.family,
    linkIndex: h.index,
    scope: h.scope,
    flags: attrU32(a, IFA_FLAGS) ?? h.flags,
  };
  const label = attrStr(a, IFA_LABEL);
  if (label) out.label = label;
  if (a.has(IFA_BROADCAST)) out.broadcast = bytesToIp(a.get(IFA_BROADCAST)!);
  if (local && address && !local.equals(address)) out.peer = bytesToIp(address);
  return out;
}

export class AddrOps {
  constructor(
    private readonly ctx: NetContext,
    private readonly links: LinkOps,
  ) {}

  /** Adds cidr to the link; EEXIST ("file exists") if it is already there. */
  add(link: LinkRef, cidr: string, opts: AddrOptions = {}): Promise<void> {
    return this.send(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, link, cidr, opts);
  }

  /** Adds cidr, or updates it in place when present. */
  replace(link: LinkRef, cidr: string, opts: AddrOptions = {}): Promise<void> {
    return this.send(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, link, cidr, opts);
  }

  /** EADDRNOTAVAIL ("cannot assign requested address") when the link does not have it. */
  delete(link: LinkRef, cidr: string): Promise<void> {
    return this.send(RTM_DELADDR, 0, link, cidr, { broadcast: false });
  }

  /** Addresses of one link (or all), optionally of one family (AF_INET / AF_INET6). */
  async list(link?: LinkRef, family: number = AF_UNSPEC): Promise<Addr[]> {
    const index = link === undefined ? 0 : await this.links.index(link);
    const msgs = await this.ctx.sock.dump({
      type: RTM_GETADDR,
      payload: ifAddrMsg({ family, prefixLen: 0, flags: 0, scope: 0, index: 0 }),
      name: 'RTM_GETADDR',
    });
    return msgs
      .filter((m) => m.type === RTM_NEWADDR)
      .map(parseAddr)
      .filter((a) => (index === 0 || a.linkIndex === index) && (family === AF_UNSPEC || a.family === family));
  }

  private async send(type: number, flags: number, link: LinkRef, cidr: string, opts: AddrOptions): Promise<void> {
    const p = parsePrefix(cidr);
    const index = await this.links.index(link);
    let ifaFlags = 0;
    if (opts.noDad) ifaFlags |= IFA_F_NODAD;
    if (opts.noPrefixRoute) ifaFlags |= IFA_F_NOPREFIXROUTE;
    const w = new PayloadWriter().raw(
      ifAddrMsg({
        family: p.family,
        prefixLen: p.prefixLen,
        flags: ifaFlags & 0xff,
        scope: opts.scope ?? RT_SCOPE_UNIVERSE,
        index,
      }),
    );
    if (p.family === AF_INET) w.attr(IFA_LOCAL, p.ip);
    w.attr(IFA_ADDRESS, p.ip);
    if (p.family === AF_INET && opts.broadcast !== false) {
      if (typeof opts.broadcast === 'string') w.attr(IFA_BROADCAST, parsePrefix(opts.broadcast).ip);
      else if (p.prefixLen < 31) w.attr(IFA_BROADCAST, parsePrefix(broadcastOf(p)).ip);
    }
    if (opts.label) w.str(IFA_LABEL, opts.label);
    if (ifaFlags) w.u32(IFA_FLAGS, ifaFlags);
    await this.ctx.sock.request({
      type,
      flags,
      payload: w.bytes(),
      name: type === RTM_NEWADDR ? 'RTM_NEWADDR' : 'RTM_DELADDR',
    });
  }
}

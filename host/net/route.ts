// Routes: add/replace/delete/list; table, scope, gateway, default routes, on-link gateways, metrics.
import type { NetContext } from './context.ts';
import type { LinkOps, LinkRef } from './link.ts';
import { attrNested, attrU32, parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTM_DELROUTE,
  RTM_F_CLONED,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_UNICAST,
  RTNH_F_ONLINK,
  RTPROT_BOOT,
} from './nl/constants.ts';
import { bytesToIp, addressFamily, ipToBytes, maskPrefix, parsePrefix } from './nl/ip.ts';
import type { NlMessage } from './nl/message.ts';
import { readRtMsg, RTMSG_LEN, rtMsg } from './nl/structs.ts';

export interface Route {
  /** "10.1.0.0/16", or "0.0.0.0/0" / "::/0" for a default route */
  dst: string;
  family: number;
  gw?: string;
  linkIndex?: number;
  table: number;
  scope: number;
  protocol: number;
  type: number;
  priority?: number;
  src?: string;
  onlink: boolean;
  mtu?: number;
  advmss?: number;
}

export interface RouteSpec {
  /** a CIDR, a bare address (host route), or "default" (family from gw, else `family`, else IPv4) */
  dst: string;
  gw?: string;
  dev?: LinkRef;
  family?: number;
  /** default: main (254) */
  table?: number;
  /** default: universe, as vishvananda/netlink (and so the Go plugins) send it; `ip route` would pick link
   * for a gateway-less route with a device — pass RouteScope.link for that */
  scope?: number;
  /** default: boot (3), as `ip route` does */
  protocol?: number;
  /** default: unicast */
  type?: number;
  priority?: number;
  src?: string;
  onlink?: boolean;
  mtu?: number;
  advmss?: number;
}

export interface RouteFilter {
  family?: number;
  /** default: main; 0 = every table */
  table?: number;
  dev?: LinkRef;
}

export const RouteScope = {
  universe: RT_SCOPE_UNIVERSE,
  link: RT_SCOPE_LINK,
  host: 254,
  nowhere: RT_SCOPE_NOWHERE,
} as const;

export function isDefaultDst(dst: string): boolean {
  return dst === 'default' || dst === '0.0.0.0/0' || dst === '::/0';
}

export function parseRoute(msg: NlMessage): Route {
  const h = readRtMsg(msg.data);
  const a = parseAttrs(msg.data, RTMSG_LEN);
  const zero = h.family === AF_INET6 ? '::' : '0.0.0.0';
  const r: Route = {
    dst: `${a.has(RTA_DST) ? bytesToIp(a.get(RTA_DST)!) : zero}/${h.dstLen}`,
    family: h.family,
    table: attrU32(a, RTA_TABLE) ?? h.table,
    scope: h.scope,
    protocol: h.protocol,
    type: h.type,
    onlink: (h.flags & RTNH_F_ONLINK) !== 0,
  };
  if (a.has(RTA_GATEWAY)) r.gw = bytesToIp(a.get(RTA_GATEWAY)!);
  const oif = attrU32(a, RTA_OIF);
  if (oif !== undefined) r.linkIndex = oif;
  const prio = attrU32(a, RTA_PRIORITY);
  if (prio !== undefined) r.priority = prio;
  if (a.has(RTA_PREFSRC)) r.src = bytesToIp(a.get(RTA_PREFSRC)!);
  const metrics = attrNested(a, RTA_METRICS);
  if (metrics) {
    const mtu = attrU32(metrics, RTAX_MTU);
    if (mtu !== undefined) r.mtu = mtu;
    const advmss = attrU32(metrics, RTAX_ADVMSS);
    if (advmss !== undefined) r.advmss = advmss;
  }
  return r;
}

export class RouteOps {
  constructor(
    private readonly ctx: NetContext,
    private readonly links: LinkOps,
  ) {}

  /** EEXIST ("file exists") if an identical route is there. */
  add(spec: RouteSpec): Promise<void> {
    return this.send(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, spec);
  }

  replace(spec: RouteSpec): Promise<void> {
    return this.send(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, spec);
  }

  /** Deletes the first route matching the given fields; ESRCH ("no such process") when none does. */
  delete(spec: RouteSpec): Promise<void> {
    return this.send(RTM_DELROUTE, 0, spec);
  }

  async list(filter: RouteFilter = {}): Promise<Route[]> {
    const family = filter.family ?? AF_UNSPEC;
    const table = filter.table ?? RT_TABLE_MAIN;
    const index = filter.dev === undefined ? undefined : await this.links.index(filter.dev);
    const msgs = await this.ctx.sock.dump({ type: RTM_GETROUTE, payload: rtMsg({ family }), name: 'RTM_GETROUTE' });
    return msgs
      .filter((m) => m.type === RTM_NEWROUTE && !(readRtMsg(m.data).flags & RTM_F_CLONED))
      .map(parseRoute)
      .filter(
        (r) =>
          (family === AF_UNSPEC || r.family === family) &&
          (table === 0 || r.table === table) &&
          (index === undefined || r.linkIndex === index),
      );
  }

  private async send(type: number, flags: number, spec: RouteSpec): Promise<void> {
    const isDelete = type === RTM_DELROUTE;
    let family = spec.family ?? (spec.gw ? addressFamily(spec.gw) : AF_INET);
    let dstIp: Buffer | undefined;
    let dstLen = 0;
    if (!isDefaultDst(spec.dst)) {
      const p = maskPrefix(parsePrefix(spec.dst));
      family = p.family;
      dstIp = p.ip;
      dstLen = p.prefixLen;
    } else if (spec.dst !== 'default') {
      family = addressFamily(spec.dst.slice(0, -2));
    }
    if (spec.gw && addressFamily(spec.gw) !== family)
      throw new Error(`gateway ${spec.gw} is not in the family of ${spec.dst}`);
    const oif = spec.dev === undefined ? undefined : await this.links.index(spec.dev);
    const table = spec.table ?? RT_TABLE_MAIN;
    const scope = spec.scope ?? (isDelete ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE);
    const w = new PayloadWriter().raw(
      rtMsg({
        family,
        dstLen,
        table: table < 256 ? table : 0,
        scope,
        protocol: spec.protocol ?? (isDelete ? 0 : RTPROT_BOOT),
        type: spec.type ?? (isDelete ? 0 : RTN_UNICAST),
        flags: spec.onlink ? RTNH_F_ONLINK : 0,
      }),
    );
    w.u32(RTA_TABLE, table);
    if (dstIp) w.attr(RTA_DST, dstIp);
    if (spec.gw) w.attr(RTA_GATEWAY, ipToBytes(spec.gw));
    if (oif !== undefined) w.u32(RTA_OIF, oif);
    if (spec.priority !== undefined) w.u32(RTA_PRIORITY, spec.priority);
    if (spec.src) w.attr(RTA_PREFSRC, ipToBytes(spec.src));
    if (spec.mtu !== undefined || spec.advmss !== undefined) {
      w.nest(RTA_METRICS, (m) => {
        if (spec.mtu !== undefined) m.u32(RTAX_MTU, spec.mtu);
        if (spec.advmss !== undefined) m.u32(RTAX_ADVMSS, spec.advmss);
      });
    }
    await this.ctx.sock.request({ type, flags, payload: w.bytes(), name: isDelete ? 'RTM_DELROUTE' : 'RTM_NEWROUTE' });
  }
}

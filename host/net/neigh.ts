// Neighbours (ARP / NDP entries): add/replace/delete/list.
import type { NetContext } from './context.ts';
import type { LinkOps, LinkRef } from './link.ts';
import { parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_UNSPEC,
  NDA_DST,
  NDA_LLADDR,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from './nl/constants.ts';
import { bytesToIp, bytesToMac, addressFamily, ipToBytes, macToBytes } from './nl/ip.ts';
import type { NlMessage } from './nl/message.ts';
import { NDMSG_LEN, ndMsg, readNdMsg } from './nl/structs.ts';

export const NeighState = {
  incomplete: NUD_INCOMPLETE,
  reachable: NUD_REACHABLE,
  stale: NUD_STALE,
  delay: NUD_DELAY,
  probe: NUD_PROBE,
  failed: NUD_FAILED,
  noarp: NUD_NOARP,
  permanent: NUD_PERMANENT,
} as const;

export interface Neigh {
  ip: string;
  mac?: string;
  family: number;
  linkIndex: number;
  /** NUD_* bits */
  state: number;
  flags: number;
}

export interface NeighSpec {
  dev: LinkRef;
  ip: string;
  mac: string;
  /** NUD_* (default permanent) */
  state?: number;
}

export function parseNeigh(msg: NlMessage): Neigh {
  const h = readNdMsg(msg.data);
  const a = parseAttrs(msg.data, NDMSG_LEN);
  const n: Neigh = {
    ip: a.has(NDA_DST) ? bytesToIp(a.get(NDA_DST)!) : '',
    family: h.family,
    linkIndex: h.index,
    state: h.state,
    flags: h.flags,
  };
  const ll = a.get(NDA_LLADDR);
  if (ll && ll.length === 6) n.mac = bytesToMac(ll);
  return n;
}

export class NeighOps {
  constructor(
    private readonly ctx: NetContext,
    private readonly links: LinkOps,
  ) {}

  add(spec: NeighSpec): Promise<void> {
    return this.send(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, spec);
  }
  replace(spec: NeighSpec): Promise<void> {
    return this.send(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, spec);
  }

  async delete(dev: LinkRef, ip: string): Promise<void> {
    const index = await this.links.index(dev);
    const w = new PayloadWriter().raw(ndMsg({ family: addressFamily(ip), index })).attr(NDA_DST, ipToBytes(ip));
    await this.ctx.sock.request({ type: RTM_DELNEIGH, payload: w.bytes(), name: 'RTM_DELNEIGH' });
  }

  async list(dev?: LinkRef, family = AF_UNSPEC): Promise<Neigh[]> {
    const index = dev === undefined ? undefined : await this.links.index(dev);
    const msgs = await this.ctx.sock.dump({ type: RTM_GETNEIGH, payload: ndMsg({ family }), name: 'RTM_GETNEIGH' });
    return msgs
      .filter((m) => m.type === RTM_NEWNEIGH)
      .map(parseNeigh)
      .filter(
        (n) =>
          n.ip !== '' &&
          (index === undefined || n.linkIndex === index) &&
          (family === AF_UNSPEC || n.family === family),
      );
  }

  private async send(type: number, flags: number, spec: NeighSpec): Promise<void> {
    const index = await this.links.index(spec.dev);
    const w = new PayloadWriter()
      .raw(ndMsg({ family: addressFamily(spec.ip), index, state: spec.state ?? NUD_PERMANENT }))
      .attr(NDA_DST, ipToBytes(spec.ip))
      .attr(NDA_LLADDR, macToBytes(spec.mac));
    await this.ctx.sock.request({ type, flags, payload: w.bytes(), name: 'RTM_NEWNEIGH' });
  }
}

// tc filters: the u32 match-all with a mirred egress redirect that sends a link's ingress traffic to an ifb
// (`tc filter add dev X parent ffff: protocol all prio 1 u32 match u32 0 0 flowid 1:1 action mirred egress redirect dev IFB`).
import type { NetContext } from './context.ts';
import type { LinkOps, LinkRef } from './link.ts';
import { attrList, attrStr, attrU32, parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_UNSPEC,
  ETH_P_ALL,
  NLM_F_CREATE,
  NLM_F_EXCL,
  RTM_DELTFILTER,
  RTM_GETTFILTER,
  RTM_NEWTFILTER,
  TC_ACT_STOLEN,
  TC_U32_TERMINAL,
  TCA_ACT_KIND,
  TCA_ACT_OPTIONS,
  TCA_EGRESS_REDIR,
  TCA_KIND,
  TCA_MIRRED_PARMS,
  TCA_OPTIONS,
  TCA_U32_ACT,
  TCA_U32_CLASSID,
  TCA_U32_SEL,
} from './nl/constants.ts';
import type { NlMessage } from './nl/message.ts';
import { readTcMsg, TCMSG_LEN, tcMsg } from './nl/structs.ts';
import { parseTcHandle, type TcHandle } from './tc.ts';

const TC_MIRRED_LEN = 28; // tc_gen (index, capab, action, refcnt, bindcnt) + eaction + ifindex

export interface MirredRedirectSpec {
  /** where the filter hangs (default the ingress qdisc, "ffff:") */
  parent?: TcHandle;
  /** default 1 */
  prio?: number;
  /** ethertype in host order (default ETH_P_ALL) */
  protocol?: number;
  /** default "1:1" */
  classId?: TcHandle;
  /** the link the traffic is redirected to (usually an ifb) */
  redirectTo: LinkRef;
}

export interface Filter {
  linkIndex: number;
  kind: string;
  parent: number;
  handle: number;
  prio: number;
  protocol: number;
  classId?: number;
  /** mirred actions on this filter */
  mirred: Array<{ eaction: number; action: number; ifindex: number }>;
}

const htons = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

function matchAllSelector(): Buffer {
  // struct tc_u32_sel (16 bytes) + one tc_u32_key { mask, val, off, offmask } of zeros: matches every packet
  const sel = Buffer.alloc(16 + 16);
  sel[0] = TC_U32_TERMINAL;
  sel[2] = 1; // nkeys
  return sel;
}

function mirredParms(ifindex: number): Buffer {
  const p = Buffer.alloc(TC_MIRRED_LEN);
  p.writeInt32LE(TC_ACT_STOLEN, 8);
  p.writeInt32LE(TCA_EGRESS_REDIR, 20);
  p.writeUInt32LE(ifindex, 24);
  return p;
}

export function parseFilter(msg: NlMessage): Filter {
  const h = readTcMsg(msg.data);
  const a = parseAttrs(msg.data, TCMSG_LEN);
  const f: Filter = {
    linkIndex: h.index,
    kind: attrStr(a, TCA_KIND) ?? '',
    parent: h.parent,
    handle: h.handle,
    prio: h.info >>> 16,
    protocol: htons(h.info & 0xffff),
    mirred: [],
  };
  const opts = a.get(TCA_OPTIONS);
  if (f.kind === 'u32' && opts) {
    const o = parseAttrs(opts);
    const classId = attrU32(o, TCA_U32_CLASSID);
    if (classId !== undefined) f.classId = classId;
    const acts = o.get(TCA_U32_ACT);
    for (const [, act] of acts ? attrList(acts) : []) {
      const aa = parseAttrs(act);
      if (attrStr(aa, TCA_ACT_KIND) !== 'mirred') continue;
      const p = aa.get(TCA_ACT_OPTIONS) && parseAttrs(aa.get(TCA_ACT_OPTIONS)!).get(TCA_MIRRED_PARMS);
      if (p && p.length >= TC_MIRRED_LEN)
        f.mirred.push({ action: p.readInt32LE(8), eaction: p.readInt32LE(20), ifindex: p.readUInt32LE(24) });
    }
  }
  return f;
}

export class FilterOps {
  constructor(
    private readonly ctx: NetContext,
    private readonly links: LinkOps,
  ) {}

  /** u32 match-all + mirred egress redirect (stolen). */
  async addU32MirredRedirect(dev: LinkRef, spec: MirredRedirectSpec): Promise<void> {
    const index = await this.links.index(dev);
    const target = await this.links.index(spec.redirectTo);
    const prio = spec.prio ?? 1;
    const protocol = spec.protocol ?? ETH_P_ALL;
    const w = new PayloadWriter()
      .raw(
        tcMsg({
          family: AF_UNSPEC,
          index,
          parent: parseTcHandle(spec.parent ?? 'ffff:'),
          handle: 0,
          info: ((prio << 16) | htons(protocol)) >>> 0,
        }),
      )
      .str(TCA_KIND, 'u32');
    w.nest(TCA_OPTIONS, (o) => {
      o.u32(TCA_U32_CLASSID, parseTcHandle(spec.classId ?? '1:1'));
      o.attr(TCA_U32_SEL, matchAllSelector());
      o.nest(TCA_U32_ACT, (acts) =>
        acts.nest(1, (act) => {
          act.str(TCA_ACT_KIND, 'mirred');
          act.nest(TCA_ACT_OPTIONS, (ao) => ao.attr(TCA_MIRRED_PARMS, mirredParms(target)));
        }),
      );
    });
    await this.ctx.sock.request({
      type: RTM_NEWTFILTER,
      flags: NLM_F_CREATE | NLM_F_EXCL,
      payload: w.bytes(),
      name: 'RTM_NEWTFILTER',
    });
  }

  /** Filters attached at parent (default ffff:) of a link. */
  async list(dev: LinkRef, parent: TcHandle = 'ffff:'): Promise<Filter[]> {
    const index = await this.links.index(dev);
    const msgs = await this.ctx.sock.dump({
      type: RTM_GETTFILTER,
      payload: tcMsg({ index, parent: parseTcHandle(parent) }),
      name: 'RTM_GETTFILTER',
    });
    return msgs.filter((m) => m.type === RTM_NEWTFILTER).map(parseFilter);
  }

  /** Deletes every filter of the given priority (and protocol) at parent. */
  async delete(dev: LinkRef, opts: { parent?: TcHandle; prio: number; protocol?: number }): Promise<void> {
    const index = await this.links.index(dev);
    const info = ((opts.prio << 16) | htons(opts.protocol ?? ETH_P_ALL)) >>> 0;
    await this.ctx.sock.request({
      type: RTM_DELTFILTER,
      payload: tcMsg({ index, parent: parseTcHandle(opts.parent ?? 'ffff:'), info }),
      name: 'RTM_DELTFILTER',
    });
  }
}

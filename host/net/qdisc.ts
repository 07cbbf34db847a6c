// Queueing disciplines: root tbf (numbers as the Wasm core computes them), ingress; list/delete.
// tbf is encoded the way vishvananda/netlink does (parameters in ticks, no rate table), so a CHECK that reads
// the buffer back compares equal with the value it computed.
import type { NetContext } from './context.ts';
import type { LinkOps, LinkRef } from './link.ts';
import { attrNested, attrStr, attrU64, parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_UNSPEC,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELQDISC,
  RTM_GETQDISC,
  RTM_NEWQDISC,
  TC_H_INGRESS,
  TC_H_ROOT,
  TCA_KIND,
  TCA_OPTIONS,
  TCA_STATS2,
  TCA_TBF_PARMS,
  TCA_TBF_PRATE64,
  TCA_TBF_RATE64,
} from './nl/constants.ts';
import type { NlMessage } from './nl/message.ts';
import { readTcMsg, TCMSG_LEN, tcMsg } from './nl/structs.ts';
import { parseTcHandle, type TcHandle } from './tc.ts';

const TCA_STATS_BASIC = 1;
const TCA_STATS_QUEUE = 3;
const TC_TBF_QOPT_LEN = 36; // rate (12) + peakrate (12) + limit + buffer + mtu

export interface TbfParams {
  /** bytes per second */
  rate: bigint | number;
  /** ticks (the core's `buffer`) */
  buffer: number;
  /** bytes */
  limit: number;
}

export interface TbfSpec extends TbfParams {
  /** default "1:" */
  handle?: TcHandle;
  /** default root */
  parent?: TcHandle;
}

export interface QdiscStats {
  bytes: bigint;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  qlen: number;
  backlog: number;
}

export interface Qdisc {
  linkIndex: number;
  kind: string;
  handle: number;
  parent: number;
  tbf?: { rate: bigint; buffer: number; limit: number; mtu: number; peakrate: bigint };
  stats?: QdiscStats;
}

function tbfOptions(p: TbfParams): Buffer {
  const rate = BigInt(p.rate);
  const q = Buffer.alloc(TC_TBF_QOPT_LEN);
  // struct tc_ratespec { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align; u16 mpu; u32 rate }
  q.writeUInt32LE(Number(rate >= 1n << 32n ? 0xffffffffn : rate), 8);
  q.writeUInt32LE(p.limit >>> 0, 24);
  q.writeUInt32LE(p.buffer >>> 0, 28);
  const w = new PayloadWriter().attr(TCA_TBF_PARMS, q);
  if (rate >= 1n << 32n) w.u64(TCA_TBF_RATE64, rate);
  return w.bytes();
}

export function parseQdisc(msg: NlMessage): Qdisc {
  const h = readTcMsg(msg.data);
  const a = parseAttrs(msg.data, TCMSG_LEN);
  const q: Qdisc = { linkIndex: h.index, kind: attrStr(a, TCA_KIND) ?? '', handle: h.handle, parent: h.parent };
  const opts = a.get(TCA_OPTIONS);
  if (q.kind === 'tbf' && opts) {
    const o = parseAttrs(opts);
    const parms = o.get(TCA_TBF_PARMS);
    if (parms && parms.length >= TC_TBF_QOPT_LEN) {
      q.tbf = {
        rate: attrU64(o, TCA_TBF_RATE64) ?? BigInt(parms.readUInt32LE(8)),
        peakrate: attrU64(o, TCA_TBF_PRATE64) ?? BigInt(parms.readUInt32LE(20)),
        limit: parms.readUInt32LE(24),
        buffer: parms.readUInt32LE(28),
        mtu: parms.readUInt32LE(32),
      };
    }
  }
  const st = attrNested(a, TCA_STATS2);
  if (st) {
    const basic = st.get(TCA_STATS_BASIC);
    const queue = st.get(TCA_STATS_QUEUE);
    q.stats = {
      bytes: basic && basic.length >= 12 ? basic.readBigUInt64LE(0) : 0n,
      packets: basic && basic.length >= 12 ? basic.readUInt32LE(8) : 0,
      qlen: queue ? queue.readUInt32LE(0) : 0,
      backlog: queue ? queue.readUInt32LE(4) : 0,
      drops: queue ? queue.readUInt32LE(8) : 0,
      requeues: queue ? queue.readUInt32LE(12) : 0,
      overlimits: queue ? queue.readUInt32LE(16) : 0,
    };
  }
  return q;
}

export class QdiscOps {
  constructor(
    private readonly ctx: NetContext,
    private readonly links: LinkOps,
  ) {}

  /** A tbf qdisc (default: root, handle 1:). EEXIST when a non-default root qdisc is already there. */
  addTbf(dev: LinkRef, spec: TbfSpec): Promise<void> {
    return this.send(
      RTM_NEWQDISC,
      NLM_F_CREATE | NLM_F_EXCL,
      dev,
      'tbf',
      spec.parent ?? TC_H_ROOT,
      spec.handle ?? '1:',
      tbfOptions(spec),
    );
  }

  replaceTbf(dev: LinkRef, spec: TbfSpec): Promise<void> {
    return this.send(
      RTM_NEWQDISC,
      NLM_F_CREATE | NLM_F_REPLACE,
      dev,
      'tbf',
      spec.parent ?? TC_H_ROOT,
      spec.handle ?? '1:',
      tbfOptions(spec),
    );
  }

  /** The ingress qdisc (handle ffff:), the attachment point for ingress filters. */
  addIngress(dev: LinkRef): Promise<void> {
    return this.send(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, dev, 'ingress', TC_H_INGRESS, 'ffff:', Buffer.alloc(0));
  }

  /** Deletes the qdisc at parent (default root); ENOENT / EINVAL from the kernel when there is none. */
  async delete(dev: LinkRef, parent: TcHandle = 'root', handle: TcHandle = 0): Promise<void> {
    const index = await this.links.index(dev);
    const payload = tcMsg({ family: AF_UNSPEC, index, parent: parseTcHandle(parent), handle: parseTcHandle(handle) });
    await this.ctx.sock.request({ type: RTM_DELQDISC, payload, name: 'RTM_DELQDISC' });
  }

  deleteIngress(dev: LinkRef): Promise<void> {
    return this.delete(dev, 'ingress', 'ffff:');
  }

  /** Qdiscs of one link (or all links). */
  async list(dev?: LinkRef): Promise<Qdisc[]> {
    const index = dev === undefined ? undefined : await this.links.index(dev);
    const msgs = await this.ctx.sock.dump({
      type: RTM_GETQDISC,
      payload: tcMsg({ index: index ?? 0 }),
      name: 'RTM_GETQDISC',
    });
    return msgs
      .filter((m) => m.type === RTM_NEWQDISC)
      .map(parseQdisc)
      .filter((q) => index === undefined || q.linkIndex === index);
  }

  private async send(
    type: number,
    flags: number,
    dev: LinkRef,
    kind: string,
    parent: TcHandle,
    handle: TcHandle,
    options: Buffer,
  ): Promise<void> {
    const index = await this.links.index(dev);
    const w = new PayloadWriter()
      .raw(tcMsg({ family: AF_UNSPEC, index, parent: parseTcHandle(parent), handle: parseTcHandle(handle) }))
      .str(TCA_KIND, kind);
    if (options.length) w.attr(TCA_OPTIONS, options);
    await this.ctx.sock.request({
      type,
      flags,
      payload: w.bytes(),
      name: type === RTM_NEWQDISC ? 'RTM_NEWQDISC' : 'RTM_DELQDISC',
    });
  }
}

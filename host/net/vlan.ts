// Bridge VLANs of a port (`bridge vlan add|del|show`); needs a kernel with bridge VLAN filtering.
import type { NetContext } from './context.ts';
import type { LinkOps, LinkRef } from './link.ts';
import { attrList, attrStr, parseAttrs, PayloadWriter } from './nl/attrs.ts';
import {
  AF_BRIDGE,
  BRIDGE_FLAGS_MASTER,
  BRIDGE_FLAGS_SELF,
  BRIDGE_VLAN_INFO_PVID,
  BRIDGE_VLAN_INFO_RANGE_BEGIN,
  BRIDGE_VLAN_INFO_RANGE_END,
  BRIDGE_VLAN_INFO_UNTAGGED,
  IFLA_AF_SPEC,
  IFLA_BRIDGE_FLAGS,
  IFLA_BRIDGE_VLAN_INFO,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  RTEXT_FILTER_BRVLAN,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
} from './nl/constants.ts';
import { IFINFOMSG_LEN, ifInfoMsg, readIfInfoMsg } from './nl/structs.ts';

export interface BridgeVlan {
  vid: number;
  pvid: boolean;
  untagged: boolean;
}

export interface BridgeVlanOptions {
  pvid?: boolean;
  untagged?: boolean;
  /** act on the bridge device itself (`self`) instead of on the port (`master`, the default) */
  self?: boolean;
}

export class BridgeVlanOps {
  constructor(
    private readonly ctx: NetContext,
    private readonly links: LinkOps,
  ) {}

  add(dev: LinkRef, vid: number, opts: BridgeVlanOptions = {}): Promise<void> {
    return this.send(RTM_SETLINK, dev, vid, opts);
  }

  delete(dev: LinkRef, vid: number, opts: Pick<BridgeVlanOptions, 'self'> = {}): Promise<void> {
    return this.send(RTM_DELLINK, dev, vid, opts);
  }

  /** VLANs per link name, for every bridge port and bridge with VLAN filtering (or just for dev). */
  async list(dev?: LinkRef): Promise<Map<string, BridgeVlan[]>> {
    const index = dev === undefined ? undefined : await this.links.index(dev);
    const payload = new PayloadWriter()
      .raw(ifInfoMsg({ family: AF_BRIDGE }))
      .u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN)
      .bytes();
    const msgs = await this.ctx.sock.dump({ type: RTM_GETLINK, payload, name: 'RTM_GETLINK' });
    const out = new Map<string, BridgeVlan[]>();
    for (const m of msgs) {
      if (m.type !== RTM_NEWLINK) continue;
      const h = readIfInfoMsg(m.data);
      if (index !== undefined && h.index !== index) continue;
      const a = parseAttrs(m.data, IFINFOMSG_LEN);
      const spec = a.get(IFLA_AF_SPEC);
      if (!spec) continue;
      const vlans: BridgeVlan[] = [];
      let rangeStart = 0;
      for (const [type, v] of attrList(spec)) {
        if (type !== IFLA_BRIDGE_VLAN_INFO || v.length < 4) continue;
        const flags = v.readUInt16LE(0);
        const vid = v.readUInt16LE(2);
        const entry = (id: number): BridgeVlan => ({
          vid: id,
          pvid: (flags & BRIDGE_VLAN_INFO_PVID) !== 0,
          untagged: (flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0,
        });
        if (flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
          rangeStart = vid;
          continue;
        }
        if (flags & BRIDGE_VLAN_INFO_RANGE_END) {
          for (let id = rangeStart; id <= vid; id++) vlans.push(entry(id));
          continue;
        }
        vlans.push(entry(vid));
      }
      out.set(attrStr(a, IFLA_IFNAME) ?? String(h.index), vlans);
    }
    return out;
  }

  private async send(type: number, dev: LinkRef, vid: number, opts: BridgeVlanOptions): Promise<void> {
    if (!Number.isInteger(vid) || vid < 1 || vid > 4094)
      throw new Error(`invalid VLAN ID ${vid} (must be between 1 and 4094)`);
    const index = await this.links.index(dev);
    let flags = 0;
    if (opts.pvid) flags |= BRIDGE_VLAN_INFO_PVID;
    if (opts.untagged) flags |= BRIDGE_VLAN_INFO_UNTAGGED;
    const info = Buffer.alloc(4);
    info.writeUInt16LE(flags, 0);
    info.writeUInt16LE(vid, 2);
    const w = new PayloadWriter().raw(ifInfoMsg({ family: AF_BRIDGE, index }));
    w.nest(IFLA_AF_SPEC, (s) => {
      s.u16(IFLA_BRIDGE_FLAGS, opts.self ? BRIDGE_FLAGS_SELF : BRIDGE_FLAGS_MASTER);
      s.attr(IFLA_BRIDGE_VLAN_INFO, info);
    });
    await this.ctx.sock.request({
      type,
      payload: w.bytes(),
      name: type === RTM_SETLINK ? 'RTM_SETLINK' : 'RTM_DELLINK',
    });
  }
}

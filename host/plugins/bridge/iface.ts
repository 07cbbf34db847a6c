// The container side of L3: per-interface sysctls, the result's addresses and routes (the reference's
// ipam.ConfigureIface), and the bridge's gateway addresses (ensureAddr).
import { annotate, withContext } from '../../errors.ts';
import type { Result } from '../../cni/types.ts';
import { Cidr, familyOf } from '../../core/index.ts';
import type { NetHandle } from '../../net/handle.ts';
import type { Link } from '../../net/link.ts';
import { bestEffort } from './veth.ts';
import { AF_INET, AF_INET6, IFA_F_DADFAILED, IFA_F_TENTATIVE } from '../../net/nl/constants.ts';

const DAD_SETTLE_MS = 5000;

/** accept_dad/enhanced_dad per `enabledad`, arp_notify=1; best-effort like the reference. */
export function containerSysctls(cont: NetHandle, ifName: string, enableDad: boolean): void {
  const set = (k: string, v: string) => bestEffort(() => cont.sysctl.set(k, v));
  if (enableDad) {
    set(`net/ipv6/conf/${ifName}/enhanced_dad`, '1');
    set(`net/ipv6/conf/${ifName}/accept_dad`, '1');
  } else {
    set(`net/ipv6/conf/${ifName}/accept_dad`, '0');
  }
  set(`net/ipv4/conf/${ifName}/arp_notify`, '1');
}

function ipText(ip: { address: string; gateway?: string; interface?: number }): string {
  return `{Version: Interface:${ip.interface ?? '<nil>'} Address:${ip.address} Gateway:${ip.gateway ?? '<nil>'}}`;
}

/** Addresses, link up, IPv6 DAD settle, routes — in the reference's order and with its messages. */
export async function configureIface(cont: NetHandle, ifName: string, res: Result): Promise<void> {
  const interfaces = res.interfaces ?? [];
  if (interfaces.length === 0) throw new Error('no interfaces to configure');
  const link = await cont.link.find(ifName);
  if (!link) throw new Error(`failed to lookup "${ifName}": Link not found`);
  let v4gw: string | undefined;
  let v6gw: string | undefined;
  let ipv6Enabled = false;
  for (const ip of res.ips ?? []) {
    if (ip.interface === undefined) continue;
    if (ip.interface < 0 || ip.interface >= interfaces.length || interfaces[ip.interface]!.name !== ifName) {
      throw new Error(`failed to add IP addr ${ipText(ip)} to "${ifName}": invalid interface index`);
    }
    if (!ipv6Enabled && familyOf(ip.address) === 6) {
      for (const dev of ['lo', ifName]) {
        const key = `net/ipv6/conf/${dev}/disable_ipv6`;
        let value: string;
        try {
          value = cont.sysctl.get(key);
        } catch {
          continue;
        }
        if (value === '0') continue;
        await withContext(`failed to enable IPv6 for interface "${dev}" (${key}=${value})`, () =>
          cont.sysctl.set(key, '0'),
        );
      }
      await withContext(`failed to enable keep_addr_on_down for interface "${ifName}"`, () =>
        cont.sysctl.set(`net/ipv6/conf/${ifName}/keep_addr_on_down`, '1'),
      );
      ipv6Enabled = true;
    }
    await withContext(`failed to add IP addr ${ipText(ip)} to "${ifName}"`, () =>
      cont.addr.add(link.index, ip.address),
    );
    if (ip.gateway !== undefined) {
      if (familyOf(ip.gateway) === 4) v4gw ??= ip.gateway;
      else v6gw ??= ip.gateway;
    }
  }
  await withContext(`failed to set "${ifName}" UP`, () => cont.link.setUp(link.index));
  if (v6gw !== undefined) await settleAddresses(cont, link, ifName);
  for (const r of res.routes ?? []) {
    const gw = r.gw ?? (familyOf(r.dst) === 6 ? v6gw : v4gw);
    await withContext(
      `failed to add route '${r.dst} via ${gw ?? '<nil>'} dev ${ifName} metric ${r.priority ?? 0} (Scope: ${r.scope ?? 0}, Table: ${r.table ?? 0})'`,
      () => cont.route.add({ dst: r.dst, gw, dev: link.index, priority: r.priority, table: r.table, scope: r.scope }),
    );
  }
}

/** Waits (≤ 5 s) for IPv6 addresses to leave `tentative`; DADFAILED is an error. */
async function settleAddresses(cont: NetHandle, link: Link, ifName: string): Promise<void> {
  const deadline = Date.now() + DAD_SETTLE_MS;
  for (;;) {
    const addrs = await cont.addr.list(link.index, AF_INET6);
    const failed = addrs.find((a) => (a.flags & IFA_F_DADFAILED) !== 0);
    if (failed)
      throw new Error(
        `failed to settle addresses for "${ifName}": link ${ifName} has address ${failed.ip} in DADFAILED state`,
      );
    if (!addrs.some((a) => (a.flags & IFA_F_TENTATIVE) !== 0)) return;
    if (Date.now() > deadline) {
      const now = await cont.link.get(link.index);
      if (now.operState === 'up')
        throw new Error(
          `failed to settle addresses for "${ifName}": link ${ifName} still has tentative addresses after 5s seconds`,
        );
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Puts `gateway/prefix` on the bridge (or VLAN helper). Same address: nothing to do. IPv4: any other IPv4 address
 * conflicts; IPv6: only overlapping ones. A conflict fails unless forceAddress (then it is removed). After adding,
 * the link's MAC is set to itself so the bridge stops following its lowest port MAC.
 */
export async function ensureAddr(host: NetHandle, link: Link, cidr: string, forceAddress: boolean): Promise<void> {
  const want = Cidr.parse(cidr);
  const v6 = want.family === 6;
  const existing = await host.addr.list(link.index, v6 ? AF_INET6 : AF_INET);
  for (const a of existing) {
    const have = Cidr.parse(a.cidr);
    if (have.written === want.written) return;
    if (!v6 || have.contains(want.ip) || want.contains(have.ip)) {
      if (!forceAddress) throw new Error(`"${link.name}" already has an IP address different from ${want.written}`);
      await withContext(`could not remove IP address from "${link.name}"`, () =>
        host.addr.delete(link.index, have.written),
      );
    }
  }
  try {
    await host.addr.add(link.index, want.written);
  } catch (e) {
    if (!(e as { code?: string }).code?.includes('EEXIST'))
      throw annotate(e, `could not add IP address ${want.written} to "${link.name}"`);
  }
  await withContext("could not set bridge's mac", () => host.link.setMac(link.index, link.mac));
}

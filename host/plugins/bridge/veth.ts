// The bridge and its ports: ensure the bridge, create the veth pair (container end made inside the container
// namespace, host end straight into the host namespace), attach and configure the host port.
import { annotate, withContext } from '../../errors.ts';
import { randomBytes } from 'node:crypto';
import type { Interface } from '../../cni/types.ts';
import type { NetHandle } from '../../net/handle.ts';
import type { Link } from '../../net/link.ts';
import { NetlinkError } from '../../net/nl/error.ts';
import type { BridgeConfig } from './config.ts';

/** Host-side veth names: `veth` + 8 random hex characters, as the reference (random, not derived). */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

/** Runs a write whose failure the reference ignores (sysctls that may not exist). */
export function bestEffort(fn: () => void): void {
  try {
    fn();
  } catch {
    /* ignored, as the reference does */
  }
}

function isErrno(e: unknown, code: string): boolean {
  return e instanceof NetlinkError && e.code === code;
}

/**
 * Creates the bridge if missing (MTU and vlan_filtering only at creation), sets promisc when asked, checks
 * that an existing link of that name is a bridge, disables accept_ra on it and sets it up.
 */
export async function ensureBridge(host: NetHandle, c: BridgeConfig): Promise<Link> {
  const name = c.bridge;
  const wrap = (msg: string): Error => new Error(`failed to create bridge "${name}": ${msg}`);
  const vlanFiltering = c.vlan !== 0 || c.vlanTrunk !== undefined;
  try {
    await host.link.addBridge({
      name,
      mtu: c.mtu > 0 ? c.mtu : undefined,
      vlanFiltering: vlanFiltering ? true : undefined,
    });
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw annotate(e, `failed to create bridge "${name}": could not add "${name}"`);
  }
  if (c.promiscMode) {
    await withContext(`failed to create bridge "${name}": could not set promiscuous mode on "${name}"`, () =>
      host.link.setPromisc(name, true),
    );
  }
  const br = await host.link.find(name);
  if (!br) throw wrap(`could not lookup "${name}": Link not found`);
  if (br.kind !== 'bridge') throw wrap(`"${name}" already exists but is not a bridge`);
  bestEffort(() => host.sysctl.set(`net/ipv6/conf/${name}/accept_ra`, '0'));
  await host.link.setUp(br.index);
  return br;
}

export interface VethPair {
  host: Interface & { index: number };
  container: Interface & { index: number };
}

/**
 * Makes the pair from inside `cont` (its end named ifName, with mtu/mac) with the peer created directly in
 * `host`, sets the host end up (accept_ra=0), attaches it to the bridge and applies hairpin/isolation/VLANs.
 * `created` is called as soon as the pair exists, so a caller can roll it back if a later step fails.
 */
export async function setupVeth(
  host: NetHandle,
  cont: NetHandle,
  br: Link,
  ifName: string,
  c: BridgeConfig,
  opts: { mtu: number; mac?: string; hairpin: boolean; isolated: boolean; vlan: number; trunk: number[] },
  created: () => void,
): Promise<VethPair> {
  let hostName = '';
  for (let attempt = 0; ; attempt++) {
    hostName = randomVethName();
    try {
      await cont.link.addVeth({
        name: ifName,
        mtu: opts.mtu > 0 ? opts.mtu : undefined,
        mac: opts.mac,
        // txqueuelen 0 on the host end: what the reference's netlink library sends for a veth peer.
        peer: { name: hostName, mtu: opts.mtu > 0 ? opts.mtu : undefined, txQueueLen: 0, netns: host },
      });
      break;
    } catch (e) {
      if (isErrno(e, 'EEXIST')) {
        // The reference reports an existing container interface this way; a host-side name clash is retried.
        if (attempt < 9 && !(await cont.link.find(ifName))) continue;
        throw new Error(`container veth name ("${ifName}") peer provided ("${hostName}") already exists`);
      }
      throw annotate(e, 'failed to make veth pair');
    }
  }
  created();
  const contLink = await cont.link.get(ifName);
  const hostLink = await host.link.find(hostName);
  if (!hostLink) throw new Error(`failed to lookup "${hostName}": Link not found`);
  const port = hostLink.index;
  await withContext(`failed to set "${hostName}" up`, () => host.link.setUp(port));
  bestEffort(() => host.sysctl.set(`net/ipv6/conf/${hostName}/accept_ra`, '0'));
  await withContext(`failed to connect "${hostName}" to bridge ${br.name}`, () => host.link.setMaster(port, br.index));
  await withContext(`failed to setup hairpin mode for ${hostName}`, () =>
    host.link.setBridgePort(port, { hairpin: opts.hairpin }),
  );
  await withContext(`failed to set isolated on for ${hostName}`, () =>
    host.link.setBridgePort(port, { isolated: opts.isolated }),
  );
  await setupPortVlans(host, hostLink.index, hostName, opts.vlan, opts.trunk, c.preserveDefaultVlan);
  return {
    host: { name: hostName, mac: hostLink.mac, index: hostLink.index },
    container: { name: contLink.name, mac: contLink.mac, sandbox: cont.nsPath ?? '', index: contLink.index },
  };
}

/** Access VLAN (pvid untagged), trunk VLANs (tagged) and native VLAN 1 for a trunk without access VLAN. */
async function setupPortVlans(
  host: NetHandle,
  port: number,
  portName: string,
  vlan: number,
  trunk: number[],
  preserveDefault: boolean,
): Promise<void> {
  if ((vlan !== 0 || trunk.length > 0) && !preserveDefault) {
    await withContext(`failed to remove default vlan on interface "${portName}"`, async () => {
      for (const vlans of (await host.vlan.list(port)).values())
        for (const v of vlans) await host.vlan.delete(port, v.vid);
    });
  }
  const tagged = `failed to setup vlan tag on interface "${portName}"`;
  if (vlan !== 0) await withContext(tagged, () => host.vlan.add(port, vlan, { pvid: true, untagged: true }));
  for (const v of trunk) await withContext(tagged, () => host.vlan.add(port, v, { pvid: false, untagged: false }));
  if (vlan === 0 && trunk.length > 0) {
    await withContext(`failed to setup default native vlan tag on interface "${portName}"`, () =>
      host.vlan.add(port, 1, { pvid: true, untagged: true }),
    );
  }
}

/**
 * The `<bridge>.<vlan>` helper that carries the gateway address when the bridge uses an access VLAN: a veth
 * pair in the host namespace whose random peer is a bridge port in that VLAN. Returns the helper link.
 */
export async function ensureVlanGateway(host: NetHandle, br: Link, c: BridgeConfig): Promise<Link> {
  const name = `${br.name}.${c.vlan}`;
  const existing = await host.link.find(name);
  if (existing) return existing;
  const pair = await withContext(`faild to create vlan gateway "${name}"`, () =>
    setupVeth(
      host,
      host,
      br,
      name,
      c,
      { mtu: br.mtu, hairpin: false, isolated: false, vlan: c.vlan, trunk: [] },
      () => undefined,
    ),
  );
  await withContext(`failed to up "${name}"`, () => host.link.setUp(pair.container.index));
  return host.link.get(pair.container.index);
}

/** Polls the host port until it is operationally up (after 0, 50, 500, 1000, 1000 ms, as the reference). */
export async function waitPortUp(host: NetHandle, name: string): Promise<Link> {
  const sleeps = [0, 50, 500, 1000, 1000];
  let link: Link | undefined;
  for (const ms of sleeps) {
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    link = await host.link.get(name);
    if (link.operState === 'up') return link;
  }
  throw new Error(`bridge port in error state: ${link?.operState ?? 'unknown'}`);
}

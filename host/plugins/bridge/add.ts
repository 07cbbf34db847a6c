import { delegateAdd, delegateDel } from '../../cni/delegate.ts';
import { withContext } from '../../errors.ts';
import { faultPoint } from '../../cni/faults.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';
import { CURRENT_VERSION } from '../../cni/version.ts';
import { setupIpMasq, teardownIpMasq } from '../../firewall/ipmasq.ts';
import { NetHandle, openNetns } from '../../net/handle.ts';
import type { Link } from '../../net/link.ts';
import { attachmentId, loadBridgeConfig, validateForAdd, type BridgeConfig } from './config.ts';
import { applyGateways, type Gateways } from './gateway.ts';
import { configureIface, containerSysctls, ensureAddr } from './iface.ts';
import { markOwner } from './owner.ts';
import { setupSpoofCheck, teardownSpoofCheck } from './spoofcheck.ts';
import { ensureBridge, ensureVlanGateway, setupVeth, waitPortUp } from './veth.ts';

/** Undo steps of a partly done ADD, run newest first; their own failures are ignored. */
class Rollback {
  private steps: Array<() => Promise<unknown>> = [];
  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) await step().catch(() => undefined);
    this.steps = [];
  }
}

export async function cmdAdd(a: CmdArgs): Promise<Result> {
  const c = loadBridgeConfig(a.conf, a.cniVersion, a.args);
  validateForAdd(c);
  const isL3 = c.ipamType !== '';
  const cont = await openNetns(a.netns, a.caller);
  const host = await NetHandle.open(a.caller.netns);
  const rollback = new Rollback();
  try {
    const br = await ensureBridge(host, c);
    const pair = await setupVeth(
      host,
      cont,
      br,
      a.ifName,
      c,
      { mtu: c.mtu, mac: c.mac, hairpin: c.hairpinMode, isolated: c.portIsolation, vlan: c.vlan, trunk: c.trunkVlans },
      () => rollback.push(() => cont.link.delete(a.ifName)),
    );
    await markOwner(host, pair.host.index, c.networkName, a.containerId);
    faultPoint('bridge:veth-created');
    const result: Result = {
      cniVersion: CURRENT_VERSION,
      interfaces: [
        { name: br.name, mac: br.mac },
        { name: pair.host.name, mac: pair.host.mac },
        { name: pair.container.name, mac: pair.container.mac, sandbox: a.netns },
      ],
    };
    const attachment = attachmentId(a.containerId, a.ifName);
    if (c.macspoofchk) {
      await setupSpoofCheck(pair.host.name, pair.container.mac!, attachment);
      rollback.push(() => teardownSpoofCheck(attachment));
    }
    if (isL3) {
      const ipam = await delegateAdd(a, c.ipamType);
      rollback.push(() => delegateDel(a, c.ipamType));
      faultPoint('bridge:ipam-done');
      result.ips = ipam.ips;
      result.routes = ipam.routes;
      result.dns = ipam.dns;
      if (!result.ips || result.ips.length === 0) throw new Error('IPAM plugin returned missing IP config');
      const gateways = applyGateways(result, c.isGateway, c.isDefaultGateway);
      containerSysctls(cont, a.ifName, c.enabledad);
      await configureIface(cont, a.ifName, result);
      if (c.isGateway) await configureGateways(host, br, c, gateways, result);
      if (c.ipMasq) {
        const masq = {
          network: c.networkName,
          containerId: a.containerId,
          ifName: a.ifName,
          ips: result.ips.map((ip) => ip.address),
        };
        await setupIpMasq({ ...masq, backend: c.ipMasqBackend });
        rollback.push(() => teardownIpMasq(masq));
      }
    } else if (!c.disableContainerInterface) {
      await withContext(`failed to set "${a.ifName}" up`, () => cont.link.setUp(a.ifName));
    }
    const hostVeth = c.disableContainerInterface
      ? await host.link.get(pair.host.name)
      : await waitPortUp(host, pair.host.name);
    result.interfaces![1]!.mac = hostVeth.mac;
    const brNow = await host.link.find(c.bridge);
    if (!brNow) throw new Error(`could not lookup "${c.bridge}": Link not found`);
    if (brNow.kind !== 'bridge') throw new Error(`"${c.bridge}" already exists but is not a bridge`);
    result.interfaces![0]!.mac = brNow.mac;
    if (c.dns) result.dns = c.dns;
    return result;
  } catch (e) {
    await rollback.run();
    throw e;
  } finally {
    host.close();
    cont.close();
  }
}

/** Gateway addresses on the bridge (or on `<bridge>.<vlan>`), then forwarding for each family that got one. */
async function configureGateways(
  host: NetHandle,
  br: Link,
  c: BridgeConfig,
  gws: Gateways,
  result: Result,
): Promise<void> {
  let vlanLink: Link | undefined;
  for (const [family, fam] of [
    [4, gws.v4],
    [6, gws.v6],
  ] as const) {
    for (const gw of fam.bridgeAddrs) {
      if (c.vlan !== 0) {
        vlanLink ??= await withContext('failed to create vlan interface', () => ensureVlanGateway(host, br, c));
        const vlan = vlanLink;
        if (!result.interfaces!.some((i) => i.name === vlan.name))
          result.interfaces!.push({ name: vlan.name, mac: vlan.mac });
        await withContext('failed to set vlan interface for bridge with addr', () =>
          ensureAddr(host, vlan, gw, c.forceAddress),
        );
      } else {
        await withContext('failed to set bridge addr', () => ensureAddr(host, br, gw, c.forceAddress));
      }
    }
    if (fam.bridgeAddrs.length > 0) {
      const key = family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding';
      await withContext('failed to enable forwarding', () => host.sysctl.ensure(key, '1'));
    }
  }
}

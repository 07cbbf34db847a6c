// Gateway logic on the IPAM result (pure): every IP belongs to the container interface (index 2), a missing
// gateway becomes network+1 when the bridge is the gateway, a default route per family is added for
// isDefaultGateway, and the bridge gets `gateway/<container prefix>` per IP.
import type { IPConfig, Result, Route } from '../../cni/types.ts';
import { Cidr, ipToBytes, familyOf } from '../../core/index.ts';

export interface FamilyGateways {
  /** `gateway/prefix` addresses for the bridge (or its VLAN helper), in result order. */
  bridgeAddrs: string[];
}

export interface Gateways {
  v4: FamilyGateways;
  v6: FamilyGateways;
}

/** `dst` is the family's default route the way the reference compares it (`0.0.0.0/0`, `::/0`, any spelling). */
export function isDefaultDst(dst: string, v6: boolean): boolean {
  const c = Cidr.tryParse(dst);
  return !!c && c.prefix === 0 && (c.family === 6) === v6 && ipToBytes(c.ip).every((b) => b === 0);
}

/** The first address of the IP's subnet plus one (the reference's calcGatewayIP). */
export function defaultGatewayFor(address: string): string {
  return Cidr.parse(address).nth(1);
}

/**
 * Mutates `result` as the reference's calcGateways does and returns the bridge addresses per family.
 * `isGateway` must already include isDefaultGateway.
 */
export function applyGateways(result: Result, isGateway: boolean, isDefaultGateway: boolean): Gateways {
  const gws: Gateways = { v4: { bridgeAddrs: [] }, v6: { bridgeAddrs: [] } };
  const defaultFound = { v4: false, v6: false };
  const routes: Route[] = result.routes ?? [];
  for (const ip of result.ips ?? []) {
    const v6 = familyOf(ip.address) === 6;
    const fam = v6 ? 'v6' : 'v4';
    ip.interface = 2;
    if (ip.gateway === undefined && isGateway) ip.gateway = defaultGatewayFor(ip.address);
    if (isDefaultGateway && !defaultFound[fam]) {
      defaultFound[fam] = routes.some((r) => r.gw !== undefined && isDefaultDst(r.dst, v6));
      if (!defaultFound[fam]) {
        const route: Route = { dst: v6 ? '::/0' : '0.0.0.0/0' };
        if (ip.gateway !== undefined) route.gw = ip.gateway;
        routes.push(route);
        defaultFound[fam] = true;
      }
    }
    if (isGateway && ip.gateway !== undefined) gws[fam].bridgeAddrs.push(`${ip.gateway}/${prefixOf(ip)}`);
  }
  if (routes.length > 0 || result.routes) result.routes = routes;
  return gws;
}

function prefixOf(ip: IPConfig): number {
  return Number(ip.address.slice(ip.address.lastIndexOf('/') + 1));
}

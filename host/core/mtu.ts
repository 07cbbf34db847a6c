// The cbr0 MTU as kubenet chooses it, and overlay encapsulation overheads.
import type { Family } from './ip.ts';
import { core, u32, recordArea } from './wasm.ts';

export const FALLBACK_MTU = 1460;

export interface MtuInterface {
  name: string;
  mtu: number;
  up: boolean;
  loopback: boolean;
  pointToPoint: boolean;
}
export interface MtuChoice {
  mtu: number;
  source: 'explicit' | 'interface' | 'fallback';
  interface?: string;
}

/**
 * An explicit (--network-plugin-mtu, > 0) MTU wins; else the smallest MTU among up, non-loopback,
 * non-point-to-point interfaces (first on ties, in the order given = kernel index order); none or
 * below 576 → 1460.
 */
export function pickMtu(interfaces: readonly MtuInterface[], explicit?: number): MtuChoice {
  if (explicit !== undefined && explicit > 0) return { mtu: explicit, source: 'explicit' };
  const c = core();
  const n = Math.min(interfaces.length, 4096);
  const at = recordArea();
  const w = u32();
  for (let i = 0; i < n; i++) {
    const itf = interfaces[i];
    w[(at >>> 2) + 2 * i] = Math.max(0, Math.min(itf.mtu, 0x7fffffff));
    w[(at >>> 2) + 2 * i + 1] = (itf.up ? 1 : 0) | (itf.loopback ? 2 : 0) | (itf.pointToPoint ? 4 : 0);
  }
  const r = c.mtu_pick(at, n, 0);
  if (r < 0) return { mtu: FALLBACK_MTU, source: 'fallback' };
  return { mtu: interfaces[r].mtu, source: 'interface', interface: interfaces[r].name };
}

export function vxlanOverhead(underlay: Family = 4): number {
  return core().ovh_vxlan(underlay);
}
export function geneveOverhead(optionBytes = 0, underlay: Family = 4): number {
  return core().ovh_geneve(optionBytes, underlay);
}
export function wireguardOverhead(underlay: Family = 4): number {
  return core().ovh_wireguard(underlay);
}

export interface EspConfig {
  ivBytes: number;
  icvBytes: number;
  /** Cipher block size (padding alignment, at least 4). */
  blockBytes: number;
  /** Tunnel mode adds an outer IP header. */
  tunnel: boolean;
  underlay?: Family;
  /** UDP encapsulation (NAT traversal) adds 8. */
  natT?: boolean;
}

/** Worst-case ESP overhead for the given transform. */
export function espOverhead(c: EspConfig): number {
  return core().ovh_esp(c.ivBytes, c.icvBytes, c.blockBytes, c.tunnel ? 1 : 0, c.underlay ?? 4, c.natT ? 1 : 0);
}

export function overlayMtu(baseMtu: number, overhead: number): number {
  return baseMtu - overhead;
}

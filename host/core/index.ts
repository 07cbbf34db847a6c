// The typed face of the Wasm core (build/core.wasm). This folder is the only TypeScript that touches Wasm memory;
// everything else in host/ imports from here. Instantiation is synchronous and lazy (first use), once per process.
export { CoreError } from './errors.ts';
export type { Family, IPAddress } from './ip.ts';
export {
  familyOf,
  isGlobalUnicast,
  isLoopback,
  parseIP,
  tryParseIP,
  isIP,
  canonicalIP,
  formatIP,
  ipToBytes,
  compareIP,
  nextIP,
  prevIP,
  Cidr,
  Ipv4Batch,
} from './ip.ts';
export type { RangeConfig, Range } from './range.ts';
export { RangeSet, parseRangeSets } from './range.ts';
export { Allocator } from './allocator.ts';
export type { TbfParams, TbfMode, Tbf } from './bandwidth.ts';
export { parseQuantity, parseBandwidthQuantity, tbf, tickInUsecFromPsched, DEFAULT_TICK_IN_USEC } from './bandwidth.ts';
export type { MtuInterface, MtuChoice, EspConfig } from './mtu.ts';
export {
  pickMtu,
  FALLBACK_MTU,
  vxlanOverhead,
  geneveOverhead,
  wireguardOverhead,
  espOverhead,
  overlayMtu,
} from './mtu.ts';
export { NodeCidrAllocator, defaultNodeMaskSize } from './nodecidr.ts';

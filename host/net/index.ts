// host/net: rtnetlink in TypeScript. Open a handle bound to a namespace and use its object-kind operations.
export { NetHandle, openNetns, withNetHandle, type NetHandleOptions } from './handle.ts';
export type { NetnsRef } from './context.ts';
export {
  checkLinkName,
  isValidLinkName,
  type Link,
  type LinkRef,
  type LinkChanges,
  type VethSpec,
  type BridgeSpec,
  type SimpleLinkSpec,
  type BridgePortChanges,
  type OperState,
} from './link.ts';
export { AddrScope, type Addr, type AddrOptions } from './addr.ts';
export { RouteScope, isDefaultDst, type Route, type RouteSpec, type RouteFilter } from './route.ts';
export { NeighState, type Neigh, type NeighSpec } from './neigh.ts';
export type { BridgeVlan, BridgeVlanOptions } from './vlan.ts';
export type { Qdisc, QdiscStats, TbfParams, TbfSpec } from './qdisc.ts';
export type { Filter, MirredRedirectSpec } from './filter.ts';
export { parseTcHandle, formatTcHandle, type TcHandle } from './tc.ts';
export { sysctlPath, type IpFamily } from './sysctl.ts';
export { NetlinkError, isErrno } from './nl/error.ts';
export {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  RT_TABLE_MAIN,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_SCOPE_HOST,
} from './nl/constants.ts';

// CNI data types. Internally every result is in the spec 1.x shape (`Result`); result.ts converts
// from and to the wire shapes of the older versions (`Result02`, `Result04`).

export interface Interface {
  name: string;
  mac?: string;
  /** 1.x only (dropped when converting to 0.x). */
  mtu?: number;
  sandbox?: string;
  /** 1.x only. */
  socketPath?: string;
  /** 1.x only. */
  pciID?: string;
}

export interface IPConfig {
  /** CIDR with host bits kept, e.g. "10.1.2.3/24". */
  address: string;
  gateway?: string;
  /** Index into Result.interfaces; 0 is a real value and is printed. */
  interface?: number;
}

export interface Route {
  /** CIDR, printed as given. */
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  /** Printed whenever set, including 0. */
  table?: number;
  /** 0 universe, 253 link, 254 host; printed whenever set, including 0. */
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The internal result model (spec 1.x). */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** Wire shape of 0.3.0 / 0.3.1 / 0.4.0 results. */
export interface Result04 {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ version: '4' | '6'; interface?: number; address: string; gateway?: string }>;
  routes?: Route[];
  dns: DNS;
}

/** Wire shape of 0.1.0 / 0.2.0 results. */
export interface IPConfig02 {
  ip: string;
  gateway?: string;
  routes?: Array<{ dst: string; gw?: string }>;
}

export interface Result02 {
  cniVersion: string;
  ip4?: IPConfig02;
  ip6?: IPConfig02;
  dns: DNS;
}

/** One attachment in GC's `cni.dev/valid-attachments`. */
export interface GCAttachment {
  containerID: string;
  ifname: string;
}

/** The fields every plugin config has (decoded Go-style by skel; plugins decode their own fields in config.ts). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: { type?: string };
  dns?: DNS;
  /** Exactly as received (capability keys as the runtime sent them). */
  runtimeConfig?: Record<string, unknown>;
  /** Already parsed and converted to the 1.x model. */
  prevResult?: Result;
  /** The structured per-attachment `args` object (convention: args.cni.{ips,mac,...}). */
  args?: Record<string, unknown>;
  /** GC only: the attachments to keep. */
  validAttachments?: GCAttachment[];
}

/** Capability arguments a runtime passes (CONVENTIONS.md); free-form, plugins decode what they consume. */
export type CapabilityArgs = Record<string, unknown>;

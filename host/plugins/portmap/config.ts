// portmap's configuration: types, Go-json-like decoding, defaults and the reference's validation (v1.9.1).
import { annotate } from '../../errors.ts';
import {
  bool,
  custom,
  decode,
  DecodeError,
  int,
  isPlainObject,
  jsonTypeName,
  list,
  str,
  struct,
  typeError,
  type Decoded,
  type Decoder,
} from '../../cni/decode.ts';
import { netConfFields, prevResultOf } from '../../cni/netconf.ts';
import type { Result } from '../../cni/types.ts';
import { isUnspecified, parseIpNet, type IpNet } from '../../firewall/addr.ts';
import { defaultBackend, type Backend } from '../../firewall/backend.ts';

export interface PortMapEntry {
  hostPort: number;
  containerPort: number;
  /** Used verbatim ("tcp", "udp", "sctp"). */
  protocol: string;
  /** "" = any; 0.0.0.0 / :: also mean any. */
  hostIP: string;
}

export interface PortMapConfig {
  /** The network name (`name`). */
  network: string;
  backend: Backend;
  snat: boolean;
  masqAll: boolean;
  /** 0..31, default 13 (mark 0x2000). */
  markMasqBit: number;
  externalSetMarkChain?: string;
  conditionsV4?: string[];
  conditionsV6?: string[];
  /** runtimeConfig.portMappings (the capability). */
  portMappings: PortMapEntry[];
  /** The parsed prevResult (1.x model), when the runtime sent one. */
  prevResult?: Result;
  /** The container addresses picked from prevResult (first IPv4 and first IPv6 on CNI_IFNAME in a sandbox). */
  contIPv4?: IpNet;
  contIPv6?: IpNet;
  /** Not config: the network namespace whose nftables rules are written (the caller's; none: this process's). */
  nsPath?: string | null;
}

export const DEFAULT_MARK_BIT = 13;

/** Go names an anonymous struct type by its literal and its fields' struct by "" (e.g. `Go struct field .runtimeConfig...`). */
function anonymousStruct<T>(goType: string, inner: Decoder<T>): Decoder<T> {
  return custom(goType, (v, at) => (isPlainObject(v) ? inner.decode(v, at) : typeError(jsonTypeName(v), goType, at)));
}

const PortMapEntrySchema = struct('main.PortMapEntry', {
  hostPort: int,
  containerPort: int,
  protocol: str,
  hostIP: str,
});
const PortMapConfSchema = struct('main.PortMapConf', {
  ...netConfFields,
  backend: str,
  snat: bool,
  conditionsV4: list(str),
  conditionsV6: list(str),
  masqAll: bool,
  markMasqBit: int,
  runtimeConfig: anonymousStruct(
    'struct { PortMaps []main.PortMapEntry "json:\\"portMappings,omitempty\\"" }',
    struct('', { portMappings: list(PortMapEntrySchema) }),
  ),
  externalSetMarkChain: str,
});
type RawConf = NonNullable<Decoded<typeof PortMapConfSchema>>;

/**
 * Decodes and validates like the reference's parseConfig. Throws Error with the reference's text (callers add the
 * `failed to parse config: ` prefix on ADD and DEL, as the reference does; CHECK reports it bare).
 * `cniVersion` is the negotiated one (CmdArgs.cniVersion): prevResult is parsed as its family.
 */
export function loadPortMapConfig(conf: Record<string, unknown>, cniVersion: string, ifName: string): PortMapConfig {
  let raw: RawConf;
  try {
    raw = decode(PortMapConfSchema, conf) ?? {};
  } catch (e) {
    if (e instanceof DecodeError) throw new Error(`failed to parse network configuration: ${e.message}`);
    throw e;
  }
  let prevResult: Result | undefined;
  try {
    prevResult = prevResultOf({ conf, cniVersion });
  } catch (e) {
    throw annotate(e, 'could not parse prevResult');
  }
  const snat = raw.snat ?? true;
  if (raw.markMasqBit !== undefined && raw.externalSetMarkChain !== undefined) {
    throw new Error('Cannot specify externalSetMarkChain and markMasqBit');
  }
  const markMasqBit = raw.markMasqBit ?? DEFAULT_MARK_BIT;
  if (markMasqBit < 0 || markMasqBit > 31) throw new Error('MasqMarkBit must be between 0 and 31');
  const backend = chooseBackend(raw);

  const portMappings: PortMapEntry[] = (raw.runtimeConfig?.portMappings ?? []).map((e) => ({
    hostPort: e.hostPort ?? 0,
    containerPort: e.containerPort ?? 0,
    protocol: e.protocol ?? '',
    hostIP: e.hostIP ?? '',
  }));
  for (const pm of portMappings) {
    if (pm.containerPort <= 0) throw new Error(`Invalid container port number: ${pm.containerPort}`);
    if (pm.hostPort <= 0) throw new Error(`Invalid host port number: ${pm.hostPort}`);
  }

  const out: PortMapConfig = {
    network: raw.name ?? '',
    backend,
    snat,
    masqAll: raw.masqAll ?? false,
    markMasqBit,
    portMappings,
  };
  if (raw.externalSetMarkChain !== undefined) out.externalSetMarkChain = raw.externalSetMarkChain;
  if (raw.conditionsV4 !== undefined) out.conditionsV4 = raw.conditionsV4;
  if (raw.conditionsV6 !== undefined) out.conditionsV6 = raw.conditionsV6;
  if (prevResult) {
    out.prevResult = prevResult;
    Object.assign(out, containerAddresses(prevResult, ifName));
  }
  return out;
}

/** The reference's ensureBackend: explicit, or iptables unless only nftables is available; no mixed options. */
function chooseBackend(raw: RawConf): Backend {
  const specific: Record<Backend, string[]> = { iptables: [], nftables: [] };
  if (raw.externalSetMarkChain !== undefined) specific.iptables.push('externalSetMarkChain');
  const v4 = conditionsBackend(raw.conditionsV4);
  if (v4) specific[v4].push('conditionsV4');
  const v6 = conditionsBackend(raw.conditionsV6);
  if (v6) specific[v6].push('conditionsV6');
  const backend = raw.backend ?? defaultBackend();
  const wrong: Backend = backend === 'iptables' ? 'nftables' : 'iptables';
  if (specific[wrong].length > 0) {
    throw new Error(
      `${backend} backend was requested but configuration contains ${wrong}-specific options [${specific[wrong].join(' ')}]`,
    );
  }
  if (backend !== 'iptables' && backend !== 'nftables') throw new Error(`unrecognized backend "${goEscape(backend)}"`);
  return backend;
}

/** iptables conditions start with "-" or "!" (e.g. "-d", "! -s"); nftables ones never do. */
function conditionsBackend(c: string[] | undefined): Backend | undefined {
  if (!c || c.length === 0 || c[0] === '') return undefined;
  return c[0]!.startsWith('-') || c[0]!.startsWith('!') ? 'iptables' : 'nftables';
}

/** The body of Go's %q for the unrecognized-backend message (quotes and backslashes escaped). */
function goEscape(s: string): string {
  return s
    .replace(/[\\"]/g, (m) => `\\${m}`)
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t');
}

/**
 * First IPv4 and first IPv6 address of prevResult that is not known to belong elsewhere: an `interface` index in
 * range must name CNI_IFNAME with a non-empty sandbox (host-side addresses are skipped).
 */
export function containerAddresses(prev: Result, ifName: string): { contIPv4?: IpNet; contIPv6?: IpNet } {
  const out: { contIPv4?: IpNet; contIPv6?: IpNet } = {};
  const ifaces = prev.interfaces ?? [];
  for (const ip of prev.ips ?? []) {
    let net: IpNet;
    try {
      net = parseIpNet(ip.address);
    } catch {
      continue;
    }
    if (net.family === 4 ? out.contIPv4 : out.contIPv6) continue;
    if (ip.interface !== undefined && ip.interface >= 0 && ip.interface < ifaces.length) {
      const iface = ifaces[ip.interface]!;
      if (iface.name !== ifName || !iface.sandbox) continue;
    }
    if (net.family === 4) out.contIPv4 = net;
    else out.contIPv6 = net;
  }
  return out;
}

/**
 * How a mapping applies to one address family: null when its hostIP is of the other family (skipped), else the
 * destination to match ("" for any: no hostIP, 0.0.0.0 or ::). An unparsable hostIP counts as IPv6, as in Go.
 */
export function mappingDestination(e: PortMapEntry, family: 4 | 6): string | null {
  if (e.hostIP === '') return '';
  let hostFamily: 4 | 6;
  try {
    hostFamily = parseIpNet(e.hostIP).family;
  } catch {
    hostFamily = 6;
  }
  if (hostFamily !== family) return null;
  return isUnspecified(e.hostIP) ? '' : e.hostIP;
}

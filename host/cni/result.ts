// Results of every spec version: parsing into the 1.x model, conversion, and printing in each version's
// wire shape, as the reference (cni library v1.3) does:
//   0.1.0/0.2.0  {cniVersion, ip4:{ip,gateway,routes}, ip6, dns}            dns always present ({} when empty)
//   0.3.x/0.4.0  {cniVersion, interfaces, ips:[{version,interface,address,gateway}], routes, dns}   dns always present
//   1.0.0/1.1.0  same without ips[].version, extra interface/route fields; keys sorted; empty dns omitted
import { annotate } from '../errors.ts';
import {
  DecodeError,
  custom,
  decode,
  int,
  list,
  ptr,
  str,
  struct,
  typeError,
  jsonTypeName,
  type Decoder,
} from './decode.ts';
import { familyOf } from '../core/index.ts';
import { goMarshalIndent } from './gojson.ts';
import { parseCIDR, parseIP } from './iptext.ts';
import type { DNS, IPConfig02, Interface, IPConfig, Result, Result02, Result04, Route } from './types.ts';
import { FAMILY_VERSIONS, resultFamily, type ResultFamily } from './version.ts';

// ---- schemas (Go types of the reference, for error messages) -------------------------------------------

const ipNet: Decoder<string> = custom('types.IPNet', (v, at) => {
  if (typeof v !== 'string') return typeError(jsonTypeName(v), 'types.IPNet', at);
  const c = parseCIDR(v);
  if (!c) throw new DecodeError(`invalid CIDR address: ${v}`);
  return c.text;
});

const ipAddr: Decoder<string> = custom('net.IP', (v, at) => {
  if (typeof v !== 'string') return typeError(jsonTypeName(v), 'net.IP', at);
  if (v === '') return '';
  const ip = parseIP(v);
  if (!ip) throw new DecodeError(`invalid IP address: ${v}`);
  return ip.text;
});

const routeSchema = struct('types.route', {
  dst: ipNet,
  gw: ipAddr,
  mtu: int,
  advmss: int,
  priority: int,
  table: ptr(int),
  scope: ptr(int),
});
const dnsSchema = struct('types.DNS', { nameservers: list(str), domain: str, search: list(str), options: list(str) });

const result1Schema = struct('types100.Result', {
  cniVersion: str,
  interfaces: list(
    ptr(struct('types100.Interface', { name: str, mac: str, mtu: int, sandbox: str, socketPath: str, pciID: str })),
  ),
  ips: list(ptr(struct('types100.ipConfig', { interface: ptr(int), address: ipNet, gateway: ipAddr }))),
  routes: list(ptr(routeSchema)),
  dns: dnsSchema,
});

const result04Schema = struct('types040.Result', {
  cniVersion: str,
  interfaces: list(ptr(struct('types040.Interface', { name: str, mac: str, sandbox: str }))),
  ips: list(ptr(struct('types040.ipConfig', { version: str, interface: ptr(int), address: ipNet, gateway: ipAddr }))),
  routes: list(ptr(routeSchema)),
  dns: dnsSchema,
});

const ip02Schema = ptr(struct('types020.ipConfig', { ip: ipNet, gateway: ipAddr, routes: list(routeSchema) }));
const result02Schema = struct('types020.Result', { cniVersion: str, ip4: ip02Schema, ip6: ip02Schema, dns: dnsSchema });

// ---- parsing -----------------------------------------------------------------------------------------------

type DecodedRoute = NonNullable<ReturnType<typeof routeSchema.decode>>;

function routeFrom(r: DecodedRoute): Route {
  const out: Route = { dst: r.dst ?? '' };
  if (r.gw) out.gw = r.gw;
  if (r.mtu) out.mtu = r.mtu;
  if (r.advmss) out.advmss = r.advmss;
  if (r.priority) out.priority = r.priority;
  if (r.table !== undefined) out.table = r.table;
  if (r.scope !== undefined) out.scope = r.scope;
  return out;
}

function dnsFrom(d: ReturnType<typeof dnsSchema.decode> | undefined): DNS | undefined {
  if (!d) return undefined;
  const out: DNS = {};
  if (d.nameservers?.length) out.nameservers = [...d.nameservers];
  if (d.domain) out.domain = d.domain;
  if (d.search?.length) out.search = [...d.search];
  if (d.options?.length) out.options = [...d.options];
  return isEmptyDNS(out) ? undefined : out;
}

export function isEmptyDNS(d: DNS | undefined): boolean {
  return !d || (!d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length);
}

/**
 * Read a result of the given version (the reference's `create.Create(version, bytes)`): the value is decoded
 * with that version's types and its `cniVersion` must belong to the same family, else
 * `result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"`. Returns the 1.x model; its
 * `cniVersion` is the declared one ("" becomes 0.1.0). Throws DecodeError / Error with the reference's text.
 */
export function parseResult(raw: unknown, version: string): Result {
  const family = resultFamily(version);
  if (!family) throw new Error(`unsupported CNI result version "${version}"`);
  const declared = (v: string | undefined): string => {
    const d = v ?? '';
    if (!FAMILY_VERSIONS[family].includes(d)) {
      throw new Error(
        `result type supports [${FAMILY_VERSIONS[family].join(' ')}] but unmarshalled CNIVersion is "${d}"`,
      );
    }
    return d === '' ? '0.1.0' : d;
  };
  if (family === '1.x' || family === '0.4') {
    // the same fields; the 0.4 schema also reads (and drops) ips[].version
    const r = family === '1.x' ? (decode(result1Schema, raw) ?? {}) : (decode(result04Schema, raw) ?? {});
    const out: Result = { cniVersion: declared(r.cniVersion) };
    if (r.interfaces?.length) out.interfaces = r.interfaces.map(interfaceFrom);
    if (r.ips?.length) out.ips = r.ips.map((ip) => ipFrom(ip.address, ip.gateway, ip.interface));
    if (r.routes?.length) out.routes = r.routes.map(routeFrom);
    const dns = dnsFrom(r.dns);
    if (dns) out.dns = dns;
    return out;
  }
  const r = decode(result02Schema, raw) ?? {};
  const out: Result = { cniVersion: declared(r.cniVersion) };
  const ips: IPConfig[] = [];
  const routes: Route[] = [];
  for (const c of [r.ip4, r.ip6]) {
    if (!c) continue;
    ips.push(ipFrom(c.ip, c.gateway, undefined));
    for (const rt of c.routes ?? []) routes.push(routeFrom(rt));
  }
  if (ips.length) out.ips = ips;
  if (routes.length) out.routes = routes;
  const dns = dnsFrom(r.dns);
  if (dns) out.dns = dns;
  return out;
}

function interfaceFrom(i: {
  name?: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}): Interface {
  const out: Interface = { name: i.name ?? '' };
  if (i.mac) out.mac = i.mac;
  if (i.mtu) out.mtu = i.mtu;
  if (i.sandbox) out.sandbox = i.sandbox;
  if (i.socketPath) out.socketPath = i.socketPath;
  if (i.pciID) out.pciID = i.pciID;
  return out;
}

/** What Go prints for a zero net.IPNet: an IP config without `address` (`{}`) is accepted like the reference. */
export const NIL_ADDRESS = '<nil>';

function ipFrom(address: string | undefined, gateway: string | undefined, iface: number | undefined): IPConfig {
  const out: IPConfig = { address: address ?? NIL_ADDRESS };
  if (gateway) out.gateway = gateway;
  if (iface !== undefined) out.interface = iface;
  return out;
}

/** A copy of `raw` with `cniVersion` set to `version` when it is missing or empty (prevResult and plugin-output rule). */
export function withDefaultVersion(raw: unknown, version: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const o = raw as Record<string, unknown>;
  const has = Object.keys(o).some((k) => k.toLowerCase() === 'cniversion' && o[k] !== '' && o[k] !== null);
  return has ? raw : { ...o, cniVersion: version };
}

/**
 * Parse a plugin's `prevResult` for a config of `confVersion` (the reference's version.ParsePrevResult):
 * a missing cniVersion means the config's; another family is an error.
 */
export function parsePrevResult(raw: unknown, confVersion: string): Result {
  const v = confVersion === '' ? '0.1.0' : confVersion;
  try {
    return parseResult(withDefaultVersion(raw, v), v);
  } catch (e) {
    throw annotate(e, 'could not parse prevResult');
  }
}

// ---- conversion and printing --------------------------------------------------------------------------------

/** A result as the JSON object of `version` (key order as the reference prints it). Throws when not convertible. */
export function resultToWire(r: Result, version: string): Result02 | Result04 | Record<string, unknown> {
  const target = version === '' ? '0.1.0' : version;
  const family: ResultFamily | undefined = resultFamily(target);
  if (!family) throw new Error(`no converter for CNI result version ${r.cniVersion} to ${target}`);
  if (family === '1.x') return sortKeys(wire1(r, target)) as Record<string, unknown>;
  if (family === '0.4') return wire04(r, target);
  return wire02(r, target);
}

/** Convert between versions in the model: relabel, or fail like the reference (e.g. an IP-less result to 0.2.0). */
export function convertResult(r: Result, version: string): Result {
  const wire = resultToWire(r, version);
  return parseResult(wire, version === '' ? '0.1.0' : version);
}

/** The result JSON text a plugin prints: 4-space indent, no trailing newline. */
export function formatResult(r: Result, version: string): string {
  return goMarshalIndent(resultToWire(r, version));
}

function wireRoute(rt: Route): Record<string, unknown> {
  const o: Record<string, unknown> = { dst: rt.dst };
  if (rt.gw) o.gw = rt.gw;
  if (rt.mtu) o.mtu = rt.mtu;
  if (rt.advmss) o.advmss = rt.advmss;
  if (rt.priority) o.priority = rt.priority;
  if (rt.table !== undefined) o.table = rt.table;
  if (rt.scope !== undefined) o.scope = rt.scope;
  return o;
}

function wireDNS(d: DNS | undefined): DNS {
  const o: DNS = {};
  if (d?.nameservers?.length) o.nameservers = [...d.nameservers];
  if (d?.domain) o.domain = d.domain;
  if (d?.search?.length) o.search = [...d.search];
  if (d?.options?.length) o.options = [...d.options];
  return o;
}

function wire1(r: Result, version: string): Record<string, unknown> {
  const o: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces?.length) {
    o.interfaces = r.interfaces.map((i) => {
      const w: Record<string, unknown> = { name: i.name };
      if (i.mac) w.mac = i.mac;
      if (i.mtu) w.mtu = i.mtu;
      if (i.sandbox) w.sandbox = i.sandbox;
      if (i.socketPath) w.socketPath = i.socketPath;
      if (i.pciID) w.pciID = i.pciID;
      return w;
    });
  }
  if (r.ips?.length) {
    o.ips = r.ips.map((ip) => {
      const w: Record<string, unknown> = {};
      if (ip.interface !== undefined) w.interface = ip.interface;
      w.address = ip.address;
      if (ip.gateway) w.gateway = ip.gateway;
      return w;
    });
  }
  if (r.routes?.length) o.routes = r.routes.map(wireRoute);
  if (!isEmptyDNS(r.dns)) o.dns = wireDNS(r.dns);
  return o;
}

/** The family Go sees (To4: an IPv4-mapped address is IPv4); a zero address (NIL_ADDRESS) counts as IPv6, as Go's
 * `IP.To4() == nil` does; other text that does not parse, by its notation. */
function goFamily(cidr: string): 4 | 6 {
  return parseCIDR(cidr)?.family ?? (cidr === NIL_ADDRESS ? 6 : familyOf(cidr));
}

function wire04(r: Result, version: string): Result04 {
  const o: Result04 = { cniVersion: version } as Result04;
  if (r.interfaces?.length) {
    o.interfaces = r.interfaces.map((i) => {
      const w: { name: string; mac?: string; sandbox?: string } = { name: i.name };
      if (i.mac) w.mac = i.mac;
      if (i.sandbox) w.sandbox = i.sandbox;
      return w;
    });
  }
  if (r.ips?.length) {
    o.ips = r.ips.map((ip) => {
      // An address-less prevResult entry ({}) passes through with Go's empty version, as the reference's does.
      const version = ip.address === NIL_ADDRESS ? '' : goFamily(ip.address) === 4 ? '4' : '6';
      const w: Partial<NonNullable<Result04['ips']>[number]> = { version: version as '4' | '6' };
      if (ip.interface !== undefined) w.interface = ip.interface;
      w.address = ip.address;
      if (ip.gateway) w.gateway = ip.gateway;
      return w as NonNullable<Result04['ips']>[number];
    });
  }
  if (r.routes?.length) o.routes = r.routes.map(wireRoute) as unknown as Route[];
  o.dns = wireDNS(r.dns);
  return o;
}

function wire02(r: Result, version: string): Result02 {
  let ip4: IPConfig02 | undefined;
  let ip6: IPConfig02 | undefined;
  for (const ip of r.ips ?? []) {
    const cfg: IPConfig02 = { ip: ip.address };
    if (ip.gateway) cfg.gateway = ip.gateway;
    if (goFamily(ip.address) === 4) ip4 ??= cfg;
    else ip6 ??= cfg;
  }
  if (!ip4 && !ip6) throw new Error('cannot convert: no valid IP addresses');
  for (const rt of r.routes ?? []) {
    const target = goFamily(rt.dst) === 4 ? ip4 : ip6;
    if (!target) continue;
    const w: { dst: string; gw?: string } = { dst: rt.dst };
    if (rt.gw) w.gw = rt.gw;
    target.routes ??= [];
    target.routes.push(w);
  }
  const o: Result02 = { cniVersion: version } as Result02;
  if (ip4) o.ip4 = ip4;
  if (ip6) o.ip6 = ip6;
  o.dns = wireDNS(r.dns);
  return o;
}

/** Keys sorted at every level, as a Go map round trip prints them. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = sortKeys(o[k]);
  return out;
}

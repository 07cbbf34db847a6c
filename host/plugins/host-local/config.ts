// host-local configuration: decoded with Go's encoding/json semantics (the reference's error texts name its Go
// types), then validated and defaulted in the reference's order (allocator.LoadIPAMConfig).
//
// The range sets are: runtimeConfig.ipRanges ++ [legacy ipam.subnet range] ++ ipam.ranges; a set's index in
// that list is its range id (last_reserved_ip.<id>), so runtime ranges shift the configured ones.
import { annotate } from '../../errors.ts';
import {
  DecodeError,
  custom,
  decode,
  getField,
  int,
  isPlainObject,
  jsonTypeName,
  list,
  ptr,
  str,
  struct,
  typeError,
  type Decoder,
} from '../../cni/decode.ts';
import { parseCniArgs } from '../../cni/args.ts';
import { parseCIDR, parseIP } from '../../cni/iptext.ts';
import type { Route } from '../../cni/types.ts';
import { RangeSet, parseRangeSets, type RangeConfig } from '../../core/index.ts';
import { defaultDataDir } from './store.ts';

export interface HostLocalConfig {
  /** The network name: names the state directory. */
  name: string;
  /** cniVersion exactly as configured ('' when absent). */
  cniVersion: string;
  /** Validated range sets in range-id order. */
  rangeSets: RangeSet[];
  /** Echoed into the result. */
  routes: Route[];
  dataDir: string;
  resolvConf?: string;
  /** Requested IPs (canonical text): CNI_ARGS IP, then args.cni.ips, then runtimeConfig.ips. */
  requestedIPs: string[];
}

// ---- the reference's Go types, for decoding errors ----------------------------------------------------------

/** net.IP: "" is unset; bad text fails with net.ParseError's wording. */
const netIP: Decoder<string> = custom('net.IP', (v, at) => {
  if (typeof v !== 'string') return typeError(jsonTypeName(v), 'net.IP', at);
  if (v === '') return '';
  const ip = parseIP(v);
  if (!ip) throw new DecodeError(`invalid IP address: ${v}`);
  return ip.text;
});

/** types.IPNet: unmarshals through a string, so a wrong type is reported as `string`. Keeps the text as written. */
const ipNet: Decoder<string> = custom('string', (v, at) => {
  if (typeof v !== 'string') return typeError(jsonTypeName(v), 'string', at);
  if (!parseCIDR(v)) throw new DecodeError(`invalid CIDR address: ${v}`);
  return v;
});

/** pkg/ip.IP ("ip[/prefix]", prefix ignored): "" is an empty IP, which LoadIPAMConfig rejects later. */
const requestedIP: Decoder<string> = custom('*ip.IP', (v, at) => {
  if (typeof v !== 'string') return typeError(jsonTypeName(v), '*ip.IP', at);
  return parseRequestedIP(v);
});

function parseRequestedIP(v: string): string {
  if (v === '') return '';
  const slash = v.indexOf('/');
  const ip = slash >= 0 ? (parseCIDR(v) ? parseIP(v.slice(0, slash)) : undefined) : parseIP(v);
  if (!ip) throw new DecodeError(`invalid IP address ${v}`);
  return ip.text;
}

const rangeSchema = struct('allocator.Range', { rangeStart: netIP, rangeEnd: netIP, subnet: ipNet, gateway: netIP });
type DecodedRange = NonNullable<ReturnType<typeof rangeSchema.decode>>;

/** A Go slice of values: a JSON null element becomes the zero value (decode.ts's list drops it). */
function values<T>(el: Decoder<T>, zero: () => T, goType: string): Decoder<T[]> {
  return custom(goType, (v, at) => {
    if (!Array.isArray(v)) return typeError(jsonTypeName(v), goType, at);
    return v.map((x) => (x === null ? zero() : el.decode(x, at)));
  });
}
const rangeSets = values(
  values(rangeSchema, () => ({}), 'allocator.RangeSet'),
  () => [],
  '[]allocator.RangeSet',
);

/**
 * types.Route has its own UnmarshalJSON, so Go reports errors inside a route at the `routes` field
 * (`Go struct field IPAMConfig.ipam.routes of type int`).
 */
const routeFields: Record<string, Decoder<unknown>> = {
  dst: ipNet,
  gw: netIP,
  mtu: int,
  advmss: int,
  priority: int,
  table: int,
  scope: int,
};
const route: Decoder<Route> = custom('types.route', (v, at) => {
  if (!isPlainObject(v)) return typeError(jsonTypeName(v), 'types.route', at);
  const f: Record<string, unknown> = {};
  for (const name of Object.keys(routeFields)) {
    const x = getField(v, name);
    if (x !== undefined && x !== null) f[name] = routeFields[name]!.decode(x, at);
  }
  const dst = typeof f.dst === 'string' ? parseCIDR(f.dst)!.text : '<nil>';
  const out: Route = { dst };
  if (f.gw) out.gw = f.gw as string;
  if (f.mtu) out.mtu = f.mtu as number;
  if (f.advmss) out.advmss = f.advmss as number;
  if (f.priority) out.priority = f.priority as number;
  if (f.table !== undefined) out.table = f.table as number;
  if (f.scope !== undefined) out.scope = f.scope as number;
  return out;
});

const ipamSchema = struct('allocator.IPAMConfig', {
  // the embedded legacy *Range
  rangeStart: netIP,
  rangeEnd: netIP,
  subnet: ipNet,
  gateway: netIP,
  Name: str,
  type: str,
  routes: list(ptr(route), '[]*types.Route'),
  dataDir: str,
  resolvConf: str,
  ranges: rangeSets,
});

/** An anonymous Go struct: errors name it as "" (`Go struct field .runtimeConfig.ips`). */
function anonymous<F extends Record<string, Decoder<unknown>>>(
  goType: string,
  fields: F,
): Decoder<{ [K in keyof F]?: ReturnType<F[K]['decode']> }> {
  return custom(goType, (v, at) => {
    if (!isPlainObject(v)) return typeError(jsonTypeName(v), goType, at);
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(fields)) {
      const x = getField(v, name);
      if (x !== undefined && x !== null) out[name] = fields[name]!.decode(x, { struct: '', path: [...at.path, name] });
    }
    return out as { [K in keyof F]?: ReturnType<F[K]['decode']> };
  });
}

const ipamArgs = struct('allocator.IPAMArgs', { ips: list(ptr(requestedIP), '[]*ip.IP') });
const netSchema = struct('allocator.Net', {
  name: str,
  cniVersion: str,
  ipam: ptr(ipamSchema),
  runtimeConfig: anonymous(
    'struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }',
    {
      ipRanges: rangeSets,
      ips: list(ptr(requestedIP), '[]*ip.IP'),
    },
  ),
  args: anonymous('struct { A *allocator.IPAMArgs "json:\\"cni\\"" }', { cni: ptr(ipamArgs) }),
});

// ---- LoadIPAMConfig ----------------------------------------------------------------------------------------

/** Decodes and validates a host-local config (the whole plugin config, as IPAM plugins receive it). */
export function loadConfig(conf: Record<string, unknown>, cniArgs: string): HostLocalConfig {
  const n = decode(netSchema, conf) ?? {};
  const ipam = n.ipam;
  if (!ipam) throw new Error("IPAM config missing 'ipam' key");

  const requested: string[] = [];
  if (cniArgs !== '') {
    const env = parseCniArgs(cniArgs, { IP: parseRequestedIP });
    if (env.IP) requested.push(env.IP); // `IP=` (empty) requests nothing
  }
  for (const ip of n.args?.cni?.ips ?? []) requested.push(ip);
  for (const ip of n.runtimeConfig?.ips ?? []) requested.push(ip);
  for (const ip of requested) if (ip === '') throw new Error('cannot understand ip: IP <nil> not v4 nor v6');

  const sets: RangeConfig[][] = [];
  for (const s of n.runtimeConfig?.ipRanges ?? []) sets.push(s.map(rangeConfig));
  if (ipam.subnet) sets.push([rangeConfig(ipam)]);
  for (const s of ipam.ranges ?? []) sets.push(s.map(rangeConfig));

  const cniVersion = n.cniVersion ?? '';
  return {
    name: n.name ?? '',
    cniVersion,
    rangeSets: validateRangeSets(sets, cniVersion),
    routes: ipam.routes ?? [],
    dataDir: ipam.dataDir || defaultDataDir,
    resolvConf: ipam.resolvConf || undefined,
    requestedIPs: requested,
  };
}

/**
 * The core validates range sets in the reference's order; a range without a subnet (Go's zero value, which the
 * core cannot express) fails at its turn: after the sets and ranges before it.
 */
function validateRangeSets(sets: RangeConfig[][], cniVersion: string): RangeSet[] {
  const at = sets.findIndex((s) => s.some((r) => r.subnet === ''));
  if (at < 0) return parseRangeSets(sets, { cniVersion });
  if (at > 0) RangeSet.parseAll(sets.slice(0, at));
  const set = sets[at]!;
  const bad = set.findIndex((r) => r.subnet === '');
  try {
    for (const r of set.slice(0, bad)) RangeSet.parse([r]);
  } catch (e) {
    throw annotate(e, `invalid range set ${at}`);
  }
  throw new Error(`invalid range set ${at}: IP <nil> not v4 nor v6`);
}

function rangeConfig(r: DecodedRange): RangeConfig {
  const out: RangeConfig = { subnet: r.subnet ?? '' };
  if (r.rangeStart) out.rangeStart = r.rangeStart;
  if (r.rangeEnd) out.rangeEnd = r.rangeEnd;
  if (r.gateway) out.gateway = r.gateway;
  return out;
}

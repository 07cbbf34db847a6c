// The bridge plugin's configuration: types, decoding (Go-json-like), defaults and the reference's validation.
import { errorMessage } from '../../errors.ts';
import { CniError, ErrCode } from '../../cni/errors.ts';
import type { DNS } from '../../cni/types.ts';
import { argString, parseCniArgs } from '../../cni/args.ts';
import { bool, decode, int, list, ptr, str, struct } from '../../cni/decode.ts';
import { netConfFields } from '../../cni/netconf.ts';

export const defaultBridgeName = 'cni0';

export type IpMasqBackend = 'iptables' | 'nftables';

/** One `vlanTrunk` entry as written: a single `id`, or a `minID`..`maxID` range (both ends required). */
export interface VlanTrunkEntry {
  id?: number;
  minID?: number;
  maxID?: number;
}

export interface BridgeConfig {
  /** The config's cniVersion as negotiated ('0.1.0' when absent). */
  cniVersion: string;
  networkName: string;
  bridge: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  /** Unset = auto (iptables unless only nftables works). Any other string fails ADD. */
  ipMasqBackend?: string;
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  /** Present (even `[]`) turns on vlan_filtering on a newly created bridge. */
  vlanTrunk?: VlanTrunkEntry[];
  /** The trunk VLAN ids, sorted and de-duplicated. */
  trunkVlans: number[];
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** `ipam.type`; empty = pure L2 mode. */
  ipamType: string;
  /** Config-level DNS, only when any of its fields is set (it then replaces the IPAM DNS in the result). */
  dns?: DNS;
  /** Container MAC: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC. */
  mac?: string;
}

const VlanTrunkSchema = struct('main.VlanTrunk', { minID: ptr(int), maxID: ptr(int), id: ptr(int) });

const BridgeSchema = struct('main.NetConf', {
  ...netConfFields,
  bridge: str,
  isGateway: bool,
  isDefaultGateway: bool,
  forceAddress: bool,
  ipMasq: bool,
  ipMasqBackend: ptr(str),
  mtu: int,
  hairpinMode: bool,
  promiscMode: bool,
  vlan: int,
  vlanTrunk: list(ptr(VlanTrunkSchema)),
  preserveDefaultVlan: bool,
  macspoofchk: bool,
  enabledad: bool,
  disableContainerInterface: bool,
  portIsolation: bool,
  args: struct('main.NetConf.Args', { cni: struct('main.BridgeArgs', { mac: str }) }),
  runtimeConfig: struct('main.NetConf.RuntimeConfig', { mac: str }),
});

function fail(msg: string): never {
  throw new CniError(ErrCode.Internal, msg);
}

function decodeBridge(conf: Record<string, unknown>) {
  try {
    return decode(BridgeSchema, conf) ?? {};
  } catch (e) {
    return fail(`failed to load netconf: ${errorMessage(e)}`);
  }
}

/** STATUS: the IPAM type after the decode alone (the reference validates nothing else there). */
export function ipamTypeOf(conf: Record<string, unknown>): string {
  return decodeBridge(conf).ipam?.type ?? '';
}

/**
 * Decode and validate (what the reference checks on every command, so a broken config also fails DEL/CHECK).
 * `cniVersion` is the negotiated one (CmdArgs.cniVersion), `cniArgs` the raw CNI_ARGS string.
 */
export function loadBridgeConfig(conf: Record<string, unknown>, cniVersion: string, cniArgs: string): BridgeConfig {
  const raw = decodeBridge(conf);
  const b = (k: keyof typeof raw): boolean => raw[k] === true;
  const vlan = raw.vlan ?? 0;
  if (vlan < 0 || vlan > 4094) fail(`invalid VLAN ID ${vlan} (must be between 0 and 4094)`);
  const vlanTrunk = raw.vlanTrunk;
  const trunkVlans = collectTrunkVlans(vlanTrunk);

  let mac: string | undefined;
  if (cniArgs !== '') {
    const parsed = parseCniArgs(cniArgs, { MAC: argString });
    if (parsed.MAC) mac = parsed.MAC;
  }
  if (raw.args?.cni?.mac) mac = raw.args.cni.mac;
  if (raw.runtimeConfig?.mac) mac = raw.runtimeConfig.mac;

  const dns = raw.dns;
  const dnsSet =
    !!dns && (dns.nameservers !== undefined || dns.search !== undefined || dns.options !== undefined || !!dns.domain);

  return {
    cniVersion,
    networkName: raw.name ?? '',
    bridge: raw.bridge ?? defaultBridgeName,
    isGateway: b('isGateway') || b('isDefaultGateway'),
    isDefaultGateway: b('isDefaultGateway'),
    forceAddress: b('forceAddress'),
    ipMasq: b('ipMasq'),
    ipMasqBackend: raw.ipMasqBackend,
    mtu: raw.mtu ?? 0,
    hairpinMode: b('hairpinMode'),
    promiscMode: b('promiscMode'),
    vlan,
    // Go: a JSON null leaves the slice nil, so it does not count as "present"; `[]` does.
    vlanTrunk,
    trunkVlans,
    preserveDefaultVlan: b('preserveDefaultVlan'),
    macspoofchk: b('macspoofchk'),
    enabledad: b('enabledad'),
    disableContainerInterface: b('disableContainerInterface'),
    portIsolation: b('portIsolation'),
    ipamType: raw.ipam?.type ?? '',
    dns: dnsSet ? dns : undefined,
    mac,
  };
}

/** The reference's trunk rules: ranges need both ends, ids are 1..4094, the result is sorted and unique. */
export function collectTrunkVlans(trunk: Array<VlanTrunkEntry | null> | undefined): number[] {
  if (!trunk) return [];
  const ids = new Set<number>();
  for (const entry of trunk) {
    const { minID, maxID, id } = entry ?? {};
    if (minID !== undefined && maxID !== undefined) {
      if (minID <= 0 || minID > 4094) fail('incorrect trunk minID parameter');
      if (maxID <= 0 || maxID > 4094) fail('incorrect trunk maxID parameter');
      if (maxID < minID) fail('minID is greater than maxID in trunk parameter');
      for (let v = minID; v <= maxID; v++) ids.add(v);
    } else if (maxID !== undefined) {
      fail('minID and maxID should be configured simultaneously, minID is missing');
    } else if (minID !== undefined) {
      fail('minID and maxID should be configured simultaneously, maxID is missing');
    }
    if (id !== undefined) {
      if (id <= 0 || id > 4094) fail('incorrect trunk id parameter');
      ids.add(id);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

const macPattern = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/**
 * Checks the reference makes only on ADD (after the load-time ones). We run all of them before touching
 * anything, so a bad config never half-applies (the reference creates the bridge before some of them).
 */
export function validateForAdd(c: BridgeConfig): void {
  if (c.ipamType !== '' && c.disableContainerInterface)
    fail('cannot use IPAM when DisableContainerInterface flag is set');
  if (c.hairpinMode && c.promiscMode) fail('cannot set hairpin mode and promiscuous mode at the same time');
  if (
    c.ipMasq &&
    c.ipamType !== '' &&
    c.ipMasqBackend !== undefined &&
    c.ipMasqBackend !== 'iptables' &&
    c.ipMasqBackend !== 'nftables'
  ) {
    fail(`unknown ipmasq backend "${c.ipMasqBackend}"`);
  }
  // An L2 result has no IPs, which 0.1.0/0.2.0 cannot express: fail before creating anything (the reference
  // fails only when printing, leaving the bridge and the veth pair behind).
  if (c.ipamType === '' && (c.cniVersion === '0.1.0' || c.cniVersion === '0.2.0'))
    fail('cannot convert: no valid IP addresses');
  if (c.mac !== undefined && !macPattern.test(c.mac))
    fail(`failed to make veth pair: address ${c.mac}: invalid MAC address`);
}

/** The spoof-check / attachment reference id: `<containerID>-<ifname>`. */
export function attachmentId(containerId: string, ifName: string): string {
  return `${containerId}-${ifName}`;
}

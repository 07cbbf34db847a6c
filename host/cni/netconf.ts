// The fields every plugin config shares (the reference's types.NetConf), decoded Go-style. skel does not decode
// them: like the reference's plugins, each plugin decodes its own struct in its config.ts. A plugin whose Go struct
// embeds types.NetConf (bridge, portmap, bandwidth) spreads `netConfFields` into its schema, so a wrong type is
// reported with that plugin's struct name and error prefix; one whose struct lacks them (host-local) never looks
// at `dns`, `capabilities` or `prevResult`. prevResult is parsed only when a plugin asks (`prevResultOf`).
// The runtime also uses the schema when it loads a network configuration list.
import { bool, dict, getField, isPlainObject, list, object, str, struct } from './decode.ts';
import { parsePrevResult } from './result.ts';
import type { GCAttachment, NetConf, Result } from './types.ts';

const dnsSchema = struct('types.DNS', { nameservers: list(str), domain: str, search: list(str), options: list(str) });

/** types.NetConf's fields, to spread into a plugin's own struct schema (Go embeds types.NetConf there). */
export const netConfFields = {
  cniVersion: str,
  name: str,
  type: str,
  capabilities: dict(bool),
  ipam: struct('types.IPAM', { type: str }),
  dns: dnsSchema,
  prevResult: object,
  'cni.dev/valid-attachments': list(struct('types.GCAttachment', { containerID: str, ifname: str })),
};

export const netConfSchema = struct('types.NetConf', netConfFields);

export type DecodedNetConf = NonNullable<ReturnType<typeof netConfSchema.decode>>;

/** What the helpers below need of a call (a CmdArgs fits). */
export interface ConfOfCall {
  /** The parsed stdin JSON. */
  conf: Record<string, unknown>;
  /** The config's cniVersion as skel negotiated it ('0.1.0' when absent). */
  cniVersion: string;
}

/**
 * The call's prevResult as the reference's version.ParsePrevResult reads it: parsed as the config version's family
 * (a missing cniVersion means the config's) into the 1.x model; undefined when absent or null.
 * Throws `could not parse prevResult: ...`; a non-object value throws the DecodeError types.NetConf reports
 * (a plugin that embeds `netConfFields` has already reported it with its own struct name).
 */
export function prevResultOf(a: ConfOfCall): Result | undefined {
  const raw = getField(a.conf, 'prevResult');
  if (raw === undefined) return undefined;
  return parsePrevResult(object.decode(raw, { struct: 'NetConf', path: ['prevResult'] }), a.cniVersion);
}

/** GC's `cni.dev/valid-attachments` (empty when absent); a wrong type throws a DecodeError. */
export function validAttachmentsOf(a: Pick<ConfOfCall, 'conf'>): GCAttachment[] {
  const raw = getField(a.conf, 'cni.dev/valid-attachments');
  if (raw === undefined) return [];
  const valid = netConfFields['cni.dev/valid-attachments'].decode(raw, {
    struct: 'NetConf',
    path: ['cni.dev/valid-attachments'],
  });
  return valid.map((v): GCAttachment => ({ containerID: v.containerID ?? '', ifname: v.ifname ?? '' }));
}

/**
 * The config decoded as plain types.NetConf (as loopback's reference does; also behind CmdArgs.netconf). A wrong
 * type throws a DecodeError with types.NetConf's wording. `prevResult` is parsed on first read (then it may throw
 * like `prevResultOf`), so reading the other fields never fails on a prevResult the plugin does not use.
 */
export function readNetConf(a: ConfOfCall): NetConf {
  const c = netConfSchema.decode(a.conf, { path: [] });
  const nc: NetConf = { cniVersion: a.cniVersion, name: c.name ?? '', type: c.type ?? '' };
  if (c.capabilities) nc.capabilities = c.capabilities;
  if (c.ipam) nc.ipam = c.ipam;
  if (c.dns) nc.dns = c.dns;
  // Not part of types.NetConf: their types are checked by each plugin's own config schema.
  const runtimeConfig = getField(a.conf, 'runtimeConfig');
  if (isPlainObject(runtimeConfig)) nc.runtimeConfig = runtimeConfig;
  const args = getField(a.conf, 'args');
  if (isPlainObject(args)) nc.args = args;
  if (c['cni.dev/valid-attachments']) nc.validAttachments = validAttachmentsOf(a);
  if (c.prevResult) {
    let parsed: Result | undefined;
    Object.defineProperty(nc, 'prevResult', {
      enumerable: true,
      configurable: true,
      get: () => (parsed ??= prevResultOf(a)),
    });
  }
  return nc;
}

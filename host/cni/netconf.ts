// The fields every plugin config shares (the reference's types.PluginConf), decoded Go-style. Used by skel
// for each call and by the runtime when it loads a network configuration list.
import { CniError, ErrCode } from './errors.ts';
import { DecodeError, bool, dict, getField, isPlainObject, list, object, str, struct } from './decode.ts';
import { parsePrevResult } from './result.ts';
import type { GCAttachment, NetConf } from './types.ts';

const dnsSchema = struct('types.DNS', { nameservers: list(str), domain: str, search: list(str), options: list(str) });
export const netConfSchema = struct('types.NetConf', {
  cniVersion: str,
  name: str,
  type: str,
  capabilities: dict(bool),
  ipam: struct('types.IPAM', { type: str }),
  dns: dnsSchema,
  prevResult: object,
  'cni.dev/valid-attachments': list(struct('types.GCAttachment', { containerID: str, ifname: str })),
});

export type DecodedNetConf = NonNullable<ReturnType<typeof netConfSchema.decode>>;

/** The common NetConf fields, decoded Go-style (errors are code 999 with Go's wording), prevResult in the 1.x model. */
export function readNetConf(conf: unknown, confVersion: string): NetConf {
  let c;
  try {
    c = netConfSchema.decode(conf, { path: [] });
  } catch (e) {
    if (e instanceof DecodeError) throw new CniError(ErrCode.Internal, e.message);
    throw e;
  }
  const nc: NetConf = { cniVersion: confVersion, name: c.name ?? '', type: c.type ?? '' };
  if (c.capabilities) nc.capabilities = c.capabilities;
  if (c.ipam) nc.ipam = c.ipam;
  if (c.dns) nc.dns = c.dns;
  // Not part of types.PluginConf: their types are checked by each plugin's own config schema.
  const runtimeConfig = isPlainObject(conf) ? getField(conf, 'runtimeConfig') : undefined;
  if (isPlainObject(runtimeConfig)) nc.runtimeConfig = runtimeConfig;
  const args = isPlainObject(conf) ? getField(conf, 'args') : undefined;
  if (isPlainObject(args)) nc.args = args;
  const valid = c['cni.dev/valid-attachments'];
  if (valid) nc.validAttachments = valid.map((a): GCAttachment => ({ containerID: a.containerID ?? '', ifname: a.ifname ?? '' }));
  if (c.prevResult) nc.prevResult = parsePrevResult(c.prevResult, confVersion);
  return nc;
}

// The kubenet meta-plugin's config: kubenet's knobs as CNI config fields, the pod CIDR from the config or the
// `ipRanges` capability (a comma list inside one subnet — what the kubelet's cni plugin sends — is split).
import { errorMessage } from '../../errors.ts';
import { Cidr } from '../../core/index.ts';
import { DecodeError, dict, getField, int, list, str, struct, any } from '../../cni/decode.ts';
import { CniError, ErrCode } from '../../cni/errors.ts';
import { netConfFields, prevResultOf } from '../../cni/netconf.ts';
import type { CmdArgs } from '../../cni/skel.ts';
import type { Result } from '../../cni/types.ts';
import { DEFAULT_BRIDGE, parsePodCidrs, type HairpinMode } from '../../node/kubenet-config.ts';

export interface KubenetConfig {
  cniVersion: string;
  name: string;
  podCidrs: string[];
  bridge: string;
  /** 0 = smallest MTU of the host's up interfaces (Wasm core pickMtu), 1460 when none */
  mtu: number;
  hairpinMode: HairpinMode;
  /** '0.0.0.0/0' or '::/0' turns the masquerade rule off */
  nonMasqueradeCidr: string;
  dataDir?: string;
  portMappings: unknown[];
  bandwidth?: Record<string, unknown>;
  prevResult?: Result;
}

const rangeSchema = struct('allocator.Range', { subnet: str });
const schema = struct('kubenet.NetConf', {
  ...netConfFields,
  podCIDR: str,
  bridge: str,
  mtu: int,
  hairpinMode: str,
  nonMasqueradeCIDR: str,
  dataDir: str,
  runtimeConfig: struct('kubenet.RuntimeConfig', {
    ipRanges: list(list(rangeSchema)),
    portMappings: list(any),
    bandwidth: dict(any),
  }),
});

const invalid = (msg: string) => new CniError(ErrCode.InvalidNetworkConfig, msg);

/** `needCidr`: ADD and CHECK require a pod CIDR; DEL falls back to the networks of prevResult's IPs. */
export function loadConfig(a: CmdArgs, needCidr: boolean): KubenetConfig {
  let c;
  try {
    c = schema.decode(a.conf, { path: [] });
  } catch (e) {
    if (e instanceof DecodeError) throw new CniError(ErrCode.DecodeFailure, `failed to load netconf: ${e.message}`);
    throw e;
  }
  const hairpin = c.hairpinMode ?? 'promiscuous-bridge';
  if (!['promiscuous-bridge', 'hairpin-veth', 'none'].includes(hairpin))
    throw invalid(`unknown value: "${hairpin}" for hairpinMode`);
  const nonMasq = c.nonMasqueradeCIDR ?? '10.0.0.0/8';
  if (!Cidr.tryParse(nonMasq)) throw invalid(`invalid nonMasqueradeCIDR "${nonMasq}"`);
  if (c.mtu !== undefined && (c.mtu < 0 || (c.mtu > 0 && c.mtu < 68))) throw invalid(`invalid mtu ${c.mtu}`);
  let prevResult: Result | undefined;
  if (getField(a.conf, 'prevResult') !== undefined) {
    try {
      prevResult = prevResultOf(a);
    } catch (e) {
      throw new CniError(ErrCode.DecodeFailure, `failed to parse prevResult: ${errorMessage(e)}`);
    }
  }

  let text = c.podCIDR ?? '';
  if (text === '')
    text = (c.runtimeConfig?.ipRanges ?? [])
      .flat()
      .map((r) => r.subnet ?? '')
      .filter((s) => s !== '')
      .join(',');
  let podCidrs: string[] = [];
  if (text !== '') {
    try {
      podCidrs = parsePodCidrs(text);
    } catch (e) {
      throw invalid(`kubenet: ${errorMessage(e)}`);
    }
  } else if (!needCidr && prevResult?.ips?.length) {
    podCidrs = prevResult.ips.map((ip) => {
      const x = Cidr.parse(ip.address);
      return `${x.network}/${x.prefix}`;
    });
  }
  if (podCidrs.length === 0)
    throw invalid('kubenet: no pod CIDR: set "podCIDR" in the config or pass the ipRanges capability');

  const out: KubenetConfig = {
    cniVersion: a.cniVersion,
    name: a.name,
    podCidrs,
    bridge: c.bridge || DEFAULT_BRIDGE,
    mtu: c.mtu ?? 0,
    hairpinMode: hairpin as HairpinMode,
    nonMasqueradeCidr: nonMasq,
    portMappings: c.runtimeConfig?.portMappings ?? [],
  };
  if (c.dataDir) out.dataDir = c.dataDir;
  if (c.runtimeConfig?.bandwidth && Object.keys(c.runtimeConfig.bandwidth).length > 0)
    out.bandwidth = c.runtimeConfig.bandwidth;
  if (prevResult) out.prevResult = prevResult;
  return out;
}

// bandwidth's configuration: the four limits (static or runtimeConfig.bandwidth), Go-json-like decoding and the
// reference's validation (containernetworking/plugins v1.9.1 plugins/meta/bandwidth/main.go, parseConfig).
import { annotate } from '../../errors.ts';
import type { Result } from '../../cni/types.ts';
import { netConfFields, prevResultOf } from '../../cni/netconf.ts';
import {
  custom,
  decode,
  DecodeError,
  isPlainObject,
  jsonTypeName,
  struct,
  typeError,
  uint64,
  type Decoder,
} from '../../cni/decode.ts';

/** Rates in bits per second, bursts in bits; 0 = not set. */
export interface BandwidthEntry {
  ingressRate: number;
  ingressBurst: number;
  egressRate: number;
  egressBurst: number;
}

export interface BandwidthConfig {
  /** The network name (`name`), part of the ifb name. */
  network: string;
  /** The limits in effect (static config if present, else runtimeConfig.bandwidth); undefined = none given. */
  bandwidth?: BandwidthEntry;
  /** The previous plugin's result (1.x model), when the runtime sent one. */
  prevResult?: Result;
}

/** The largest burst in bytes the reference accepts is one less than this (tbf's limit fields are 32 bits). */
const MAX_BURST_BYTES = 0xffffffff;

const ENTRY_FIELDS = { ingressRate: uint64, ingressBurst: uint64, egressRate: uint64, egressBurst: uint64 };
const ENTRY_KEYS = Object.keys(ENTRY_FIELDS).map((k) => k.toLowerCase());

/** Go names an anonymous struct type by its literal (in type errors about the whole runtimeConfig value). */
function anonymousStruct<T>(goType: string, inner: Decoder<T>): Decoder<T> {
  return custom(goType, (v, at) => (isPlainObject(v) ? inner.decode(v, at) : typeError(jsonTypeName(v), goType, at)));
}

const EntrySchema = struct('main.BandwidthEntry', ENTRY_FIELDS);
const PluginConfSchema = struct('main.PluginConf', {
  ...netConfFields,
  ...ENTRY_FIELDS,
  runtimeConfig: anonymousStruct(
    'struct { Bandwidth *main.BandwidthEntry "json:\\"bandwidth,omitempty\\"" }',
    struct('', { bandwidth: EntrySchema }),
  ),
});

function entry(raw: Partial<BandwidthEntry>): BandwidthEntry {
  return {
    ingressRate: raw.ingressRate ?? 0,
    ingressBurst: raw.ingressBurst ?? 0,
    egressRate: raw.egressRate ?? 0,
    egressBurst: raw.egressBurst ?? 0,
  };
}

/**
 * Whether the static entry exists. The reference embeds it as a pointer, which Go's decoder allocates as soon as
 * any of its keys appears (case-insensitively, even with a null value) — so `"ingressRate": null` still makes
 * the static config win over runtimeConfig. decode.ts reports null as absent, hence this look at the keys.
 */
function hasStaticEntry(conf: Record<string, unknown>): boolean {
  return Object.keys(conf).some((k) => ENTRY_KEYS.includes(k.toLowerCase()));
}

function validateRateAndBurst(rate: number, burst: number): void {
  if (burst === 0 && rate !== 0) throw new Error('if rate is set, burst must also be set');
  if (rate === 0 && burst !== 0) throw new Error('if burst is set, rate must also be set');
  if (Math.floor(burst / 8) >= MAX_BURST_BYTES) throw new Error('burst cannot be more than 4GB');
}

/** A direction is shaped only when both its rate and burst are set. */
export function shapesIngress(b: BandwidthEntry): boolean {
  return b.ingressRate > 0 && b.ingressBurst > 0;
}
export function shapesEgress(b: BandwidthEntry): boolean {
  return b.egressRate > 0 && b.egressBurst > 0;
}
export function isZero(b: BandwidthEntry): boolean {
  return b.ingressRate === 0 && b.ingressBurst === 0 && b.egressRate === 0 && b.egressBurst === 0;
}

/**
 * Decodes and validates like the reference's parseConfig; throws Error with the reference's text.
 * `cniVersion` is the negotiated one: prevResult is parsed as its family, after the limits are checked.
 */
export function loadBandwidthConfig(
  conf: Record<string, unknown>,
  network: string,
  cniVersion: string,
): BandwidthConfig {
  let raw;
  try {
    raw = decode(PluginConfSchema, conf) ?? {};
  } catch (e) {
    if (e instanceof DecodeError) throw new Error(`failed to parse network configuration: ${e.message}`);
    throw e;
  }
  let bandwidth: BandwidthEntry | undefined;
  if (hasStaticEntry(conf)) bandwidth = entry(raw);
  else if (raw.runtimeConfig?.bandwidth) bandwidth = entry(raw.runtimeConfig.bandwidth);
  if (bandwidth) {
    validateRateAndBurst(bandwidth.ingressRate, bandwidth.ingressBurst);
    validateRateAndBurst(bandwidth.egressRate, bandwidth.egressBurst);
  }
  let prevResult: Result | undefined;
  try {
    prevResult = prevResultOf({ conf, cniVersion });
  } catch (e) {
    // the reference wraps the library's own "could not parse prevResult" once more
    throw annotate(e, 'could not parse prevResult');
  }
  return { network, bandwidth, prevResult };
}

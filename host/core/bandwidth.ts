// Bandwidth: Kubernetes quantities (annotations, bits/s) and the tbf qdisc parameters
// (containernetworking/plugins v1.9.1 plugins/meta/bandwidth/ifb_creator.go, createTBF).
import { CoreError } from './errors.ts';
import { core, writeText, textArea, f64Area, f64 } from './wasm.ts';

const QUANTITY_REGEXP = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const MSG_FORMAT = `quantities must match the regular expression '${QUANTITY_REGEXP}'`;
const MSG_SUFFIX = "unable to parse quantity's suffix";

/**
 * A Kubernetes resource.Quantity rounded up to an integer (what `Quantity.Value()` returns), capped at
 * 2^63-1 like apimachinery. Throws the apimachinery error texts.
 */
export function parseQuantity(text: string): number {
  if (text === '0') return 0;
  const n = writeText(text);
  if (n < 0) throw new CoreError(MSG_FORMAT, 'format');
  const r = core().quantity_parse(textArea(), n, f64Area());
  if (r === 1) throw new CoreError(MSG_FORMAT, 'format');
  if (r === 2) throw new CoreError(MSG_SUFFIX, 'suffix');
  return f64()[f64Area() >>> 3];
}

/** An annotation value in bits/s with the kubelet's limits (1k..1P inclusive); messages as the kubelet's, typo included. */
export function parseBandwidthQuantity(text: string): number {
  const v = parseQuantity(text);
  if (v < 1000) throw new CoreError('resource is unreasonably small (< 1kbit)', 'too small');
  if (v > 1e15) throw new CoreError('resoruce is unreasonably large (> 1Pbit)', 'too large');
  return v;
}

export type TbfMode = 'reference' | 'saturating';
export const DEFAULT_TICK_IN_USEC = 15.625;

export interface TbfParams {
  rateBits: number;
  burstBits: number;
  /** Ticks per microsecond from /proc/net/psched (tickInUsecFromPsched); 15.625 on every modern kernel. */
  tickInUsec?: number;
  /** 'reference' (default): Go's float→uint32 as on amd64 (wraps); 'saturating': clamp at 2^32-1. */
  mode?: TbfMode;
  latencyMs?: number;
}

export interface Tbf {
  rateBytes: number;
  burstBytes: number;
  bufferTicks: number;
  limitBytes: number;
  latencyUs: number;
  /** The rate needs TCA_TBF_RATE64 (rateBytes >= 2^32). */
  rate64: boolean;
  /** Some value wrapped modulo 2^32 (reference mode only). */
  wrapped: boolean;
}

export function tbf(p: TbfParams): Tbf {
  const out = f64Area();
  const r = core().tbf_compute(
    p.rateBits,
    p.burstBits,
    p.tickInUsec ?? DEFAULT_TICK_IN_USEC,
    p.latencyMs ?? 25,
    p.mode === 'saturating' ? 1 : 0,
    out,
  );
  if (r === 1) throw new CoreError(`invalid rate: ${p.rateBits}`, 'rate');
  if (r === 2) throw new CoreError(`invalid burst: ${p.burstBits}`, 'burst');
  const v = f64();
  const i = out >>> 3;
  return {
    rateBytes: v[i],
    burstBytes: v[i + 1],
    bufferTicks: v[i + 2],
    limitBytes: v[i + 3],
    latencyUs: v[i + 4],
    rate64: v[i + 5] === 1,
    wrapped: v[i + 6] === 1,
  };
}

/** The content of /proc/net/psched → ticks per µs (0 when unusable: buffers then become 0, as in Go). */
export function tickInUsecFromPsched(text: string): number {
  const n = writeText(text.slice(0, 1024));
  return core().psched_tick(textArea(), Math.max(n, 0));
}

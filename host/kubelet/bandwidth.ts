// Pod bandwidth from the kubernetes.io/{ingress,egress}-bandwidth annotations (kubernetes v1.23
// pkg/util/bandwidth/utils.go, ExtractPodBandwidthResources), and the CNI `bandwidth` capability argument the cni
// plugin builds from it (pkg/kubelet/dockershim/network/cni/cni.go, buildCNIRuntimeConf).
import { parseBandwidthQuantity } from '../core/index.ts';

export const INGRESS_ANNOTATION = 'kubernetes.io/ingress-bandwidth';
export const EGRESS_ANNOTATION = 'kubernetes.io/egress-bandwidth';
/** "Practically unlimited" burst the kubelet sends with every rate: max int32 bits. */
export const UNLIMITED_BURST = 2147483647;

/** Rates in bits/s; a missing direction is undefined. */
export interface PodBandwidth {
  ingress?: number;
  egress?: number;
}

/** null when neither annotation is present; throws the quantity / limit error (ingress checked first). */
export function extractPodBandwidth(annotations: Readonly<Record<string, string>> | undefined): PodBandwidth | null {
  if (!annotations) return null;
  const out: PodBandwidth = {};
  if (Object.hasOwn(annotations, INGRESS_ANNOTATION))
    out.ingress = parseBandwidthQuantity(annotations[INGRESS_ANNOTATION]!);
  if (Object.hasOwn(annotations, EGRESS_ANNOTATION))
    out.egress = parseBandwidthQuantity(annotations[EGRESS_ANNOTATION]!);
  return out.ingress === undefined && out.egress === undefined ? null : out;
}

/** Burst (bits) to send with a rate (bits/s). */
export type BurstPolicy = (rateBits: number) => number;

/** What the kubelet's cni plugin sends: the same near-unlimited burst for every rate. */
export const kubeletBurst: BurstPolicy = () => UNLIMITED_BURST;

/**
 * kubenet's burst. Old kubenet shaped with htb classes on cbr0, which allow next to no burst; with the
 * bandwidth plugin, the kubelet's 256 MiB burst would let a 10 Mbit/s pod run at line rate for ~20 s.
 * So: 100 ms worth of the rate, and at least 64 KiB so that one GSO packet always fits the bucket.
 */
export const kubenetBurst: BurstPolicy = (rateBits) =>
  Math.min(UNLIMITED_BURST, Math.max(Math.ceil(rateBits / 10), 64 * 1024 * 8));

/** runtimeConfig.bandwidth for CNI: `<dir>Rate` + `<dir>Burst` per present direction; undefined when none. */
export function bandwidthCapability(
  bw: PodBandwidth | null,
  burst: BurstPolicy = kubeletBurst,
): Record<string, number> | undefined {
  if (!bw) return undefined;
  const out: Record<string, number> = {};
  if (bw.ingress !== undefined) {
    out.ingressRate = bw.ingress;
    out.ingressBurst = burst(bw.ingress);
  }
  if (bw.egress !== undefined) {
    out.egressRate = bw.egress;
    out.egressBurst = burst(bw.egress);
  }
  return out;
}

// The daemon's Prometheus metric families, built at scrape time from the metric model (metrics.ts), the
// daemon's status, the process, and the host-local networks its calls used (at most MAX_TRACKED_NETWORKS; each
// directory is listed again only when it changed since the last scrape, and each listing is capped).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import {
  hostLocalNetwork,
  networkUsage,
  type HostLocalNetwork,
  type NetworkUsage,
} from '../plugins/host-local/usage.ts';
import type { LogSink } from './log.ts';
import { parseMetricsAddress, startMetricsEndpoint, type MetricsEndpoint } from './metrics-http.ts';
import { LATENCY_BUCKETS, type Metrics } from './metrics.ts';
import { histogramSamples, render, type MetricFamily, type Sample } from './prometheus.ts';

/** The part of the daemon's status the exposition reads. */
export interface LiveCounts {
  inFlight: number;
  busyContainers: number;
}

export interface ExpositionSource {
  metrics: Metrics;
  live: () => LiveCounts;
  /** Event-loop delay, from watchEventLoop(). */
  loop?: IntervalHistogram;
  /** Keeps listings between scrapes (default: none kept). */
  ipam?: IpamScanner;
}

/** Reservation files listed per network and scrape, at most. */
const IPAM_SCAN_LIMIT = 100_000;

/** Sampling interval of the event-loop monitor; its samples are the interval plus the lag. */
const LOOP_RESOLUTION_MS = 20;

/** Starts sampling the event loop's delay; disable() it when done. */
export function watchEventLoop(): IntervalHistogram {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  return h;
}

/**
 * host-local usage per network config, listing a directory again only when its (inode, mtime, ctime) moved.
 * A stamp read within a second of the directory's last change is not trusted (coarse timestamps can hide a
 * second change in the same tick), so a busy directory is simply listed on each scrape.
 */
export class IpamScanner {
  private cache = new Map<string, { stamp: string; net: HostLocalNetwork; usage: NetworkUsage }>();

  scan(conf: Record<string, unknown>): { net: HostLocalNetwork; usage: NetworkUsage } {
    const key = JSON.stringify(conf);
    const hit = this.cache.get(key);
    const net = hit?.net ?? hostLocalNetwork(conf);
    const stamp = dirStamp(join(net.dataDir, net.name));
    if (hit && stamp && hit.stamp === stamp) return hit;
    const entry = { stamp: stamp ?? '', net, usage: networkUsage(net, { limit: IPAM_SCAN_LIMIT }) };
    if (stamp) this.cache.set(key, entry);
    else this.cache.delete(key);
    return entry;
  }
}

/** The directory's identity and change times, or undefined when missing or changed within the last second. */
function dirStamp(dir: string): string | undefined {
  try {
    const st = statSync(dir, { bigint: true });
    if (BigInt(Date.now()) * 1_000_000n - st.mtimeNs < 1_000_000_000n) return undefined;
    return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}

function ipamFamilies(metrics: Metrics, scanner: IpamScanner): MetricFamily[] {
  const size: Sample[] = [];
  const allocated: Sample[] = [];
  const ratio: Sample[] = [];
  for (const conf of metrics.hostLocalConfigs()) {
    let usage: NetworkUsage & { net: HostLocalNetwork };
    try {
      const scanned = scanner.scan(conf);
      usage = { net: scanned.net, ...scanned.usage };
    } catch {
      continue; // a config the plugin itself rejected: nothing was allocated from it
    }
    for (const r of usage.ranges) {
      const labels = {
        network: usage.net.name,
        data_dir: usage.net.dataDir,
        range_set: String(r.rangeSet),
        range: r.range,
      };
      size.push({ labels, value: r.size });
      allocated.push({ labels, value: r.allocated });
      ratio.push({ labels, value: r.size > 0 ? r.allocated / r.size : 0 });
    }
  }
  return [
    {
      name: 'wasm_cni_ipam_range_size_addresses',
      help: 'Addresses a host-local range can hand out (start to end, gateway excluded), per range the daemon has served.',
      type: 'gauge',
      samples: size,
    },
    {
      name: 'wasm_cni_ipam_range_allocated_addresses',
      help: 'Reservation files in a host-local range, read from its data directory at scrape time.',
      type: 'gauge',
      samples: allocated,
    },
    {
      name: 'wasm_cni_ipam_range_utilization_ratio',
      help: 'Allocated over size of a host-local range (0 to 1).',
      type: 'gauge',
      samples: ratio,
    },
  ];
}

function processFamilies(loop: IntervalHistogram | undefined): MetricFamily[] {
  const families: MetricFamily[] = [
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size of the daemon in bytes.',
      type: 'gauge',
      samples: [{ value: process.memoryUsage.rss() }],
    },
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the daemon process since the Unix epoch in seconds.',
      type: 'gauge',
      samples: [{ value: Math.round((Date.now() - process.uptime() * 1000) / 10) / 100 }],
    },
  ];
  if (!loop) return families;
  const s = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns - LOOP_RESOLUTION_MS * 1e6) / 1e9 : 0);
  const count = loop.count;
  families.push(
    {
      name: 'wasm_cni_daemon_event_loop_delay_seconds',
      help: 'Lag of the daemon event loop (how late a 20 ms timer fires) since start: quantiles, sum and count.',
      type: 'summary',
      samples: [
        ...[0.5, 0.9, 0.99].map((q) => ({
          labels: { quantile: String(q) },
          value: count ? s(loop.percentile(q * 100)) : Number.NaN,
        })),
        { suffix: '_sum', value: count ? s(loop.mean) * count : 0 },
        { suffix: '_count', value: count },
      ],
    },
    {
      name: 'wasm_cni_daemon_event_loop_delay_max_seconds',
      help: 'Largest event loop lag of the daemon since start.',
      type: 'gauge',
      samples: [{ value: count ? s(loop.max) : 0 }],
    },
  );
  return families;
}

export function daemonFamilies(src: ExpositionSource): MetricFamily[] {
  const { metrics } = src;
  const live = src.live();
  const histograms = metrics.histograms();
  return [
    {
      name: 'wasm_cni_daemon_calls_total',
      help: 'Plugin calls the daemon served, by plugin and CNI command (failed ones included).',
      type: 'counter',
      samples: histograms.map((h) => ({ labels: { plugin: h.plugin, command: h.command }, value: h.count })),
    },
    {
      name: 'wasm_cni_daemon_call_errors_total',
      help: 'Served calls that ended in a CNI error, by plugin, command and CNI error code.',
      type: 'counter',
      samples: metrics
        .errorCounts()
        .map((e) => ({ labels: { plugin: e.plugin, command: e.command, code: e.code }, value: e.count })),
    },
    {
      name: 'wasm_cni_daemon_call_duration_seconds',
      help: 'Time from a call being received to its result, by plugin and command (waiting for the same container included).',
      type: 'histogram',
      samples: histograms.flatMap((h) =>
        histogramSamples(
          { plugin: h.plugin, command: h.command },
          LATENCY_BUCKETS,
          h.cumulative,
          h.sumSeconds,
          h.count,
        ),
      ),
    },
    {
      name: 'wasm_cni_daemon_calls_in_flight',
      help: 'Calls being served now.',
      type: 'gauge',
      samples: [{ value: live.inFlight }],
    },
    {
      name: 'wasm_cni_daemon_busy_containers',
      help: 'Containers with a call being served now (calls for one container run one at a time).',
      type: 'gauge',
      samples: [{ value: live.busyContainers }],
    },
    {
      name: 'wasm_cni_daemon_rejected_calls_total',
      help: 'Connections turned away before a plugin ran, by reason (version, draining and other_namespace make the executable take the cold path).',
      type: 'counter',
      samples: [...metrics.rejections()].map(([reason, value]) => ({ labels: { reason }, value })),
    },
    ...ipamFamilies(metrics, src.ipam ?? new IpamScanner()),
    ...processFamilies(src.loop),
  ];
}

export function exposition(src: ExpositionSource): string {
  return render(daemonFamilies(src));
}

export interface DaemonMetricsEndpoint extends MetricsEndpoint {
  /** The daemon whose live counts (in flight, busy containers) to show; zero until attached. */
  attach(daemon: { status(): LiveCounts }): void;
}

/**
 * Serves the daemon's metrics at `address` (see metrics-http.ts) until closed. A malformed address throws; an
 * address that cannot be bound now (in use, e.g. by a predecessor still draining after `--replace`, or not yet
 * configured) is retried every `retryMs` in the background: metrics never keep the daemon from serving calls.
 */
export async function serveDaemonMetrics(
  address: string,
  metrics: Metrics,
  log: LogSink,
  opts: { retryMs?: number } = {},
): Promise<DaemonMetricsEndpoint> {
  parseMetricsAddress(address);
  const loop = watchEventLoop();
  const ipam = new IpamScanner();
  let live = (): LiveCounts => ({ inFlight: 0, busyContainers: 0 });
  let endpoint: MetricsEndpoint | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let reported = false;
  const attempt = async (): Promise<void> => {
    try {
      const started = await startMetricsEndpoint(address, () => exposition({ metrics, live, loop, ipam }));
      if (closed) return void (await started.close());
      endpoint = started;
      log('info', 'metrics-listening', { address: started.address });
    } catch (e) {
      if (closed) return;
      if (!reported)
        log('warn', 'metrics-unavailable', { address, error: (e as Error).message, retryMs: opts.retryMs ?? 5000 });
      reported = true;
      timer = setTimeout(() => void attempt(), opts.retryMs ?? 5000);
      timer.unref();
    }
  };
  await attempt();
  return {
    get address() {
      return endpoint?.address ?? address;
    },
    attach: (daemon) => {
      live = () => daemon.status();
    },
    close: async () => {
      closed = true;
      clearTimeout(timer);
      loop.disable();
      await endpoint?.close();
    },
  };
}

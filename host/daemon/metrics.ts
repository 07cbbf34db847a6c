// What the daemon counts: calls, errors (by CNI code) and latency per plugin and command, rejected calls by
// reason, and the host-local networks its calls used. `wasm-cni daemon status` shows a summary (snapshot);
// the Prometheus endpoint (prometheus.ts) exposes all of it.

import { type CallStats, RejectReason, type RejectionStats, rejectReasonName } from './wire.ts';

export type { CallStats };

const SAMPLES = 512; // latest durations kept per row for the percentiles

/** Upper bounds (seconds) of the call latency histogram: a loopback ADD takes ~3 ms, a cold netns hundreds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** host-local networks remembered for the utilisation gauges (the first ones seen; bounded). */
export const MAX_TRACKED_NETWORKS = 64;

/** What record() needs of a call and of its result. */
export interface RecordedCall {
  plugin: string;
  env: Record<string, string | undefined>;
  stdin: Uint8Array;
}
export interface RecordedResult {
  exitCode: number;
  stdout: string;
}

export interface LatencyHistogram {
  plugin: string;
  command: string;
  /** Calls at or under each LATENCY_BUCKETS bound (cumulative). */
  cumulative: number[];
  sumSeconds: number;
  count: number;
}

export interface ErrorCount {
  plugin: string;
  command: string;
  /** The CNI error code of the result ("unknown" when stdout held none). */
  code: string;
  count: number;
}

interface Row {
  calls: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  recent: number[];
  next: number;
  /** Per-bucket (not cumulative) counts; the last slot is over the largest bound. */
  buckets: number[];
  codes: Map<string, number>;
}

export class Metrics {
  private rows = new Map<string, Row>();
  /** Every reason, counted from zero, so each series exists from the start. */
  private rejects = new Map<string, number>(Object.keys(RejectReason).map((name) => [reasonLabel(name), 0]));
  private networks = new Map<string, Record<string, unknown>>();
  private rejectRows = new Map<string, RejectionStats>();
  rejectedTotal = 0;

  /** One served call (whatever its exit code); a successful one names the host-local network it used. */
  record(call: RecordedCall, ms: number, res: RecordedResult): void {
    const command = call.env.CNI_COMMAND ?? '';
    const key = `${call.plugin}\u0000${command}`;
    let row = this.rows.get(key);
    if (!row) {
      row = {
        calls: 0,
        errors: 0,
        totalMs: 0,
        maxMs: 0,
        recent: [],
        next: 0,
        buckets: new Array(LATENCY_BUCKETS.length + 1).fill(0),
        codes: new Map(),
      };
      this.rows.set(key, row);
    }
    row.calls++;
    row.totalMs += ms;
    row.maxMs = Math.max(row.maxMs, ms);
    if (row.recent.length < SAMPLES) row.recent.push(ms);
    else row.recent[row.next] = ms;
    row.next = (row.next + 1) % SAMPLES;
    const seconds = ms / 1000;
    const at = LATENCY_BUCKETS.findIndex((b) => seconds <= b);
    row.buckets[at < 0 ? LATENCY_BUCKETS.length : at]!++;
    if (res.exitCode !== 0) {
      row.errors++;
      const code = cniErrorCode(res.stdout);
      row.codes.set(code, (row.codes.get(code) ?? 0) + 1);
    } else this.noteNetwork(call.stdin);
  }

  /** A connection turned away before any plugin ran, and why (the latest message per reason, for status). */
  reject(reason: RejectReason, message = ''): void {
    const name = rejectReasonName(reason);
    const label = reasonLabel(name);
    this.rejects.set(label, (this.rejects.get(label) ?? 0) + 1);
    const row = this.rejectRows.get(name) ?? { reason: name, count: 0, lastMessage: '' };
    row.count++;
    row.lastMessage = message;
    this.rejectRows.set(name, row);
    this.rejectedTotal++;
  }

  /** The reasons seen so far, with their latest message (`daemon status`). */
  rejectionStats(): RejectionStats[] {
    return [...this.rejectRows.values()].map((r) => ({ ...r })).sort((a, b) => a.reason.localeCompare(b.reason));
  }

  rejections(): ReadonlyMap<string, number> {
    return this.rejects;
  }

  histograms(): LatencyHistogram[] {
    return this.sortedRows().map(([plugin, command, row]) => {
      let running = 0;
      const cumulative = LATENCY_BUCKETS.map((_, i) => (running += row.buckets[i]!));
      return { plugin, command, cumulative, sumSeconds: row.totalMs / 1000, count: row.calls };
    });
  }

  errorCounts(): ErrorCount[] {
    const out: ErrorCount[] = [];
    for (const [plugin, command, row] of this.sortedRows())
      for (const [code, count] of [...row.codes].sort(([a], [b]) => a.localeCompare(b)))
        out.push({ plugin, command, code, count });
    return out;
  }

  /** The host-local configs seen in calls (name, cniVersion, ipam, runtimeConfig.ipRanges), one per data dir + name. */
  hostLocalConfigs(): Record<string, unknown>[] {
    return [...this.networks.values()];
  }

  snapshot(): CallStats[] {
    return this.sortedRows().map(([plugin, command, row]) => {
      const sorted = [...row.recent].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return {
        plugin,
        command,
        calls: row.calls,
        errors: row.errors,
        meanMs: round(row.totalMs / row.calls),
        p50Ms: round(at(0.5)),
        p95Ms: round(at(0.95)),
        maxMs: round(row.maxMs),
      };
    });
  }

  private sortedRows(): Array<[string, string, Row]> {
    return [...this.rows]
      .map(([key, row]) => [...(key.split('\u0000') as [string, string]), row] as [string, string, Row])
      .sort(([p1, c1], [p2, c2]) => p1.localeCompare(p2) || c1.localeCompare(c2));
  }

  /** Remembers the host-local network of a call's config (cheap unless the config names host-local). */
  private noteNetwork(stdin: Uint8Array): void {
    const bytes = Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength);
    if (!bytes.includes('host-local')) return;
    let conf: unknown;
    try {
      conf = JSON.parse(bytes.toString('utf8'));
    } catch {
      return;
    }
    if (!conf || typeof conf !== 'object') return;
    const { name, cniVersion, ipam, runtimeConfig } = conf as Record<string, unknown>;
    if (!ipam || typeof ipam !== 'object' || (ipam as { type?: unknown }).type !== 'host-local') return;
    if (typeof name !== 'string') return;
    const dataDir = (ipam as { dataDir?: unknown }).dataDir;
    const key = `${typeof dataDir === 'string' ? dataDir : ''}\u0000${name}`;
    if (!this.networks.has(key) && this.networks.size >= MAX_TRACKED_NETWORKS) return;
    const ipRanges = (runtimeConfig as { ipRanges?: unknown } | undefined)?.ipRanges;
    this.networks.set(key, { name, cniVersion, ipam, ...(ipRanges ? { runtimeConfig: { ipRanges } } : {}) });
  }
}

/** The `code` of a CNI error result on stdout, as text. */
function cniErrorCode(stdout: string): string {
  try {
    const code = (JSON.parse(stdout) as { code?: unknown }).code;
    if (typeof code === 'number' && Number.isInteger(code)) return String(code);
  } catch {
    /* not JSON */
  }
  return 'unknown';
}

/** OtherNamespace → other_namespace */
function reasonLabel(name: string): string {
  return name.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase());
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

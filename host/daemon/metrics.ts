// Calls, errors and latency per plugin and command, for `wasm-cni daemon status`.

const SAMPLES = 512; // latest durations kept per row for the percentiles

export interface CallStats {
  plugin: string;
  command: string;
  calls: number;
  errors: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

interface Row {
  calls: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  recent: number[];
  next: number;
}

export class Metrics {
  private rows = new Map<string, Row>();

  record(plugin: string, command: string, ms: number, failed: boolean): void {
    const key = `${plugin}\u0000${command}`;
    let row = this.rows.get(key);
    if (!row) {
      row = { calls: 0, errors: 0, totalMs: 0, maxMs: 0, recent: [], next: 0 };
      this.rows.set(key, row);
    }
    row.calls++;
    if (failed) row.errors++;
    row.totalMs += ms;
    row.maxMs = Math.max(row.maxMs, ms);
    if (row.recent.length < SAMPLES) row.recent.push(ms);
    else row.recent[row.next] = ms;
    row.next = (row.next + 1) % SAMPLES;
  }

  snapshot(): CallStats[] {
    const out: CallStats[] = [];
    for (const [key, row] of this.rows) {
      const [plugin, command] = key.split('\u0000') as [string, string];
      const sorted = [...row.recent].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      out.push({
        plugin,
        command,
        calls: row.calls,
        errors: row.errors,
        meanMs: round(row.totalMs / row.calls),
        p50Ms: round(at(0.5)),
        p95Ms: round(at(0.95)),
        maxMs: round(row.maxMs),
      });
    }
    return out.sort((a, b) => a.plugin.localeCompare(b.plugin) || a.command.localeCompare(b.command));
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

// The three ALPHA metrics of the network-plugin operations (kubernetes v1.23
// pkg/kubelet/dockershim/network/metrics/metrics.go), with a Prometheus text exposition. One registry per PluginManager
// unless one is passed in.

export type OperationType = 'set_up_pod' | 'tear_down_pod' | 'get_pod_network_status' | string;

/** Prometheus' default histogram buckets (seconds). */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export class NetworkPluginMetrics {
  private readonly total = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();

  recordOperation(op: OperationType, seconds?: number): void {
    this.total.set(op, (this.total.get(op) ?? 0) + 1);
    if (seconds === undefined) return;
    let h = this.durations.get(op);
    if (!h) {
      h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(op, h);
    }
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) h!.buckets[i]! += 1;
    });
    h.sum += seconds;
    h.count += 1;
  }

  recordError(op: OperationType): void {
    this.errors.set(op, (this.errors.get(op) ?? 0) + 1);
  }

  operations(op: OperationType): number {
    return this.total.get(op) ?? 0;
  }
  errorCount(op: OperationType): number {
    return this.errors.get(op) ?? 0;
  }

  /** Prometheus text format (only metrics with samples). */
  expose(): string {
    const out: string[] = [];
    const label = (op: string) => `operation_type=${JSON.stringify(op)}`;
    if (this.total.size > 0) {
      out.push(
        '# HELP kubelet_network_plugin_operations_total [ALPHA] Cumulative number of network plugin operations by operation type.',
      );
      out.push('# TYPE kubelet_network_plugin_operations_total counter');
      for (const [op, n] of this.total) out.push(`kubelet_network_plugin_operations_total{${label(op)}} ${n}`);
    }
    if (this.durations.size > 0) {
      out.push(
        '# HELP kubelet_network_plugin_operations_duration_seconds [ALPHA] Latency in seconds of network plugin operations. Broken down by operation type.',
      );
      out.push('# TYPE kubelet_network_plugin_operations_duration_seconds histogram');
      for (const [op, h] of this.durations) {
        for (const [i, b] of BUCKETS.entries()) {
          out.push(`kubelet_network_plugin_operations_duration_seconds_bucket{${label(op)},le="${b}"} ${h.buckets[i]}`);
        }
        out.push(`kubelet_network_plugin_operations_duration_seconds_bucket{${label(op)},le="+Inf"} ${h.count}`);
        out.push(`kubelet_network_plugin_operations_duration_seconds_sum{${label(op)}} ${h.sum}`);
        out.push(`kubelet_network_plugin_operations_duration_seconds_count{${label(op)}} ${h.count}`);
      }
    }
    if (this.errors.size > 0) {
      out.push(
        '# HELP kubelet_network_plugin_operations_errors_total [ALPHA] Cumulative number of network plugin operation errors by operation type.',
      );
      out.push('# TYPE kubelet_network_plugin_operations_errors_total counter');
      for (const [op, n] of this.errors) out.push(`kubelet_network_plugin_operations_errors_total{${label(op)}} ${n}`);
    }
    return out.length ? `${out.join('\n')}\n` : '';
  }
}

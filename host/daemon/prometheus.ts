// The Prometheus text exposition format, version 0.0.4: per metric family one `# HELP` and one `# TYPE` line,
// then its samples `name{label="value",...} value`. Label values escape \ " and newline, HELP text escapes \ and
// newline; values are Go floats (NaN, +Inf, -Inf spelled out). A histogram is its cumulative `_bucket{le="..."}`
// series ending with le="+Inf" (equal to `_count`), then `_sum` and `_count`.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type Labels = Record<string, string>;

export interface Sample {
  /** Appended to the family name: '_bucket', '_sum', '_count' (histograms and summaries). */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function labelText(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  for (const [k] of entries) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`invalid Prometheus label name ${k}`);
  }
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** The samples of one histogram series: cumulative buckets (the +Inf one added), sum and count. */
export function histogramSamples(
  labels: Labels,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
): Sample[] {
  if (bounds.length !== cumulative.length) throw new Error('histogram: one cumulative count per bound');
  return [
    ...bounds.map((le, i) => ({
      suffix: '_bucket',
      labels: { ...labels, le: formatValue(le) },
      value: cumulative[i]!,
    })),
    { suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: count },
    { suffix: '_sum', labels, value: sum },
    { suffix: '_count', labels, value: count },
  ];
}

/** The exposition of the families in order; a family without samples prints only its HELP and TYPE. */
export function render(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid Prometheus metric name ${f.name}`);
    if (seen.has(f.name)) throw new Error(`metric family ${f.name} given twice`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${s.suffix ?? ''}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

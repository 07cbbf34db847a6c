// What `wasm-cni doctor` reports: findings with a verdict and, where one exists, the command that fixes them.
// Exit code by the worst verdict: 0 nothing wrong (ok/info only), 1 warnings, 2 errors.

export type Verdict = 'ok' | 'warn' | 'fail' | 'info';

export interface Finding {
  area: string;
  verdict: Verdict;
  detail: string;
  /** A command (or, where none exists, the edit) that fixes what the finding reports. */
  fix?: string;
}

export function exitCodeFor(findings: readonly Finding[]): 0 | 1 | 2 {
  if (findings.some((f) => f.verdict === 'fail')) return 2;
  if (findings.some((f) => f.verdict === 'warn')) return 1;
  return 0;
}

/** Collects findings in order; `add` returns the finding for callers that refine it. */
export class Report {
  readonly findings: Finding[] = [];
  add(area: string, verdict: Verdict, detail: string, fix?: string): Finding {
    const f: Finding = fix ? { area, verdict, detail, fix } : { area, verdict, detail };
    this.findings.push(f);
    return f;
  }
}

const TAG: Record<Verdict, string> = { ok: '[ ok ]', warn: '[warn]', fail: '[FAIL]', info: '[info]' };

export function formatFindings(findings: readonly Finding[]): string {
  const w = Math.max(0, ...findings.map((f) => f.area.length));
  const lines = findings.flatMap((f) => [
    `${TAG[f.verdict]} ${f.area.padEnd(w)}  ${f.detail}`,
    ...(f.fix ? [`       ${' '.repeat(w)}  fix: ${f.fix}`] : []),
  ]);
  const fails = findings.filter((f) => f.verdict === 'fail').length;
  const warns = findings.filter((f) => f.verdict === 'warn').length;
  return `${lines.join('\n')}\n\n${fails} failed, ${warns} warnings\n`;
}

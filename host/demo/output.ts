// The demo's narration: numbered sections, one line per check (✓ / ✗ with the elapsed time), plain tables.
// Colour only on a terminal (and never with NO_COLOR).
import { errorMessage } from '../errors.ts';

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = paint('1');
export const dim = paint('2');
export const green = paint('32');
export const red = paint('31');
export const cyan = paint('36');

const out = (s: string) => process.stdout.write(`${s}\n`);

let sectionNo = 0;

export function title(text: string, sub: string): void {
  out(bold(text));
  out(dim(sub));
}

export function section(text: string): void {
  sectionNo++;
  out('');
  out(bold(cyan(`${sectionNo}. ${text}`)));
}

export function note(text: string): void {
  out(`   ${dim(text)}`);
}

export function ok(text: string, ms?: number): void {
  out(`   ${green('✓')} ${text}${ms === undefined ? '' : dim(`  (${formatMs(ms)})`)}`);
}

export function fail(text: string): void {
  out(`   ${red('✗')} ${text}`);
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** Prints a block of text (e.g. a table) indented under the current section. */
export function block(text: string): void {
  for (const line of text.replace(/\n$/, '').split('\n')) out(`   ${line}`);
}

/** Left-aligned columns, header row first. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Runs `fn` and times it; a thrown error is printed as ✗ and re-thrown so the demo fails. */
export async function step<T>(label: string | ((v: T) => string), fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const v = await fn();
    ok(typeof label === 'string' ? label : label(v), performance.now() - t0);
    return v;
  } catch (e) {
    fail(typeof label === 'string' ? `${label}: ${errorMessage(e)}` : errorMessage(e));
    throw new DemoFailure(errorMessage(e));
  }
}

/** An error already reported on screen (the caller should not print it again). */
export class DemoFailure extends Error {}

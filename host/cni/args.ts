// CNI_ARGS ("K1=V1;K2=V2") as the reference reads it (types.LoadArgs): keys are the plugin's Go field
// names, matched case-sensitively; a piece that is not exactly K=V fails; unknown keys fail unless
// IgnoreUnknown is 1/true (any case). Errors are plain Errors (code 999 through skel), worded like the reference.
import { annotate } from '../errors.ts';

/** Parses one value; throw an Error to report it (message is appended to the reference's wording). */
export type ArgParser<T> = (value: string) => T;

export type ParsedArgs<F extends Record<string, ArgParser<unknown>>> = { [K in keyof F]?: ReturnType<F[K]> } & {
  IgnoreUnknown?: boolean;
};

/** The reference's UnmarshallableBool: 1/true → true, 0/false → false (case-insensitive), anything else fails. */
export function parseArgBool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new Error(`boolean unmarshal error: invalid input ${value}`);
}

/** A plain string value (the reference's UnmarshallableString). */
export const argString: ArgParser<string> = (v) => v;

/**
 * Parse CNI_ARGS against the fields a plugin knows, e.g. `parseCniArgs(raw, { IP: parseArgIP })`.
 * `IgnoreUnknown` is always known. Returns only the keys present.
 */
export function parseCniArgs<F extends Record<string, ArgParser<unknown>>>(raw: string, fields: F): ParsedArgs<F> {
  const out: Record<string, unknown> = {};
  if (raw === '') return out as ParsedArgs<F>;
  const known: Record<string, ArgParser<unknown>> = { IgnoreUnknown: parseArgBool, ...fields };
  const unknown: string[] = [];
  for (const pair of raw.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2) throw new Error(`ARGS: invalid pair ${goQuote(pair)}`);
    const [key, value] = kv as [string, string];
    const parse = Object.hasOwn(known, key) ? known[key] : undefined;
    if (!parse) {
      unknown.push(pair);
      continue;
    }
    try {
      out[key] = parse(value);
    } catch (e) {
      throw annotate(e, `ARGS: error parsing value of pair ${goQuote(pair)}`);
    }
  }
  if (unknown.length > 0 && out.IgnoreUnknown !== true) {
    throw new Error(`ARGS: unknown args [${unknown.map(goQuote).join(' ')}]`);
  }
  return out as ParsedArgs<F>;
}

/** The raw pairs in order, without validation (what a runtime stores as cniArgs). Pieces without '=' keep an empty value. */
export function splitCniArgs(raw: string): Array<[string, string]> {
  if (raw === '') return [];
  return raw.split(';').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
  });
}

const goEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's %q for a string (strconv.Quote): printable runes as they are, others as \a-style, \xNN, \uNNNN or \UNNNNNNNN. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const named = goEscapes[ch];
    if (named) out += named;
    else if (ch === ' ' || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    }
  }
  return `${out}"`;
}

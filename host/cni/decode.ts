// Config decoding with the semantics of Go's encoding/json, which real callers rely on:
// object keys match field names case-insensitively (the last matching key wins), unknown keys are ignored,
// null leaves a field unset, and a value of the wrong JSON type is an error
// worded like Go's (`json: cannot unmarshal string into Go struct field IPAMConfig.ipam.routes of type []*types.Route`).
//
// A schema is built from small decoders and gives a typed value:
//   const Route = struct('types.Route', { dst: cidrString, gw: str });
//   const Conf = struct('main.NetConf', { name: str, mtu: int, ipam: struct('allocator.IPAMConfig', { routes: list(Route) }) });
//   const conf = decode(Conf, parsedJson);   // { name?: string; mtu?: number; ipam?: { routes?: {dst?: string; gw?: string}[] } }
// Absent and null fields are `undefined`; defaults belong to the plugin's config.ts.

import { nestingDepthError } from './limits.ts';

/** A decoding failure; `message` is the Go-like text a plugin reports (code 999 unless the caller decides otherwise). */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** Where a value sits: the innermost Go struct and the JSON field path from the root. */
export interface Where {
  struct?: string;
  path: readonly string[];
  /** A number's text as written, when it differs from JavaScript's (`1.0`, `1e3`, `-0`, beyond 2^53). */
  literal?: string;
}

export interface Decoder<T> {
  /** The Go type named in error messages, e.g. `string`, `[]*types.Route`, `map[string]bool`. */
  readonly goType: string;
  /** Decode a non-null JSON value. */
  decode(v: unknown, at: Where): T;
  /** What Go puts in a slice for a JSON null element, where that is a value rather than nil (a struct: its zero
   * value, all fields absent). Without it a null element is left out. */
  readonly zero?: () => T;
}

export type Decoded<D> = D extends Decoder<infer T> ? T : never;

export type StructOf<F extends Record<string, Decoder<unknown>>> = { [K in keyof F]?: Decoded<F[K]> };

/** Go's name for the JSON type of a value, as used in UnmarshalTypeError. */
export function jsonTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** Throws Go's UnmarshalTypeError text for `value` (e.g. "string", "number -1") not fitting goType at `at`. */
export function typeError(value: string, goType: string, at: Where): never {
  if (at.struct !== undefined && at.path.length > 0) {
    throw new DecodeError(
      `json: cannot unmarshal ${value} into Go struct field ${at.struct}.${at.path.join('.')} of type ${goType}`,
    );
  }
  throw new DecodeError(`json: cannot unmarshal ${value} into Go value of type ${goType}`);
}

export function custom<T>(goType: string, fn: (v: unknown, at: Where) => T): Decoder<T> {
  return { goType, decode: fn };
}

export const str: Decoder<string> = custom('string', (v, at) =>
  typeof v === 'string' ? v : typeError(jsonTypeName(v), 'string', at),
);

export const bool: Decoder<boolean> = custom('bool', (v, at) =>
  typeof v === 'boolean' ? v : typeError(jsonTypeName(v), 'bool', at),
);

// Go parses an integer field's literal with strconv.ParseInt/ParseUint: `1.0`, `1e3` and, unsigned, `-0` fail.
function integer(goType: string, min: number, max: number): Decoder<number> {
  return custom(goType, (v, at) => {
    if (typeof v !== 'number') return typeError(jsonTypeName(v), goType, at);
    const lit = at.literal;
    const badText = lit !== undefined && (/[.eE]/.test(lit) || (min === 0 && lit.startsWith('-')));
    if (badText || !Number.isInteger(v) || v < min || v > max) return typeError(`number ${lit ?? v}`, goType, at);
    return v;
  });
}

export const int = integer('int', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
export const int32 = integer('int32', -0x80000000, 0x7fffffff);
export const uint = integer('uint', 0, Number.MAX_SAFE_INTEGER);
export const uint8 = integer('uint8', 0, 0xff);
export const uint16 = integer('uint16', 0, 0xffff);
export const uint32 = integer('uint32', 0, 0xffffffff);
/** uint64 within JavaScript's exact range (JSON numbers above 2^53 are rejected rather than rounded). */
export const uint64 = integer('uint64', 0, Number.MAX_SAFE_INTEGER);

export const float64: Decoder<number> = custom('float64', (v, at) =>
  typeof v === 'number' ? v : typeError(jsonTypeName(v), 'float64', at),
);

/** interface{}: any JSON value, returned as parsed. */
export const any: Decoder<unknown> = custom('interface {}', (v) => v);

/** map[string]interface{}: any JSON object, returned as parsed. */
export const object: Decoder<Record<string, unknown>> = custom('map[string]interface {}', (v, at) =>
  isPlainObject(v) ? v : typeError(jsonTypeName(v), 'map[string]interface {}', at),
);

/** A slice. Null elements are dropped (Go would keep a nil/zero element that the reference then trips over). */
export function list<T>(el: Decoder<T>, goType = `[]${el.goType}`): Decoder<T[]> {
  return custom(goType, (v, at) => {
    if (!Array.isArray(v)) return typeError(jsonTypeName(v), goType, at);
    const out: T[] = [];
    v.forEach((x, i) => {
      if (x !== null) out.push(el.decode(x, withLiteral(at, v, i, x)));
      else if (el.zero) out.push(el.zero());
    });
    return out;
  });
}

export function dict<T>(el: Decoder<T>, goType = `map[string]${el.goType}`): Decoder<Record<string, T>> {
  return custom(goType, (v, at) => {
    if (!isPlainObject(v)) return typeError(jsonTypeName(v), goType, at);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null) continue;
      Object.defineProperty(out, k, {
        value: el.decode(x, withLiteral(at, v, k, x)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  });
}

/** A pointer (`*T`): same value, only the type named in errors changes. */
export function ptr<T>(el: Decoder<T>): Decoder<T> {
  return { goType: `*${el.goType}`, decode: (v, at) => el.decode(v, at) };
}

/**
 * A Go struct. `goType` is the qualified type name (`allocator.IPAMConfig`); field keys are the JSON names
 * (from the Go struct tags). Input keys match them case-insensitively (an exact match picks among fields that
 * differ only in case); when several keys fill one field the last non-null one wins.
 */
export function struct<F extends Record<string, Decoder<unknown>>>(goType: string, fields: F): Decoder<StructOf<F>> {
  const structName = goType.slice(goType.lastIndexOf('.') + 1);
  const names = Object.keys(fields);
  const folded = new Map<string, string>();
  for (const n of names) if (!folded.has(n.toLowerCase())) folded.set(n.toLowerCase(), n);
  const decoder = custom(goType, (v, at) => {
    if (!isPlainObject(v)) return typeError(jsonTypeName(v), goType, at);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) {
      const field = Object.hasOwn(fields, key) ? key : folded.get(key.toLowerCase());
      if (field === undefined) continue;
      if (value === null) continue; // Go leaves the field as it was
      out[field] = fields[field]!.decode(
        value,
        withLiteral({ struct: structName, path: [...at.path, field] }, v, key, value),
      );
    }
    return out as StructOf<F>;
  });
  return { ...decoder, zero: () => ({}) as StructOf<F> };
}

/** Decode an already-parsed JSON value against a schema at the root. */
export function decode<T>(d: Decoder<T>, v: unknown): T | undefined {
  if (v === null || v === undefined) return undefined;
  return d.decode(v, { path: [] });
}

/** Decode a nested value with a known context (for custom decoders that delegate). */
export function decodeAt<T>(d: Decoder<T>, v: unknown, at: Where): T | undefined {
  if (v === null || v === undefined) return undefined;
  return d.decode(v, at);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key of a parsed JSON object found the way Go fills a struct field: case-insensitively, the last non-null occurrence wins. */
export function getField(obj: Record<string, unknown>, name: string): unknown {
  let found: unknown;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower && v !== null) found = v;
  return found;
}

// ---- bytes → JSON value -------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Bytes as Go reads them into a string: invalid UTF-8 becomes U+FFFD, a BOM is kept (and then rejected by the parser). */
export function utf8Text(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/**
 * Parse JSON text; syntax errors are DecodeErrors worded like Go's (`unexpected end of JSON input`,
 * `invalid character 'x' ...`), and so is nesting deeper than Go allows (limits.ts), checked before parsing.
 */
export function parseJson(input: Uint8Array | string): unknown {
  const text = typeof input === 'string' ? input : utf8Text(input);
  const tooDeep = nestingDepthError(text);
  if (tooDeep) throw new DecodeError(tooDeep);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DecodeError(goSyntaxError(text));
  }
  recordNumberLiterals(text, value);
  return value;
}

// ---- number literals as written ------------------------------------------------------------------------------
// JSON.parse turns `1.0` and `1e3` into 1, which Go refuses for an int field and names by its text. For the
// numbers whose text JavaScript would not print back the same, the text is kept beside the parsed holder.

const numberTexts = new WeakMap<object, Map<string | number, string>>();

/** The text of the number at holder[key] when it was not written the way JavaScript prints it. */
export function numberLiteral(holder: object, key: string | number): string | undefined {
  return numberTexts.get(holder)?.get(key);
}

function withLiteral(at: Where, holder: object, key: string | number, value: unknown): Where {
  if (typeof value !== 'number') return at;
  const literal = numberLiteral(holder, key);
  return literal === undefined ? at : { ...at, literal };
}

function isNumberStart(c: number): boolean {
  return c === 0x2d || (c >= 0x30 && c <= 0x39);
}

function isNumberChar(c: number): boolean {
  return isNumberStart(c) || c === 0x2e || c === 0x2b || c === 0x45 || c === 0x65;
}

function unusualNumber(lit: string): boolean {
  return String(Number(lit)) !== lit;
}

/** Index after the string literal starting at `i` (a valid document: JSON.parse accepted it). */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; ; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
}

/** Cheap first pass: whether any number in the document is written unusually. */
function hasUnusualNumber(text: string): boolean {
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if (isNumberStart(c)) {
      let j = i + 1;
      while (j < text.length && isNumberChar(text.charCodeAt(j))) j++;
      if (unusualNumber(text.slice(i, j))) return true;
      i = j;
    } else i++;
  }
  return false;
}

interface Level {
  array: boolean;
  key: string | number;
  expectKey: boolean;
}

function recordNumberLiterals(text: string, root: unknown): void {
  if (root === null || typeof root !== 'object' || !hasUnusualNumber(text)) return;
  // The value at each path as written last (Go and JSON.parse both keep the last of duplicate keys).
  const lastAt = new Map<string, { path: Array<string | number>; literal?: string }>();
  const stack: Level[] = [];
  const note = (literal?: string) => {
    if (stack.length === 0) return;
    const path = stack.map((l) => l.key);
    lastAt.set(JSON.stringify(path), { path, literal });
  };
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22) {
      const end = stringEnd(text, i);
      if (top && !top.array && top.expectKey) {
        top.key = JSON.parse(text.slice(i, end)) as string;
        top.expectKey = false;
      } else note();
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      note();
      stack.push({ array: c === 0x5b, key: 0, expectKey: c === 0x7b });
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i++;
    } else if (c === 0x2c) {
      if (top?.array) top.key = (top.key as number) + 1;
      else if (top) top.expectKey = true;
      i++;
    } else if (isNumberStart(c)) {
      let j = i + 1;
      while (j < text.length && isNumberChar(text.charCodeAt(j))) j++;
      const lit = text.slice(i, j);
      note(unusualNumber(lit) ? lit : undefined);
      i = j;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      note();
      i += c === 0x66 ? 5 : 4;
    } else i++;
  }
  for (const { path, literal } of lastAt.values()) {
    if (literal === undefined) continue;
    let holder: unknown = root;
    for (const k of path.slice(0, -1))
      holder = holder && typeof holder === 'object' ? (holder as Record<string, unknown>)[k] : undefined;
    const key = path[path.length - 1]!;
    if (!holder || typeof holder !== 'object' || (holder as Record<string, unknown>)[key] !== Number(literal)) continue;
    let texts = numberTexts.get(holder);
    if (!texts) {
      texts = new Map();
      numberTexts.set(holder, texts);
    }
    texts.set(key, literal);
  }
}

/** Go's encoding/json scanner message for the first syntax error in `text` (which JSON.parse rejected). */
export function goSyntaxError(text: string): string {
  const s = new GoScanner(text);
  return s.firstError();
}

class GoScanner {
  private i = 0;
  constructor(private readonly t: string) {}

  firstError(): string {
    try {
      this.ws();
      this.value('looking for beginning of value');
      this.ws();
      if (this.i < this.t.length) this.fail('after top-level value');
      return 'unexpected end of JSON input'; // JSON.parse disagreed on something we accept: be generic
    } catch (e) {
      if (e instanceof DecodeError) return e.message;
      throw e;
    }
  }

  private fail(context: string): never {
    if (this.i >= this.t.length) throw new DecodeError('unexpected end of JSON input');
    throw new DecodeError(`invalid character ${quoteChar(this.t[this.i]!)} ${context}`);
  }

  private ws(): void {
    while (this.i < this.t.length && ' \t\r\n'.includes(this.t[this.i]!)) this.i++;
  }

  private value(context: string): void {
    const c = this.t[this.i];
    if (c === '{') this.obj();
    else if (c === '[') this.arr();
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (c === 't') this.literal('true');
    else if (c === 'f') this.literal('false');
    else if (c === 'n') this.literal('null');
    else this.fail(context);
  }

  private literal(word: string): void {
    for (let k = 0; k < word.length; k++, this.i++) {
      if (this.t[this.i] !== word[k]) this.fail(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
  }

  private number(): void {
    if (this.t[this.i] === '-') {
      this.i++;
      if (!isDigit(this.t[this.i])) this.fail('in numeric literal');
    }
    if (this.t[this.i] === '0') this.i++;
    else while (isDigit(this.t[this.i])) this.i++;
    if (this.t[this.i] === '.') {
      this.i++;
      if (!isDigit(this.t[this.i])) this.fail('after decimal point in numeric literal');
      while (isDigit(this.t[this.i])) this.i++;
    }
    if (this.t[this.i] === 'e' || this.t[this.i] === 'E') {
      this.i++;
      if (this.t[this.i] === '+' || this.t[this.i] === '-') this.i++;
      if (!isDigit(this.t[this.i])) this.fail('in exponent of numeric literal');
      while (isDigit(this.t[this.i])) this.i++;
    }
  }

  private string(): void {
    this.i++;
    for (;;) {
      const c = this.t[this.i];
      if (c === undefined) this.fail('in string literal');
      if (c === '"') {
        this.i++;
        return;
      }
      if (c < ' ') this.fail('in string literal');
      if (c === '\\') {
        this.i++;
        const e = this.t[this.i];
        if (e === 'u') {
          this.i++;
          for (let k = 0; k < 4; k++, this.i++)
            if (!/^[0-9a-fA-F]$/.test(this.t[this.i] ?? '')) this.fail('in \\u hexadecimal character escape');
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('in string escape code');
      }
      this.i++;
    }
  }

  private obj(): void {
    this.i++;
    this.ws();
    if (this.t[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      if (this.t[this.i] !== '"') this.fail('looking for beginning of object key string');
      this.string();
      this.ws();
      if (this.t[this.i] !== ':') this.fail('after object key');
      this.i++;
      this.ws();
      this.value('looking for beginning of value');
      this.ws();
      if (this.t[this.i] === ',') {
        this.i++;
        this.ws();
        continue;
      }
      if (this.t[this.i] === '}') {
        this.i++;
        return;
      }
      this.fail('after object key:value pair');
    }
  }

  private arr(): void {
    this.i++;
    this.ws();
    if (this.t[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value('looking for beginning of value');
      this.ws();
      if (this.t[this.i] === ',') {
        this.i++;
        this.ws();
        continue;
      }
      if (this.t[this.i] === ']') {
        this.i++;
        return;
      }
      this.fail('after array element');
    }
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Go's quoteChar for the offending byte: `'x'`, quotes special-cased, control bytes escaped, non-ASCII as its first UTF-8 byte. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  let code = c.charCodeAt(0);
  if (code > 0x7f) code = Buffer.from(c)[0]!; // Go scans bytes, and prints the byte as a Latin-1 rune
  const named: Record<number, string> = {
    7: '\\a',
    8: '\\b',
    9: '\\t',
    10: '\\n',
    11: '\\v',
    12: '\\f',
    13: '\\r',
    92: '\\\\',
  };
  if (named[code]) return `'${named[code]}'`;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  if (code >= 0x80 && code < 0xa0) return `'\\u00${code.toString(16)}'`;
  return `'${String.fromCharCode(code)}'`;
}

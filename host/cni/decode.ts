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
}

export interface Decoder<T> {
  /** The Go type named in error messages, e.g. `string`, `[]*types.Route`, `map[string]bool`. */
  readonly goType: string;
  /** Decode a non-null JSON value. */
  decode(v: unknown, at: Where): T;
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

function integer(goType: string, min: number, max: number): Decoder<number> {
  return custom(goType, (v, at) => {
    if (typeof v !== 'number') return typeError(jsonTypeName(v), goType, at);
    if (!Number.isInteger(v) || v < min || v > max) return typeError(`number ${v}`, goType, at);
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
    for (const x of v) if (x !== null) out.push(el.decode(x, at));
    return out;
  });
}

export function dict<T>(el: Decoder<T>, goType = `map[string]${el.goType}`): Decoder<Record<string, T>> {
  return custom(goType, (v, at) => {
    if (!isPlainObject(v)) return typeError(jsonTypeName(v), goType, at);
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null) continue;
      Object.defineProperty(out, k, { value: el.decode(x, at), enumerable: true, writable: true, configurable: true });
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
  return custom(goType, (v, at) => {
    if (!isPlainObject(v)) return typeError(jsonTypeName(v), goType, at);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) {
      const field = Object.hasOwn(fields, key) ? key : folded.get(key.toLowerCase());
      if (field === undefined) continue;
      if (value === null) continue; // Go leaves the field as it was
      out[field] = fields[field]!.decode(value, { struct: structName, path: [...at.path, field] });
    }
    return out as StructOf<F>;
  });
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

/** Parse JSON text; syntax errors are DecodeErrors worded like Go's (`unexpected end of JSON input`, `invalid character 'x' ...`). */
export function parseJson(input: Uint8Array | string): unknown {
  const text = typeof input === 'string' ? input : utf8Text(input);
  try {
    return JSON.parse(text);
  } catch {
    throw new DecodeError(goSyntaxError(text));
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

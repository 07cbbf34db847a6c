// A small YAML reader for the subset our deploy/ manifests use: block mappings and sequences by indentation,
// one-line flow collections ({ a: b }, [a, "b"]), plain, single- and double-quoted scalars, comments. Anything
// else (anchors, multi-line scalars, several documents, tags) is an error, not a guess.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function stripComment(s: string): string {
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

function lines(src: string): Line[] {
  const out: Line[] = [];
  src.split('\n').forEach((raw, i) => {
    const text = stripComment(raw).replace(/\s+$/, '');
    if (!text.trim()) return;
    if (/^\t/.test(text)) throw new Error(`yaml line ${i + 1}: tab indentation`);
    if (text.trim() === '---' || text.trim() === '...') throw new Error(`yaml line ${i + 1}: one document only`);
    out.push({ indent: text.length - text.trimStart().length, text: text.trim(), no: i + 1 });
  });
  return out;
}

function plainScalar(s: string): YamlValue {
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^[&*!|>]/.test(s)) throw new Error(`unsupported yaml: ${s}`);
  return s;
}

/** Reads one flow or scalar value from `s` at `pos`; `stops` end a plain scalar (inside flow collections). */
function flowValue(s: string, pos: { i: number }, stops: string): YamlValue {
  const skip = () => {
    while (pos.i < s.length && s[pos.i] === ' ') pos.i++;
  };
  skip();
  const c = s[pos.i];
  if (c === '{' || c === '[') {
    const close = c === '{' ? '}' : ']';
    pos.i++;
    const map: Record<string, YamlValue> = {};
    const seq: YamlValue[] = [];
    for (;;) {
      skip();
      if (s[pos.i] === close) {
        pos.i++;
        return c === '{' ? map : seq;
      }
      if (c === '{') {
        const key = flowValue(s, pos, ':,}');
        skip();
        if (s[pos.i] !== ':') throw new Error(`yaml flow mapping: expected ':' in ${s}`);
        pos.i++;
        map[String(key)] = flowValue(s, pos, ',}');
      } else seq.push(flowValue(s, pos, ',]'));
      skip();
      if (s[pos.i] === ',') pos.i++;
      else if (s[pos.i] !== close) throw new Error(`yaml flow collection not closed on its line: ${s}`);
    }
  }
  if (c === '"') {
    const end = /^"(?:[^"\\]|\\.)*"/.exec(s.slice(pos.i));
    if (!end) throw new Error(`yaml: unterminated string in ${s}`);
    pos.i += end[0].length;
    return JSON.parse(end[0]) as string;
  }
  if (c === "'") {
    const end = /^'(?:[^']|'')*'/.exec(s.slice(pos.i));
    if (!end) throw new Error(`yaml: unterminated string in ${s}`);
    pos.i += end[0].length;
    return end[0].slice(1, -1).replace(/''/g, "'");
  }
  let j = pos.i;
  // In a flow collection ':' ends a key only when followed by a space (URLs and "a:b" stay whole).
  while (j < s.length && !(stops.includes(s[j]!) && (s[j] !== ':' || s[j + 1] === ' ' || j + 1 === s.length))) j++;
  const text = s.slice(pos.i, j).trim();
  pos.i = j;
  return plainScalar(text);
}

function inlineValue(s: string, no: number): YamlValue {
  const pos = { i: 0 };
  const v = flowValue(s, pos, '');
  if (s.slice(pos.i).trim()) throw new Error(`yaml line ${no}: unexpected text after value: ${s}`);
  return v;
}

/** `key: rest` → [key, rest]; null when the line is not a mapping entry. */
function splitKey(text: string): [string, string] | null {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'{[][^:]*?)\s*:(?:\s+(.*))?$/.exec(text);
  if (!m) return null;
  const key = m[1]!.startsWith('"') || m[1]!.startsWith("'") ? String(inlineValue(m[1]!, 0)) : m[1]!;
  return [key, m[2] ?? ''];
}

class Reader {
  i = 0;
  constructor(private readonly ls: Line[]) {}

  block(indent: number): YamlValue {
    const first = this.ls[this.i];
    if (!first || first.indent < indent) return null;
    return first.text === '-' || first.text.startsWith('- ') ? this.sequence(first.indent) : this.mapping(first.indent);
  }

  private sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (this.i < this.ls.length) {
      const l = this.ls[this.i]!;
      if (l.indent > indent) throw new Error(`yaml line ${l.no}: expected a sequence item`);
      // A less indented line, or a key at the sequence's own column ("key:\n- a\nnext: b"), ends it.
      if (l.indent < indent || !(l.text === '-' || l.text.startsWith('- '))) break;
      const rest = l.text.slice(1).trimStart();
      if (!rest) {
        this.i++;
        out.push(this.block(indent + 1));
      } else if (splitKey(rest) && !/^[{["']/.test(rest)) {
        // "- key: value" starts a mapping whose further keys sit under the key's column.
        const col = indent + (l.text.length - rest.length);
        this.ls[this.i] = { indent: col, text: rest, no: l.no };
        out.push(this.mapping(col));
      } else {
        this.i++;
        out.push(inlineValue(rest, l.no));
      }
    }
    return out;
  }

  private mapping(indent: number): Record<string, YamlValue> {
    const out: Record<string, YamlValue> = {};
    while (this.i < this.ls.length) {
      const l = this.ls[this.i]!;
      if (l.indent < indent) break;
      if (l.indent > indent) throw new Error(`yaml line ${l.no}: unexpected indentation`);
      const kv = splitKey(l.text);
      if (!kv) throw new Error(`yaml line ${l.no}: expected "key: value"`);
      const [key, rest] = kv;
      if (key in out) throw new Error(`yaml line ${l.no}: duplicate key ${key}`);
      this.i++;
      if (rest) out[key] = inlineValue(rest, l.no);
      else {
        const next = this.ls[this.i];
        // A sequence may sit at its key's own indentation ("key:\n- a").
        const seqHere = next && next.indent === indent && (next.text === '-' || next.text.startsWith('- '));
        out[key] = seqHere ? this.block(indent) : this.block(indent + 1);
      }
    }
    return out;
  }
}

export function parseYaml(src: string): YamlValue {
  const ls = lines(src);
  const r = new Reader(ls);
  const v = r.block(0);
  if (r.i < ls.length) throw new Error(`yaml line ${ls[r.i]!.no}: unexpected indentation`);
  return v;
}

// Generated names and comments, computed exactly as the reference does (pkg/utils in containernetworking/plugins).
import { createHash } from 'node:crypto';

const MAX_CHAIN_LENGTH = 28;

/** `(prefix + lowercase hex SHA-512(toHash))` cut to `length` characters. */
export function hashWithPrefix(length: number, prefix: string, toHash: string): string {
  if (prefix.length >= length || length > 128) throw new Error('invalid length');
  return (prefix + createHash('sha512').update(toHash, 'utf8').digest('hex')).slice(0, length);
}

/** `CNI-<prefix><hash of network+containerID>`, 28 characters: ipMasq uses prefix "", portmap "DN-". */
export function chainName(network: string, containerId: string, prefix = ''): string {
  return hashWithPrefix(MAX_CHAIN_LENGTH, `CNI-${prefix}`, network + containerId);
}

/** The ipMasq rule comment: `name: "<network>" id: "<containerID>"` with Go's %q quoting. */
export function ipMasqComment(network: string, containerId: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerId)}`;
}

/** Go's strconv.Quote for the strings we meet (escapes quotes, backslashes and control characters). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

// The little address arithmetic the rule builders need: parse `ip/prefix`, canonical text (as Go prints it),
// and the network address. (CIDR math proper lives in host/core; this is just enough to write rules.)
import { isIPv4, isIPv6 } from 'node:net';

export interface IpNet {
  family: 4 | 6;
  /** Canonical text of the address, e.g. "10.1.2.3", "2001:db8::2". */
  ip: string;
  prefix: number;
  /** Canonical text of the network address, e.g. "10.1.2.0". */
  network: string;
}

/** Parses "a/p" (or a bare address, taken as a host route). Throws on malformed input. */
export function parseIpNet(text: string): IpNet {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) throw new Error(`invalid IP address: ${text}`);
  const bits = v4 ? 32 : 128;
  const prefix = slash < 0 ? bits : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) {
    throw new Error(`invalid CIDR address: ${text}`);
  }
  const value = v4 ? v4ToBig(addr) : v6ToBig(addr);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  const fmt = v4 ? bigToV4 : bigToV6;
  return { family: v4 ? 4 : 6, ip: fmt(value), prefix, network: fmt(value & mask) };
}

/** `ip/prefix` as Go's IPNet.String() prints an unmasked address (e.g. "10.1.2.3/24"). */
export const ipNetText = (n: IpNet): string => `${n.ip}/${n.prefix}`;
/** The network in CIDR form (e.g. "10.1.2.0/24"). */
export const networkText = (n: IpNet): string => `${n.network}/${n.prefix}`;

export function isUnspecified(ip: string): boolean {
  try { return parseIpNet(ip).ip === (isIPv4(ip) ? '0.0.0.0' : '::'); } catch { return false; }
}

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function bigToV4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
}

function v6ToBig(a: string): bigint {
  let text = a;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) { // embedded IPv4
    const v4 = Number(v4ToBig(text.slice(lastColon + 1)));
    tail.push((v4 >>> 16) & 0xffff, v4 & 0xffff);
    text = text.slice(0, lastColon + 1) + (text.endsWith('::' + text.slice(lastColon + 1)) ? '' : '0');
    if (text.endsWith(':0')) text = text.slice(0, -2);
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const h = head ? head.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const r = rest ? rest.split(':').filter((x) => x !== '').map((x) => parseInt(x, 16)) : [];
  const fill = 8 - h.length - r.length - tail.length;
  const groups = rest === undefined ? [...h, ...tail] : [...h, ...new Array(Math.max(fill, 0)).fill(0), ...r, ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function bigToV6(v: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // IPv4-mapped addresses print as Go does: ::ffff:a.b.c.d
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return '::ffff:' + bigToV4(v & 0xffffffffn);
  }
  let best = -1; let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i; while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

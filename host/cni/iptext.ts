// IP and CIDR strings in results, validated and printed the way Go's net package prints them
// (IPv6 lower-case and zero-compressed, IPv4-mapped IPv6 printed dotted). Only what result parsing needs;
// address arithmetic lives in host/core.
import { isIPv4, isIPv6 } from 'node:net';

export interface IPText {
  /** 4 for IPv4 and IPv4-mapped IPv6 (Go's To4() != nil), else 6. */
  family: 4 | 6;
  text: string;
}

/** Parse an IP address literal; undefined when invalid (zones and leading-zero IPv4 octets are invalid, like Go). */
export function parseIP(s: string): IPText | undefined {
  if (isIPv4(s)) return { family: 4, text: s };
  if (s.includes('%') || !isIPv6(s)) return undefined;
  const groups = ipv6Groups(s);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return { family: 4, text: `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}` };
  }
  return { family: 6, text: formatIPv6(groups) };
}

/** Parse "ip/prefix" (host bits kept); undefined when invalid. */
export function parseCIDR(s: string): (IPText & { prefix: number }) | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ipPart = s.slice(0, slash);
  const prefixPart = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixPart)) return undefined;
  const prefix = Number(prefixPart);
  const v4 = isIPv4(ipPart);
  if (prefix > (v4 ? 32 : 128)) return undefined;
  const ip = parseIP(ipPart);
  if (!ip) return undefined;
  // An IPv4-mapped address written in IPv6 form keeps its 128-bit mask; Go prints the mask relative to 32 bits.
  if (!v4 && ip.family === 4) {
    if (prefix < 96) return { family: 6, text: `${formatIPv6(ipv6Groups(ipPart))}/${prefix}`, prefix };
    return { family: 4, text: `${ip.text}/${prefix - 96}`, prefix: prefix - 96 };
  }
  return { ...ip, text: `${ip.text}/${prefix}`, prefix };
}

function ipv6Groups(s: string): number[] {
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const o = last.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const parse = (part: string): number[] => (part ? part.split(':').map((x) => parseInt(x, 16)) : []);
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const tail = parse(text.slice(gap + 2));
  return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
}

function formatIPv6(g: number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

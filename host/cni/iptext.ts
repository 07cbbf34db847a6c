// IP and CIDR text as the CNI types print them (Go's net.IP and types.IPNet String()). host/core parses and
// prints; this adds only Go's printing rule for IPv4-mapped IPv6: the address prints as IPv4 and the mask
// as its last 32 bits (`::ffff:1.2.3.4/120` -> `1.2.3.4/24`, `/64` -> `1.2.3.4/0`).
import { Cidr, tryParseIP } from '../core/index.ts';

export interface IPText {
  /** 4 for IPv4 and IPv4-mapped IPv6 (Go's To4() != nil), else 6. */
  family: 4 | 6;
  text: string;
}

/** Parse an IP address literal; undefined when invalid (zones and leading-zero IPv4 octets are invalid, like Go). */
export function parseIP(s: string): IPText | undefined {
  const ip = tryParseIP(s);
  if (!ip) return undefined;
  return ip.family === 6 && isMapped(ip.text) ? { family: 4, text: ip.text.slice(MAPPED.length) } : ip;
}

/** Parse "ip/prefix" (Go net.ParseCIDR; host bits kept); undefined when invalid. */
export function parseCIDR(s: string): (IPText & { prefix: number }) | undefined {
  const c = Cidr.tryParse(s);
  if (!c) return undefined;
  const ip = c.ip;
  if (c.family === 6 && isMapped(ip)) {
    const prefix = Math.max(c.prefix - 96, 0);
    return { family: 4, text: `${ip.slice(MAPPED.length)}/${prefix}`, prefix };
  }
  return { family: c.family, text: `${ip}/${c.prefix}`, prefix: c.prefix };
}

/** host/core prints IPv4-mapped addresses, and only those, as `::ffff:a.b.c.d`. */
const MAPPED = '::ffff:';
const isMapped = (canonical: string): boolean => canonical.startsWith(MAPPED) && canonical.includes('.');

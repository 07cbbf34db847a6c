// The address parts the rule builders write: `ip/prefix` as written, the network, canonical text as Go
// prints it (IPv4-mapped IPv6 stays `::ffff:a.b.c.d`). Parsing and the arithmetic are host/core's.
import { Cidr, isIP, tryParseIP } from '../core/index.ts';

export interface IpNet {
  family: 4 | 6;
  /** Canonical text of the address, e.g. "10.1.2.3", "2001:db8::2". */
  ip: string;
  prefix: number;
  /** Canonical text of the network address, e.g. "10.1.2.0". */
  network: string;
}

/**
 * Parses "a/p" (or a bare address, taken as a host route). Throws `invalid IP address: <text>` when the
 * address is malformed, `invalid CIDR address: <text>` when only the prefix is.
 */
export function parseIpNet(text: string): IpNet {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ip = tryParseIP(text);
    if (!ip) throw new Error(`invalid IP address: ${text}`);
    return { family: ip.family, ip: ip.text, prefix: ip.family === 4 ? 32 : 128, network: ip.text };
  }
  const c = Cidr.tryParse(text);
  if (!c) throw new Error(`${isIP(text.slice(0, slash)) ? 'invalid CIDR address' : 'invalid IP address'}: ${text}`);
  return { family: c.family, ip: c.ip, prefix: c.prefix, network: c.network };
}

/** `ip/prefix` as Go's IPNet.String() prints an unmasked address (e.g. "10.1.2.3/24"). */
export const ipNetText = (n: IpNet): string => `${n.ip}/${n.prefix}`;
/** The network in CIDR form (e.g. "10.1.2.0/24"). */
export const networkText = (n: IpNet): string => `${n.network}/${n.prefix}`;

/**
 * 0.0.0.0 or :: (portmap's "any host address"). Kept as portmap has always read it: a CIDR whose address is
 * `::` counts too, an IPv4 CIDR never (Go's net.ParseIP would reject both).
 */
export function isUnspecified(ip: string): boolean {
  let n: IpNet;
  try {
    n = parseIpNet(ip);
  } catch {
    return false;
  }
  return n.family === 4 ? n.ip === '0.0.0.0' && !ip.includes('/') : n.ip === '::';
}

// IP addresses and prefixes to and from their wire bytes (network order) and canonical text
// (host/core does the parsing and RFC 5952 printing).
import { familyOf, formatIP, ipToBytes as coreIpToBytes, tryParseIP } from '../../core/index.ts';
import { AF_INET, AF_INET6 } from './constants.ts';

export interface IpPrefix {
  ip: Buffer;
  prefixLen: number;
  family: number;
}

/** AF_INET or AF_INET6 for an address; text that is not one is an error. */
export function addressFamily(ip: string): number {
  if (!tryParseIP(ip)) throw new Error(`invalid IP address "${ip}"`);
  return familyOf(ip) === 4 ? AF_INET : AF_INET6;
}

/** Wire bytes of an address (4 for IPv4, 16 for IPv6) — the one parser is host/core. */
export function ipToBytes(ip: string): Buffer {
  if (!tryParseIP(ip)) throw new Error(`invalid IP address "${ip}"`);
  return Buffer.from(coreIpToBytes(ip));
}

export function bytesToIp(b: Buffer): string {
  if (b.length !== 4 && b.length !== 16) throw new Error(`bad address length ${b.length}`);
  return formatIP(b);
}

/** "10.1.2.3/24" or "fd00::1/64"; a bare address gets the full prefix length. */
export function parsePrefix(cidr: string): IpPrefix {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = addressFamily(addr);
  const max = family === AF_INET ? 32 : 128;
  const prefixLen = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (
    !Number.isInteger(prefixLen) ||
    prefixLen < 0 ||
    prefixLen > max ||
    (slash >= 0 && !/^\d+$/.test(cidr.slice(slash + 1)))
  ) {
    throw new Error(`invalid CIDR address: ${cidr}`);
  }
  return { ip: ipToBytes(addr), prefixLen, family };
}

/** The network part of a prefix (host bits cleared). */
export function maskPrefix(p: IpPrefix): IpPrefix {
  const ip = Buffer.from(p.ip);
  for (let bit = p.prefixLen; bit < ip.length * 8; bit++) ip[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { ...p, ip };
}

export function formatPrefix(p: IpPrefix): string {
  return `${bytesToIp(p.ip)}/${p.prefixLen}`;
}

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`invalid MAC address "${mac}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

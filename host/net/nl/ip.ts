// IP addresses and prefixes to and from their wire bytes (network order) and canonical text
// (dotted quad; RFC 5952 for IPv6: lower case, longest zero run compressed).
import { isIPv4, isIPv6 } from 'node:net';
import { AF_INET, AF_INET6 } from './constants.ts';

export interface IpPrefix { ip: Buffer; prefixLen: number; family: number; }

export function familyOf(ip: string): number {
  if (isIPv4(ip)) return AF_INET;
  if (isIPv6(ip)) return AF_INET6;
  throw new Error(`invalid IP address "${ip}"`);
}

export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`invalid IP address "${ip}"`);
  let text = ip;
  const out = Buffer.alloc(16);
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, v4.index) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const words = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  words.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16), i * 2));
  return out;
}

export function bytesToIp(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new Error(`bad address length ${b.length}`);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestAt = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestAt < 0) return hex.join(':');
  return hex.slice(0, bestAt).join(':') + '::' + hex.slice(bestAt + bestLen).join(':');
}

/** "10.1.2.3/24" or "fd00::1/64"; a bare address gets the full prefix length. */
export function parsePrefix(cidr: string): IpPrefix {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = familyOf(addr);
  const max = family === AF_INET ? 32 : 128;
  const prefixLen = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max || (slash >= 0 && !/^\d+$/.test(cidr.slice(slash + 1)))) {
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
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`invalid MAC address "${mac}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function bytesToMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

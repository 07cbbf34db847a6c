// Building rules the way nft 1.0.6 compiles the same text, so that a rule made here and the same rule made with
// `nft -f` are the same expressions (the differential tests compare them byte for byte):
//   ip/ip6 address: payload load + cmp; a prefix loads prefix/8 bytes when byte-aligned, else the whole address
//     through a bitwise mask; /0 is masked too. In an inet table the first one adds `meta nfproto`.
//   <proto> dport: `meta l4proto` then a 2-byte load at transport header + 2.
//   iifname "x": the name NUL-padded to 16 bytes; oifname "x*": the prefix only.
import { ipToBytes } from '../../core/index.ts';
import { NFT_REG_1, NFT_REG_2, NFT_REG_VERDICT, type NftFamily, type VerdictKind } from './constants.ts';
import type { Expr } from './expr/index.ts';
import { FIB_F_DADDR, RTN_LOCAL } from './expr/fib.ts';
import { NAT_RANGE_PROTO_SPECIFIED } from './expr/nat.ts';
import type { Rule } from './rule.ts';

const IFNAMSIZ = 16;
const L4PROTO: Record<string, number> = { tcp: 6, udp: 17, dccp: 33, sctp: 132, udplite: 136 };
const NFPROTO_IPV4 = 2;
const NFPROTO_IPV6 = 10;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

export type AddrDir = 'saddr' | 'daddr';

export class RuleBuilder {
  private readonly exprs: Expr[] = [];
  private readonly words: string[] = [];
  private l3Known = false;
  private note?: string;

  constructor(
    readonly family: NftFamily,
    readonly table: string,
    readonly chain: string,
  ) {
    if (family === 'ip' || family === 'ip6') this.l3Known = true;
  }

  /** `ip saddr 10.1.2.3`, `ip6 daddr != fd00::/64`: address text with an optional prefix. `==` is only shown. */
  addr(dir: AddrDir, cidr: string, op: 'eq' | 'neq' = 'eq', showEq = false): this {
    const slash = cidr.indexOf('/');
    const bytes = Buffer.from(ipToBytes(slash < 0 ? cidr : cidr.slice(0, slash)));
    const v6 = bytes.length === 16;
    const prefix = slash < 0 ? bytes.length * 8 : Number(cidr.slice(slash + 1));
    this.l3Dependency(v6);
    const offset = v6 ? (dir === 'saddr' ? 8 : 24) : dir === 'saddr' ? 12 : 16;
    const full = bytes.length;
    if (prefix === full * 8) {
      this.load('network', offset, full).cmp(op, bytes);
    } else if (prefix > 0 && prefix % 8 === 0) {
      this.load('network', offset, prefix / 8).cmp(op, bytes.subarray(0, prefix / 8));
    } else {
      const mask = prefixMask(full, prefix);
      const net = Buffer.from(bytes.map((b, i) => b & mask[i]!));
      this.load('network', offset, full);
      this.exprs.push({ type: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: full, mask, xor: Buffer.alloc(full) });
      this.cmp(op, net);
    }
    this.words.push(`${v6 ? 'ip6' : 'ip'} ${dir} ${op === 'neq' ? '!= ' : showEq ? '== ' : ''}${cidr}`);
    return this;
  }

  /** `tcp dport 8080` (tcp, udp, sctp, dccp, udplite). */
  dport(proto: string, port: number): this {
    const p = L4PROTO[proto];
    if (p === undefined) throw new Error(`unsupported protocol "${proto}"`);
    this.meta('l4proto').cmp('eq', Uint8Array.of(p));
    this.load('transport', 2, 2).cmp('eq', be16(port));
    this.words.push(`${proto} dport ${port}`);
    return this;
  }

  /** `fib daddr type local` */
  fibDaddrLocal(): this {
    this.exprs.push({ type: 'fib', dreg: NFT_REG_1, result: 'addrtype', flags: FIB_F_DADDR });
    const v = Buffer.alloc(4);
    v.writeUInt32LE(RTN_LOCAL);
    this.cmp('eq', v);
    this.words.push('fib daddr type local');
    return this;
  }

  /** `iifname "veth0"`: the name NUL-padded to IFNAMSIZ. */
  iifname(name: string, op: 'eq' | 'neq' = 'eq'): this {
    return this.ifname('iifname', name, op);
  }

  /** `oifname "veth*"`: a trailing `*` matches the prefix only. */
  oifnamePrefix(prefix: string): this {
    return this.ifname('oifname', `${prefix}*`, 'eq');
  }

  /** `iifname|oifname [!=] "<name>"`, with nft's wildcard: a trailing `*` compares the prefix only. */
  ifname(key: 'iifname' | 'oifname', name: string, op: 'eq' | 'neq' = 'eq'): this {
    let v: Buffer;
    if (name.endsWith('*')) v = Buffer.from(name.slice(0, -1));
    else {
      v = Buffer.alloc(IFNAMSIZ);
      v.write(name, 'utf8');
    }
    this.meta(key).cmp(op, v);
    this.words.push(`${key} ${op === 'neq' ? '!= ' : ''}"${name}"`);
    return this;
  }

  /** `ether saddr <mac>` */
  etherSaddr(mac: string): this {
    this.load('ll', 6, 6).cmp('eq', macBytes(mac));
    this.words.push(`ether saddr ${mac}`);
    return this;
  }

  /** `ether type ip|ip6 ether saddr <mac>`: nft merges the two adjacent loads into one of 8 bytes. */
  etherTypeAndSaddr(type: 'ip' | 'ip6', mac: string): this {
    this.load('ll', 6, 8).cmp('eq', Buffer.concat([macBytes(mac), be16(type === 'ip' ? ETH_P_IP : ETH_P_IPV6)]));
    this.l3Known = true;
    this.words.push(`ether type ${type} ether saddr ${mac}`);
    return this;
  }

  counter(): this {
    this.exprs.push({ type: 'counter' });
    this.words.push('counter');
    return this;
  }

  verdict(kind: VerdictKind, chain?: string): this {
    this.exprs.push({
      type: 'immediate',
      dreg: NFT_REG_VERDICT,
      verdict: chain === undefined ? { kind } : { kind, chain },
    });
    this.words.push(chain === undefined ? kind : `${kind} ${chain}`);
    return this;
  }

  /** `dnat to <ip>:<port>` (`[ip6]:port` for IPv6) */
  dnat(ip: string, port: number): this {
    const addr = Buffer.from(ipToBytes(ip));
    const v6 = addr.length === 16;
    this.exprs.push({ type: 'immediate', dreg: NFT_REG_1, data: addr });
    this.exprs.push({ type: 'immediate', dreg: NFT_REG_2, data: be16(port) });
    this.exprs.push({
      type: 'nat',
      nat: 'dnat',
      family: v6 ? 'ip6' : 'ip',
      addrMin: NFT_REG_1,
      protoMin: NFT_REG_2,
      flags: NAT_RANGE_PROTO_SPECIFIED,
    });
    this.words.push(`dnat to ${v6 ? `[${ip}]` : ip}:${port}`);
    return this;
  }

  masquerade(): this {
    this.exprs.push({ type: 'masq' });
    this.words.push('masquerade');
    return this;
  }

  comment(c: string): this {
    this.note = c;
    return this;
  }

  build(): Rule {
    const r: Rule = {
      family: this.family,
      table: this.table,
      chain: this.chain,
      exprs: [...this.exprs],
      text: this.words.join(' '),
    };
    if (this.note !== undefined) r.comment = this.note;
    return r;
  }

  private l3Dependency(v6: boolean): void {
    if (this.l3Known) return;
    if (this.family === 'inet') this.meta('nfproto').cmp('eq', Uint8Array.of(v6 ? NFPROTO_IPV6 : NFPROTO_IPV4));
    else if (this.family === 'bridge') this.load('ll', 12, 2).cmp('eq', be16(v6 ? ETH_P_IPV6 : ETH_P_IP));
    this.l3Known = true;
  }

  private load(base: 'll' | 'network' | 'transport', offset: number, len: number): this {
    this.exprs.push({ type: 'payload', dreg: NFT_REG_1, base, offset, len });
    return this;
  }

  private meta(key: 'iifname' | 'oifname' | 'nfproto' | 'l4proto'): this {
    this.exprs.push({ type: 'meta', key, dreg: NFT_REG_1 });
    return this;
  }

  private cmp(op: 'eq' | 'neq', data: Uint8Array): this {
    this.exprs.push({ type: 'cmp', sreg: NFT_REG_1, op, data: Buffer.from(data) });
    return this;
  }
}

export const rule = (family: NftFamily, table: string, chain: string): RuleBuilder =>
  new RuleBuilder(family, table, chain);

function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function prefixMask(len: number, prefix: number): Buffer {
  const m = Buffer.alloc(len);
  for (let i = 0; i < len; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    m[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p)))
    throw new Error(`invalid MAC address: ${mac}`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

// The iptables chain model of portmap, apart from any backend I/O: which chains and rules a pod needs, with the
// reference's exact argument lists (so `iptables-save` prints the same text for the same pod).
import { ipNetText, type IpNet } from '../../firewall/addr.ts';
import type { Rule } from '../../firewall/iptables.ts';
import { chainName } from '../../firewall/names.ts';
import { mappingDestination, type PortMapConfig, type PortMapEntry } from './config.ts';

export const TOP_LEVEL_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const SET_MARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const MARK_MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';

export interface Chain {
  name: string;
  /** The chains holding the rules that jump here. */
  entryChains: string[];
  /** The jump rules without the trailing `-j <name>`. */
  entryRules: Rule[];
  rules: Rule[];
  /** Insert the entry rules at position 1 instead of appending. */
  prependEntry: boolean;
}

/** `CNI-DN-` + 21 hex of SHA-512(network + containerID). */
export const dnatChainName = (network: string, containerId: string): string => chainName(network, containerId, 'DN-');

const markDef = (bit: number): string => {
  const v = `0x${(2 ** bit).toString(16)}`;
  return `${v}/${v}`;
};

export function setMarkChain(markBit: number): Chain {
  return {
    name: SET_MARK_CHAIN,
    entryChains: [],
    entryRules: [],
    prependEntry: false,
    rules: [
      ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', markDef(markBit)],
    ],
  };
}

export function markMasqChain(markBit: number): Chain {
  return {
    name: MARK_MASQ_CHAIN,
    entryChains: ['POSTROUTING'],
    prependEntry: true,
    // prepended so that the bridge/ptp masquerade rules cannot stomp on it
    entryRules: [['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade']],
    rules: [['-m', 'mark', '--mark', markDef(markBit), '-j', 'MASQUERADE']],
  };
}

export function topLevelDnatChain(): Chain {
  return {
    name: TOP_LEVEL_DNAT_CHAIN,
    entryChains: ['PREROUTING', 'OUTPUT'],
    prependEntry: false,
    rules: [],
    entryRules: [['-m', 'addrtype', '--dst-type', 'LOCAL']],
  };
}

/** The comment of the entry rules, cut to iptables' 255 characters as the reference does. */
export function dnatComment(network: string, containerId: string): string {
  const c = `dnat name: "${network}" id: "${containerId}"`;
  return c.length <= 255 ? c : `${c.slice(0, 253)}...`;
}

/** The per-pod chain for one address family, with its entry rules in CNI-HOSTPORT-DNAT. */
export function dnatChain(conf: PortMapConfig, containerId: string, cont: IpNet | undefined): Chain {
  const c: Chain = {
    name: dnatChainName(conf.network, containerId),
    entryChains: [TOP_LEVEL_DNAT_CHAIN],
    entryRules: [],
    rules: [],
    prependEntry: false,
  };
  if (!cont) return c;
  const isV6 = cont.family === 6;
  const comment = dnatComment(conf.network, containerId);
  const setMark = conf.externalSetMarkChain ?? SET_MARK_CHAIN;
  const conditions = (isV6 ? conf.conditionsV6 : conf.conditionsV4) ?? [];

  // entry rules: one per protocol (sorted) and per chunk of 15 host ports, all mappings of that protocol
  const byProto = new Map<string, number[]>();
  for (const e of conf.portMappings) {
    const ports = byProto.get(e.protocol) ?? [];
    ports.push(e.hostPort);
    byProto.set(e.protocol, ports);
  }
  for (const proto of [...byProto.keys()].sort(byteOrder)) {
    for (const chunk of chunks(byProto.get(proto)!, 15)) {
      c.entryRules.push([
        '-m',
        'comment',
        '--comment',
        comment,
        '-m',
        'multiport',
        '-p',
        proto,
        '--destination-ports',
        chunk.join(','),
        ...conditions,
      ]);
    }
  }

  // per mapping: mark hairpin, mark localhost (v4), DNAT — the mark rules must come first
  for (const e of conf.portMappings) {
    const base = ruleBase(e, isV6);
    if (!base) continue;
    if (conf.snat) {
      const masqSrc = conf.masqAll ? (isV6 ? '::/0' : '0.0.0.0/0') : ipNetText(cont);
      c.rules.push([...base, '-s', masqSrc, '-j', setMark]);
      if (!isV6 && !conf.masqAll) c.rules.push([...base, '-s', '127.0.0.1', '-j', setMark]);
    }
    c.rules.push([
      ...base,
      '-j',
      'DNAT',
      '--to-destination',
      isV6 ? `[${cont.ip}]:${e.containerPort}` : `${cont.ip}:${e.containerPort}`,
    ]);
  }
  return c;
}

/** `-p <proto> --dport <port> [-d <hostIP>]`, or null when the mapping's hostIP is of the other family. */
function ruleBase(e: PortMapEntry, isV6: boolean): string[] | null {
  const dest = mappingDestination(e, isV6 ? 6 : 4);
  if (dest === null) return null;
  const base = ['-p', e.protocol, '--dport', String(e.hostPort)];
  if (dest !== '') base.push('-d', dest);
  return base;
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Go's sort.Strings order (bytewise). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

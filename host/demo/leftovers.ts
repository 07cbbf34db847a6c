// What the demo leaves on the node, judged against a baseline taken before it started: network namespaces,
// links, nat rules and chains, and its state directory. Only things that are new *and* the demo's (by name,
// pod CIDR or container id) count, so other workloads on the node are never reported nor touched.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { runCmd } from './proc.ts';

export interface DemoFootprint {
  netnsPrefix: string;
  bridge: string;
  /** e.g. "10.200.130." — nat rules mentioning the pod CIDR's addresses are the demo's. */
  podAddressPrefix: string;
  podCidr: string;
  containerIds: string[];
  stateDir: string;
  /** The pods' addresses once they have them. */
  podAddresses: string[];
}

export interface NodeSnapshot {
  netns: Set<string>;
  links: Set<string>;
  nat: Set<string>;
  nftTables: Set<string>;
}

async function netnsNames(): Promise<string[]> {
  const r = await runCmd('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

async function linkNames(): Promise<string[]> {
  const r = await runCmd('ip', ['-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0])
    .filter((n): n is string => !!n);
}

async function natLines(): Promise<string[]> {
  const r = await runCmd('iptables-save', ['-t', 'nat']);
  return r.stdout.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':'));
}

/** `nft list tables` as "family name" ([] without nft). */
async function nftTables(): Promise<string[]> {
  const r = await runCmd('nft', ['list', 'tables']);
  return r.code === 0
    ? r.stdout
        .split('\n')
        .filter((l) => l.startsWith('table '))
        .map((l) => l.slice(6).trim())
    : [];
}

export async function snapshot(): Promise<NodeSnapshot> {
  const [netns, links, nat, nft] = await Promise.all([netnsNames(), linkNames(), natLines(), nftTables()]);
  return { netns: new Set(netns), links: new Set(links), nat: new Set(nat), nftTables: new Set(nft) };
}

/** Chains and rules the CNI plugins share between pods (portmap's skeleton), created by the demo when absent before. */
const SHARED_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'];

function natLineIsDemos(line: string, f: DemoFootprint): boolean {
  return (
    line.includes(f.podAddressPrefix) ||
    line.includes(f.podCidr) ||
    line.includes(f.bridge) ||
    f.containerIds.some((id) => line.includes(id))
  );
}

export interface Leftovers {
  netns: string[];
  links: string[];
  nat: string[];
  nftTables: string[];
  state: string[];
  /** "pid cmdline" of the demo's processes still running. */
  processes: string[];
}

/**
 * Processes that are the demo's: started by it and still running (`trackedPids`), or whose command line names
 * one of its namespaces or pod addresses (an iperf3 or server that escaped its process group). Nothing else on
 * the machine is looked at.
 */
export function demoProcesses(f: DemoFootprint, trackedPids: number[]): string[] {
  const out: string[] = [];
  const own = new Set([process.pid, process.ppid]);
  const addr = f.podAddresses.length
    ? new RegExp(`(^|[^\\d.])(${f.podAddresses.map((a) => a.replaceAll('.', '\\.')).join('|')})($|[^\\d.])`)
    : undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || own.has(Number(name))) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
    } catch {
      continue; // exited meanwhile
    }
    if (!cmdline) continue;
    if (trackedPids.includes(Number(name)) || cmdline.includes(f.netnsPrefix) || addr?.test(cmdline))
      out.push(`${name} ${cmdline}`);
  }
  return out;
}

/** What is on the node now that was not in `before` and belongs to the demo. */
export async function leftovers(
  before: NodeSnapshot,
  f: DemoFootprint,
  demoLinks: (name: string) => boolean,
  trackedPids: number[] = [],
): Promise<Leftovers> {
  const now = await snapshot();
  const netns = [...now.netns].filter((n) => !before.netns.has(n) && n.startsWith(f.netnsPrefix));
  const links = [...now.links].filter((l) => !before.links.has(l) && (l === f.bridge || demoLinks(l)));
  const nat = [...now.nat].filter(
    (l) => !before.nat.has(l) && (natLineIsDemos(l, f) || SHARED_CHAINS.some((c) => l.includes(c))),
  );
  const nftTables = [...now.nftTables].filter((t) => !before.nftTables.has(t));
  const state = existsSync(f.stateDir) ? [f.stateDir, ...readdirSync(f.stateDir).map((e) => `${f.stateDir}/${e}`)] : [];
  return { netns, links, nat, nftTables, state, processes: demoProcesses(f, trackedPids) };
}

export const leftoverCount = (l: Leftovers): number =>
  l.netns.length + l.links.length + l.nat.length + l.nftTables.length + l.state.length + l.processes.length;

/**
 * Deletes nft tables that appeared during the demo and hold no rule (what ebtables-nft style chains leave
 * once their rules are gone, e.g. `bridge filter` after kubenet's de-dup chain is removed).
 */
export async function removeNewEmptyNftTables(before: NodeSnapshot): Promise<void> {
  for (const t of await nftTables()) {
    if (before.nftTables.has(t)) continue;
    const [family, name] = t.split(' ') as [string, string];
    const r = await runCmd('nft', ['-j', 'list', 'table', family, name]);
    if (r.code !== 0) continue;
    const doc = JSON.parse(r.stdout) as { nftables: Array<Record<string, unknown>> };
    if (doc.nftables.some((x) => 'rule' in x)) continue;
    await runCmd('nft', ['delete', 'table', family, name]);
  }
}

/**
 * Removes portmap's shared chains if the demo created them (absent in `before`) and nothing else uses them now,
 * in one iptables-restore transaction (it fails harmlessly if another pod started using them meanwhile).
 */
export async function removeSharedChainsIfUnused(before: NodeSnapshot): Promise<void> {
  const created = SHARED_CHAINS.filter((c) => ![...before.nat].some((l) => l.startsWith(`:${c} `)));
  if (created.length === 0) return;
  const lines = await natLines();
  const present = created.filter((c) => lines.some((l) => l.startsWith(`:${c} `)));
  if (present.length === 0) return;
  const inUse = lines.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ') || l.startsWith(':CNI-DN-'));
  if (inUse) return;
  const jumps = lines
    .filter((l) => l.startsWith('-A ') && present.some((c) => l.endsWith(` -j ${c}`)))
    .map((l) => `-D ${l.slice(3)}`);
  const input = [
    '*nat',
    ...jumps,
    ...present.map((c) => `-F ${c}`),
    ...present.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
  await runCmd('iptables-restore', ['--noflush', '--wait'], 15_000, input);
}

/** Node-wide switches kubenet and the bridge plugin turn on (and never turn off again). */
const NODE_SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

export type SysctlValues = Map<string, string>;

export function readNodeSysctls(): SysctlValues {
  const m: SysctlValues = new Map();
  for (const p of NODE_SYSCTLS) {
    try {
      m.set(p, readFileSync(p, 'utf8').trim());
    } catch {
      /* not present */
    }
  }
  return m;
}

/** Puts back the values the demo found (only those it changed); returns the names it restored. */
export function restoreNodeSysctls(before: SysctlValues): string[] {
  const restored: string[] = [];
  for (const [p, v] of before) {
    try {
      if (readFileSync(p, 'utf8').trim() !== v) {
        writeFileSync(p, v);
        restored.push(p.replace('/proc/sys/', '').replace(/\//g, '.'));
      }
    } catch {
      /* best effort */
    }
  }
  return restored;
}

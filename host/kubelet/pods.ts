// Pods brought up from the command line (`wasm-cni pod up|down|status`): what a pod needs to be torn down
// later by another process (its node flags, sandbox ID, netns, ports, annotations), kept as one JSON file per
// pod under a state dir, and a pod's status read from the machine (addresses, interfaces, shaping qdiscs).
import { familyOf } from '../core/index.ts';
import { errorMessage } from '../errors.ts';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withNetHandle, type Filter, type Link } from '../net/index.ts';
import { EGRESS_ANNOTATION, INGRESS_ANNOTATION } from './bandwidth.ts';
import type { PortMapping } from './types.ts';
import { podFullName } from './types.ts';

export const DEFAULT_STATE_DIR = '/var/lib/wasm-cni/pods';

export interface PodRecord {
  namespace: string;
  name: string;
  uid?: string;
  sandboxId: string;
  netns: string;
  /** Named netns created by `pod up` (removed by `pod down`). */
  createdNetns?: string;
  ports: PortMapping[];
  annotations: Record<string, string>;
  /** The kubelet flags the pod was set up with (only non-defaults), as argv. */
  flags: string[];
  /** kubenet extras (bridge name, host-local store) when not the defaults. */
  bridge?: string;
  ipamDataDir?: string;
  createdAt: string;
}

const fileOf = (dir: string, namespace: string, name: string) => join(dir, `${podFullName(namespace, name)}.json`);

export function readPodRecord(dir: string, namespace: string, name: string): PodRecord | undefined {
  let text: string;
  try {
    text = readFileSync(fileOf(dir, namespace, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as PodRecord;
}

export function writePodRecord(dir: string, r: PodRecord): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = fileOf(dir, r.namespace, r.name);
  writeFileSync(`${f}.tmp`, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

export function deletePodRecord(dir: string, namespace: string, name: string): void {
  rmSync(fileOf(dir, namespace, name), { force: true });
}

export function listPodRecords(dir: string): PodRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(dir, n), 'utf8')) as PodRecord];
      } catch {
        return [];
      }
    });
}

export interface InterfaceStatus {
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  addresses: string[];
}
export interface ShapingStatus {
  /** bits/s from the annotations */
  ingressAnnotation?: string;
  egressAnnotation?: string;
  /** tbf rates found on the host side (bits/s): root of the host veth (ingress to the pod), and its ifb (egress) */
  ingressTbf?: number;
  egressTbf?: number;
}
export interface PodStatus {
  namespace: string;
  name: string;
  sandboxId: string;
  netns: string;
  /** false when the netns is gone */
  reachable: boolean;
  ips: string[];
  interfaces: InterfaceStatus[];
  hostVeth?: string;
  shaping: ShapingStatus;
  ports: PortMapping[];
  error?: string;
}

/** Reads a pod's network from the machine. Never throws: problems land in `error`. */
export async function podStatus(r: PodRecord): Promise<PodStatus> {
  const s: PodStatus = {
    namespace: r.namespace,
    name: r.name,
    sandboxId: r.sandboxId,
    netns: r.netns,
    reachable: false,
    ips: [],
    interfaces: [],
    shaping: {},
    ports: r.ports,
  };
  if (r.annotations[INGRESS_ANNOTATION]) s.shaping.ingressAnnotation = r.annotations[INGRESS_ANNOTATION];
  if (r.annotations[EGRESS_ANNOTATION]) s.shaping.egressAnnotation = r.annotations[EGRESS_ANNOTATION];
  let eth0: Link | undefined;
  try {
    await withNetHandle(r.netns, async (h) => {
      s.reachable = true;
      for (const l of await h.link.list()) {
        const addrs = (await h.addr.list(l.index)).map((a) => a.cidr);
        s.interfaces.push({ name: l.name, mac: l.mac, mtu: l.mtu, up: l.up, addresses: addrs });
        if (l.name === 'eth0') eth0 = l;
      }
      if (eth0) {
        const all = await h.addr.list(eth0.index);
        const global = all.filter((a) => a.scope === 0);
        s.ips = [...global.filter((a) => familyOf(a.ip) === 4), ...global.filter((a) => familyOf(a.ip) === 6)].map(
          (a) => a.ip,
        );
      }
    });
  } catch (e) {
    s.error = errorMessage(e);
    return s;
  }
  if (eth0?.parentIndex !== undefined) {
    try {
      await withNetHandle(null, async (h) => {
        const peer = await h.link.find(eth0!.parentIndex!);
        if (!peer) return;
        s.hostVeth = peer.name;
        const qdiscs = await h.qdisc.list(peer.index);
        const rootTbf = qdiscs.find((q) => q.kind === 'tbf' && q.tbf);
        if (rootTbf?.tbf) s.shaping.ingressTbf = Number(rootTbf.tbf.rate) * 8;
        const filters = await h.filter.list(peer.index, 'ffff:').catch(() => [] as Filter[]);
        for (const target of filters.flatMap((f) => f.mirred.map((m) => m.ifindex))) {
          const ifbTbf = (await h.qdisc.list(target)).find((q) => q.kind === 'tbf' && q.tbf);
          if (ifbTbf?.tbf) s.shaping.egressTbf = Number(ifbTbf.tbf.rate) * 8;
        }
      });
    } catch {
      /* the host side is best effort */
    }
  }
  return s;
}

function rate(bits: number | undefined): string {
  if (bits === undefined) return '';
  if (bits >= 1e9) return `${+(bits / 1e9).toFixed(2)}Gbit`;
  if (bits >= 1e6) return `${+(bits / 1e6).toFixed(2)}Mbit`;
  if (bits >= 1e3) return `${+(bits / 1e3).toFixed(2)}kbit`;
  return `${bits}bit`;
}

function portText(p: PortMapping): string {
  return `${p.hostIP ? (familyOf(p.hostIP) === 6 ? `[${p.hostIP}]:` : `${p.hostIP}:`) : ''}${p.hostPort}->${p.containerPort}/${p.protocol.toLowerCase()}`;
}

/** The `pod status` table. */
export function formatStatusTable(pods: readonly PodStatus[]): string {
  const head = ['POD', 'IPS', 'INTERFACES', 'HOST VETH', 'SHAPING (in/out)', 'PORTS'];
  const rows = pods.map((p) => [
    `${p.namespace}/${p.name}`,
    p.error ? `(${p.error})` : p.ips.join(',') || '-',
    p.interfaces.map((i) => `${i.name}${i.up ? '' : '(down)'} mtu ${i.mtu}`).join(', ') || '-',
    p.hostVeth ?? '-',
    p.shaping.ingressTbf !== undefined || p.shaping.egressTbf !== undefined
      ? `${rate(p.shaping.ingressTbf) || '-'} / ${rate(p.shaping.egressTbf) || '-'}`
      : '-',
    p.ports
      .filter((x) => x.hostPort > 0)
      .map(portText)
      .join(',') || '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return (
    [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') +
    '\n'
  );
}

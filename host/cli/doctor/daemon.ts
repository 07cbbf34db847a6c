// The warm daemon as this caller sees it: the socket answers a status request, from which namespaces, and
// how the daemon was started (systemd unit, socket activation, a Kubernetes pod, or by hand / on demand),
// read from its /proc entries.
import { readlinkSync } from 'node:fs';
import { DaemonRefused, requestStatus } from '../../daemon/client.ts';
import type { DaemonStatus } from '../../daemon/server.ts';
import { RejectReason, WIRE_VERSION } from '../../daemon/wire.ts';
import type { Report } from './findings.ts';
import type { NodeProbes } from './probes.ts';

/** A daemon that answers: its status, or only its protocol when it speaks another one than this doctor. */
export interface DaemonAnswer {
  protocolVersion: number;
  status?: DaemonStatus;
}

/** How the daemon says it was started (`origin` in its status), when it does. */
function toldOrigin(status: unknown): string | undefined {
  const o = (status as { origin?: { startedBy?: unknown; detail?: unknown; idleExitSeconds?: unknown } })?.origin;
  if (!o || typeof o.startedBy !== 'string') return undefined;
  const detail = typeof o.detail === 'string' && o.detail ? ` (${o.detail})` : '';
  const idle = typeof o.idleExitSeconds === 'number' ? `, exits after ${o.idleExitSeconds} s without calls` : '';
  return `${o.startedBy}${detail}${idle}`;
}

/** The systemd service whose cgroup holds the process, if any. */
export function serviceUnitOf(pid: number, probes: NodeProbes): string | undefined {
  return /\/([^/\n]+\.service)(?:\/|$)/m.exec(probes.readFile(`/proc/${pid}/cgroup`) ?? '')?.[1];
}

export function howStarted(pid: number, probes: NodeProbes, status?: unknown): string {
  const told = toldOrigin(status);
  if (told) return told;
  const environ = probes.readFile(`/proc/${pid}/environ`)?.split('\0') ?? [];
  const cgroup = probes.readFile(`/proc/${pid}/cgroup`) ?? '';
  const unit = serviceUnitOf(pid, probes);
  if (environ.some((e) => e.startsWith('LISTEN_FDS='))) return `systemd socket activation${unit ? ` (${unit})` : ''}`;
  if (/kubepods/.test(cgroup)) return 'a Kubernetes pod (the DaemonSet)';
  if (unit) return `systemd unit ${unit}`;
  const stat = probes.readFile(`/proc/${pid}/stat`);
  const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : Number.NaN;
  const parent = Number.isFinite(ppid) ? probes.readFile(`/proc/${ppid}/comm`)?.trim() : undefined;
  return `by hand or on demand${parent ? ` (parent: ${parent}, pid ${ppid})` : ''}`;
}

function sameNamespace(kind: 'net' | 'mnt', pid: number): boolean | undefined {
  try {
    return readlinkSync(`/proc/self/ns/${kind}`) === readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/**
 * Returns the daemon's answer, undefined when none answers. `onDemand`: the executables start a daemon when none
 * answers (then a stopped daemon is the normal idle state, not a problem).
 */
export async function checkDaemon(
  report: Report,
  socket: string,
  onDemand: boolean,
  probes: NodeProbes,
): Promise<DaemonAnswer | undefined> {
  let status: DaemonStatus;
  try {
    status = await requestStatus(socket, 2000);
  } catch (e) {
    if (e instanceof DaemonRefused && e.rejection.reason === RejectReason.Version) {
      // Whether that matters depends on the executables' protocol: the build check says (build.ts).
      report.add(
        'daemon',
        'info',
        `a daemon answers at ${socket} in protocol ${e.protocolVersion}, not this doctor's ${WIRE_VERSION}: its status cannot be read from here (${e.rejection.message})`,
      );
      return { protocolVersion: e.protocolVersion };
    }
    const why = `no daemon answers at ${socket} (${(e as Error).message})`;
    if (onDemand) report.add('daemon', 'info', `${why}: the next call starts one on demand`);
    else
      report.add(
        'daemon',
        'warn',
        `${why}: every call starts a runtime (the cold path, slower)`,
        'systemctl restart wasm-cni   # or: kubectl -n kube-system rollout restart daemonset/wasm-cni',
      );
    return undefined;
  }
  report.add(
    'daemon',
    status.draining ? 'warn' : 'ok',
    `pid ${status.pid} answers at ${socket} (protocol ${status.protocolVersion}, up ${Math.round(status.uptimeMs / 1000)} s, served ${status.served}, rejected ${status.rejected}${status.draining ? ', draining' : ''}); started: ${howStarted(status.pid, probes, status)}`,
  );
  const elsewhere = (['net', 'mnt'] as const).filter((k) => sameNamespace(k, status.pid) === false);
  if (elsewhere.length > 0)
    report.add(
      'daemon',
      'info',
      `the daemon runs in another ${elsewhere.join(' and ')} namespace than this shell: calls from here may take the cold path`,
    );
  return { protocolVersion: status.protocolVersion, status };
}

// How this daemon was started, for `daemon status` and `doctor`: said by the starter (`--started-by`), else
// told by the environment each way of starting leaves behind.
import { readFileSync } from 'node:fs';

export const START_WAYS = ['on-demand', 'socket-activation', 'systemd-unit', 'daemonset', 'manual'] as const;
export type StartWay = (typeof START_WAYS)[number];

export interface DaemonOrigin {
  startedBy: StartWay;
  /** The systemd unit, socket name or pod, when known. */
  detail?: string;
  /** Seconds without calls after which the daemon exits by itself (absent: it runs until stopped). */
  idleExitSeconds?: number;
}

export function detectOrigin(
  explicit: StartWay | undefined,
  socketActivated: { name?: string } | undefined,
  env: NodeJS.ProcessEnv = process.env,
  idleExitSeconds?: number,
): DaemonOrigin {
  const idle = idleExitSeconds ? { idleExitSeconds } : {};
  if (explicit) return { startedBy: explicit, ...idle };
  if (socketActivated) return { startedBy: 'socket-activation', detail: socketActivated.name, ...idle };
  if (env.INVOCATION_ID) return { startedBy: 'systemd-unit', detail: systemdUnit(), ...idle };
  if (env.KUBERNETES_SERVICE_HOST)
    return { startedBy: 'daemonset', detail: env.HOSTNAME ? `pod ${env.HOSTNAME}` : undefined, ...idle };
  return { startedBy: 'manual', ...idle };
}

function systemdUnit(): string | undefined {
  try {
    // cgroup v2: "0::/system.slice/wasm-cni.service"
    const line = readFileSync('/proc/self/cgroup', 'utf8');
    return /\/([^/\n]+\.(?:service|scope))\s*$/m.exec(line)?.[1];
  } catch {
    return undefined;
  }
}

export function describeOrigin(o: DaemonOrigin): string {
  const how = {
    'on-demand': 'on demand by a CNI executable',
    'socket-activation': 'by systemd socket activation',
    'systemd-unit': 'as a systemd unit',
    daemonset: 'in a Kubernetes pod (DaemonSet)',
    manual: 'by hand (wasm-cni daemon)',
  }[o.startedBy];
  const idle = o.idleExitSeconds ? `; exits after ${o.idleExitSeconds} s without calls` : '';
  return `started ${how}${o.detail ? ` (${o.detail})` : ''}${idle}`;
}

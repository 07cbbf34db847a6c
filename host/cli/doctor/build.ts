// Whether the daemon runs the build of the executables it serves. The executables' build is what
// `<bin-dir>/wasm-cni version --json` prints: the kit they run on (its REVISION; the release and the wire protocol
// compiled into its bundle). The daemon's is in its status, read when it started, so a daemon started before the
// bin dir was upgraded (or a DaemonSet pod of another image than the node's executables) shows its own. Another
// wire protocol is an error: the daemon rejects the executables' calls and every one takes the cold path.
import { join } from 'node:path';
import { type BuildIdentity, describeBuild } from '../../build-identity.ts';
import { cliName } from '../../daemon/kit.ts';
import type { DaemonStatus } from '../../daemon/server.ts';
import type { VersionReport } from '../version.ts';
import { type DaemonAnswer, serviceUnitOf } from './daemon.ts';
import type { Executable } from './executables.ts';
import type { Report } from './findings.ts';
import type { NodeProbes } from './probes.ts';

export interface InstalledBuild extends BuildIdentity {
  /** Absent when the kit predates reporting it. */
  protocolVersion?: number;
}

/** The build of the executables in binDir, or why it cannot be told. */
export async function installedBuild(
  binDir: string,
  executables: Executable[],
  probes: NodeProbes,
): Promise<InstalledBuild | { unknown: string }> {
  const cli = executables.find((e) => e.ours && e.name === cliName);
  if (!cli) return { unknown: `no wasm-cni executable of ours in ${binDir}` };
  const how = `${cli.path} version --json`;
  const r = await probes.run(cli.path, ['version', '--json'], { timeoutMs: 30_000 });
  if (!r) return { unknown: `${how} did not finish in 30 s` };
  if (r.code !== 0) return { unknown: `${how}: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 300)}` };
  let v: Partial<VersionReport> = {};
  try {
    v = JSON.parse(r.stdout) as Partial<VersionReport>;
  } catch {
    /* reported below */
  }
  if (typeof v.version !== 'string' || typeof v.revision !== 'string')
    return { unknown: `${how} printed no build: ${r.stdout.trim().slice(0, 300)}` };
  const protocol = typeof v.protocolVersion === 'number' ? { protocolVersion: v.protocolVersion } : {};
  return { version: v.version, revision: v.revision, ...protocol };
}

export type BuildMatch = 'same' | 'other-build' | 'other-protocol' | 'unknown-daemon-build' | 'cannot-tell';

/** `daemon.build` is absent when the daemon predates reporting it, or this doctor could not read its status. */
export function matchBuilds(
  daemon: { protocolVersion: number; build?: BuildIdentity },
  installed: InstalledBuild,
): BuildMatch {
  if (installed.protocolVersion !== undefined && installed.protocolVersion !== daemon.protocolVersion)
    return 'other-protocol';
  // A kit that reports its protocol is of a build whose daemon reports its build: one that does not is another.
  if (!daemon.build) return installed.protocolVersion === undefined ? 'cannot-tell' : 'unknown-daemon-build';
  if (daemon.build.version !== installed.version) return 'other-build';
  if (daemon.build.revision === 'unknown' || installed.revision === 'unknown') return 'cannot-tell';
  return daemon.build.revision === installed.revision ? 'same' : 'other-build';
}

const ROLLOUT = 'kubectl -n kube-system rollout restart daemonset/wasm-cni';

/** The command that makes the daemon and the executables one build, by how the daemon was started. */
export function rebuildFix(
  status: Pick<DaemonStatus, 'pid' | 'origin'> | undefined,
  binDir: string,
  socket: string,
  probes: NodeProbes,
): string {
  const install = `wasm-cni install --bin-dir ${binDir}`;
  const origin = status?.origin;
  switch (origin?.startedBy) {
    case 'systemd-unit':
    case 'socket-activation': {
      const unit = [origin.detail, serviceUnitOf(status!.pid, probes)].find((u) => u?.endsWith('.service'));
      return `systemctl restart ${unit ?? 'wasm-cni.service'}`;
    }
    case 'daemonset':
      return `${ROLLOUT}   # its init container re-runs ${install}`;
    case 'on-demand':
      return `kill -TERM ${status!.pid}   # it drains and exits; the next call starts a daemon of the installed build`;
    case 'manual':
      return `${join(binDir, cliName)} daemon --replace --socket ${socket}   # or keep the daemon's build: run its ${install}`;
    default: {
      const kill = status ? `, or kill -TERM ${status.pid}` : '';
      return `systemctl restart wasm-cni   # or: ${ROLLOUT}${kill}, or run the daemon's build's ${install}`;
    }
  }
}

/**
 * Compares the daemon's build with the executables'. Returns false when the daemon is known to reject their
 * calls (another protocol), so the checks after it treat the cold path as the only one.
 */
export async function checkDaemonBuild(
  report: Report,
  at: { binDir: string; socket: string },
  daemon: DaemonAnswer,
  executables: Executable[],
  probes: NodeProbes,
): Promise<boolean> {
  const { status, protocolVersion } = daemon;
  const who = status ? `pid ${status.pid}` : `the daemon at ${at.socket}`;
  const daemonBuild = !status
    ? `a build this doctor cannot read (protocol ${protocolVersion})`
    : status.build
      ? describeBuild(status.build)
      : `an ${describeBuild(undefined)} (older than build reporting)`;
  const installed = await installedBuild(at.binDir, executables, probes);
  if ('unknown' in installed) {
    report.add(
      'daemon',
      'info',
      `cannot tell the executables' build (${installed.unknown}); ${who} runs ${daemonBuild}`,
    );
    return true;
  }
  const pair = `${who} runs ${daemonBuild}, the executables in ${at.binDir} are ${describeBuild(installed)}`;
  const fix = rebuildFix(status, at.binDir, at.socket, probes);
  switch (matchBuilds({ protocolVersion, build: status?.build }, installed)) {
    case 'same':
      report.add('daemon', 'ok', `the daemon and the executables are one build: ${describeBuild(installed)}`);
      return true;
    case 'other-protocol':
      report.add(
        'daemon',
        'fail',
        `${pair}: the daemon speaks protocol ${protocolVersion}, they speak ${installed.protocolVersion}, so it rejects their calls and every call takes the cold path (slower)`,
        fix,
      );
      return false;
    case 'other-build':
      report.add('daemon', 'warn', `${pair}: the calls it serves run another build than the installed one`, fix);
      return true;
    case 'unknown-daemon-build':
      if (status)
        report.add('daemon', 'warn', `${pair}: the calls it serves run another build than the installed one`, fix);
      else report.add('daemon', 'info', `${pair}; ${join(at.binDir, cliName)} doctor can read it`);
      return true;
    case 'cannot-tell':
      report.add('daemon', 'info', `${pair}: without both builds' revisions, whether they are one cannot be told`);
      return true;
  }
}

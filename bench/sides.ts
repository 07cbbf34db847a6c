// The implementations compared in one run: the Go reference, ours through the daemon, ours on the cold path.
// All three are exec'd as whole processes from a CNI_PATH directory, the way a runtime does.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../host/daemon/client.ts';
import { bundlesFresh, cliEntryPath, cniBinDir, projectRoot } from '../host/paths.ts';
import { nodeDaemonFlags } from '../host/daemon/runtime-flags.ts';
import { benchEnv } from './host.ts';

export type SideId = 'ref' | 'daemon' | 'cold';

export interface Side {
  id: SideId;
  label: string;
  binDir: string;
  /** Base environment of every plugin exec (CNI_* are added per call). */
  env: Record<string, string>;
}

export const referenceBinDir = '/usr/lib/cni';

export function sides(daemonSocket: string, absentSocket: string): Side[] {
  return [
    { id: 'ref', label: 'reference (Go)', binDir: referenceBinDir, env: benchEnv() },
    { id: 'daemon', label: 'ours via daemon', binDir: cniBinDir, env: benchEnv({ WASM_CNI_SOCKET: daemonSocket }) },
    { id: 'cold', label: 'ours, cold path', binDir: cniBinDir, env: benchEnv({ WASM_CNI_SOCKET: absentSocket }) },
  ];
}

export { bundlesFresh };

export interface BenchDaemon {
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** The product's daemon (the bundle when fresh, else the sources through tsx) on a private socket;
 * with profileDir, a V8 CPU profile of the daemon is written there when it stops. */
export async function startBenchDaemon(socket: string, profileDir?: string, workers?: number): Promise<BenchDaemon> {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const args = [
    ...nodeDaemonFlags,
    ...profile,
    ...(existsSync(cliEntryPath) && bundlesFresh()
      ? [cliEntryPath, 'daemon', '--socket', socket]
      : ['--import', 'tsx', join(projectRoot, 'host', 'cli', 'main.ts'), 'daemon', '--socket', socket]),
    ...(workers === undefined ? [] : ['--workers', String(workers)]),
  ];
  const proc = spawn(process.execPath, args, { env: benchEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (b) => {
    log = (log + b).slice(-4000);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  for (let i = 0; ; i++) {
    try {
      await requestStatus(socket, 500);
      break;
    } catch {
      if (proc.exitCode !== null || i > 100) {
        proc.kill('SIGKILL');
        throw new Error(`daemon did not start: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    proc,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

// A real wasm-cni daemon (worker threads and all) serving the registry plus the test-only plugins of
// test-plugins.ts, as a process so tests can stop, stall or kill it mid-call:
//   node --import tsx tests/_lib/daemon-fixture.ts SOCKET [ALLOW_UID...]
// It prints "ready <pid>" on stdout once listening and drains gracefully on SIGTERM or when its stdin closes.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDaemon } from '../../host/daemon/server.ts';
import { cleanEnv } from './run.ts';

export const testPluginsModule = new URL('./test-plugins.ts', import.meta.url).href;

export interface FixtureDaemon {
  proc: ChildProcess;
  pid: number;
  stderr: () => string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Starts the fixture daemon as a child process and waits until it listens. `wrap` runs it under another
 * command (e.g. `unshare --mount ...`, which must end by exec'ing its arguments); a wrapped daemon is
 * stopped by closing its stdin, which reaches it through any wrapper.
 */
export function spawnFixtureDaemon(
  socket: string,
  allowUids: number[] = [],
  wrap: string[] = [],
  limits: { requestTimeoutMs?: number; maxConnections?: number; maxBufferedBytes?: number } = {},
): Promise<FixtureDaemon> {
  const argv = [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), socket, ...allowUids.map(String)];
  const [file, ...args] = [...wrap, ...argv] as [string, ...string[]];
  const proc = spawn(file, args, {
    env: cleanEnv({ WASM_CNI_FIXTURE_LIMITS: JSON.stringify(limits) }),
    stdio: ['pipe', 'pipe', 'pipe'],
  }); // stdin: closes when the test process dies
  let err = '';
  proc.stderr!.on('data', (b) => {
    err += b;
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`fixture daemon did not start: ${err}`));
    }, 60_000); // tsx compiles the daemon and its workers: slow on a loaded machine
    proc.stdout!.on('data', (b: Buffer) => {
      const m = /ready (\d+)/.exec(b.toString());
      if (!m) return;
      clearTimeout(timer);
      resolve({
        proc,
        pid: Number(m[1]),
        stderr: () => err,
        stop: async () => {
          if (wrap.length === 0) return signal('SIGTERM');
          proc.stdin!.end();
          const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        },
        kill: () => signal('SIGKILL'),
      });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture daemon exited ${code}: ${err}`));
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [socket, ...uids] = process.argv.slice(2);
  const daemon = await startDaemon({
    socketPath: socket!,
    pluginsModule: testPluginsModule,
    workers: 2,
    allowUids: uids.map(Number),
    drainTimeoutMs: 10_000,
    ...JSON.parse(process.env.WASM_CNI_FIXTURE_LIMITS || '{}'),
  });
  process.stdout.write(`ready ${process.pid}\n`);
  const stop = () => void daemon.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop).resume(); // the test process went away without stopping us
}

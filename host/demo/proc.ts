// Processes the demo starts: one-shot commands (ip, ping, iperf3) with a deadline, and long-running servers
// inside a pod's namespace (`ip netns exec`) that the demo always stops again. Every child starts its own
// process group (whatever it forks goes with it) and is tracked until it exits, so that killAll() — the demo's
// cleanup on success, failure and Ctrl-C, and a last resort at process exit — leaves no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { childEnv as withoutNodeStartupVars } from '../child-env.ts';

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** The environment for child processes: without the variables that slow Node's start. */
export function childEnv(): Record<string, string> {
  const env = withoutNodeStartupVars();
  env.PATH = [...(env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_DIRS].join(':');
  return env;
}

/** Absolute path of an executable on PATH (plus the system dirs), or null. */
export function which(tool: string): string | null {
  for (const d of childEnv().PATH!.split(':')) {
    try {
      accessSync(join(d, tool), constants.X_OK);
      return join(d, tool);
    } catch {
      /* next */
    }
  }
  return null;
}

/** Runs a command to completion (killed after timeoutMs), `input` on its stdin. Never throws for a non-zero exit. */
export function runCmd(cmd: string, args: string[], timeoutMs = 15_000, input = ''): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = track(spawn(cmd, args, { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'], detached: true }));
    child.stdin.on('error', () => {
      /* exited without reading stdin */
    });
    child.stdin.end(input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => killGroup(child), timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

/** Like runCmd, but a non-zero exit is an error carrying the command's stderr. */
export async function mustRun(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await runCmd(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** A process running inside a named netns; stop() kills it and waits for it to exit. */
export interface NetnsServer {
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Every child until it exits (one-shot commands too: an iperf3 client outlives an interrupted demo otherwise). */
function track<C extends ChildProcess>(child: C): C {
  running.add(child);
  child.once('close', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** SIGKILL to the child's whole process group. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // the group is gone already
  }
}

/** The process ids of the children still running (the demo's leftover check). */
export function runningPids(): number[] {
  return [...running].map((c) => c.pid).filter((p): p is number => p !== undefined);
}

// The last resort when the demo exits on a path that skipped its cleanup.
process.once('exit', () => {
  for (const c of running) killGroup(c);
});

/**
 * Starts `cmd args` inside netns `ns` and resolves once `readyLine` appears on its stdout
 * (or once it has run for a moment, when readyLine is null).
 */
export function startInNetns(
  ns: string,
  cmd: string,
  args: string[],
  readyLine: string | null,
  timeoutMs = 5000,
): Promise<NetnsServer> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      }),
    );
    let output = '';
    let settled = false;
    const server: NetnsServer = {
      stop: () =>
        new Promise<void>((res) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            running.delete(child);
            res();
            return;
          }
          child.once('close', () => {
            running.delete(child);
            res();
          });
          killGroup(child);
        }),
    };
    const ready = () => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(server);
      }
    };
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup(child);
      reject(new Error(`${cmd} in ${ns}: ${why}${output.trim() ? `: ${output.trim()}` : ''}`));
    };
    const timer = setTimeout(
      () => (readyLine === null ? ready() : fail('did not start')),
      readyLine === null ? 300 : timeoutMs,
    );
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
      if (readyLine !== null && output.includes(readyLine)) ready();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.on('error', (e) => fail(e.message));
    child.on('close', (code) => {
      running.delete(child);
      fail(`exited ${code}`);
    });
  });
}

/** Kills every process the demo started that is still running, with its process group, and waits for them. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) {
            res();
            return;
          }
          c.once('close', () => res());
          killGroup(c);
        }),
    ),
  );
  running.clear();
}

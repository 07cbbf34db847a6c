// Machine plumbing for the benchmarks: synchronous commands (no stdin pipes to race with), a per-run name
// prefix, and a sweep that removes every namespace and link carrying it.
import { spawnSync } from 'node:child_process';
import { childEnv as withoutNodeStartupVars } from '../host/child-env.ts';
import { runProcess } from '../host/native/process.ts';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The environment for everything benchmarked: without the variables that slow Node's start (both sides). */
export function benchEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  return withoutNodeStartupVars(process.env, extra);
}

/** Runs a command to completion; throws with its stderr when it fails. */
export function cmd(file: string, args: string[], input?: string): string {
  const r = spawnSync(file, args, {
    input,
    encoding: 'utf8',
    env: benchEnv(),
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The absolute path of a command on $PATH (floors start processes the way the runtime starts plugins). */
export function which(file: string): string {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    try {
      accessSync(join(d, file), constants.X_OK);
      return join(d, file);
    } catch {
      /* next */
    }
  }
  throw new Error(`${file} not found on $PATH`);
}

/** One run of a process, started as the runtime starts plugins (host/native/process.ts); its wall time in ms.
 * Throws when it fails. */
export async function timedRun(file: string, args: string[], input: string): Promise<number> {
  const path = which(file);
  const t0 = performance.now();
  const r = await runProcess(path, args, benchEnv(), input);
  const t = performance.now() - t0;
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr.toString().trim()}\n${input}`);
  return t;
}

export class BenchHost {
  readonly prefix = `wb${randomBytes(2).toString('hex')}`;
  private dirs: string[] = [];

  name(suffix: string): string {
    const n = this.prefix + suffix;
    if (n.length > 15) throw new Error(`link name too long: ${n}`);
    return n;
  }

  netns(suffix: string): string {
    const name = `${this.prefix}-${suffix}`;
    cmd('ip', ['netns', 'add', name]);
    cmd('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return `/var/run/netns/${name}`;
  }

  dir(label: string): string {
    const d = mkdtempSync(join(tmpdir(), `${this.prefix}-${label}-`));
    this.dirs.push(d);
    return d;
  }

  sweep(): void {
    for (const n of cmd('ip', ['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')) {
      if (n.startsWith(this.prefix)) spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore' });
    }
    for (const line of cmd('ip', ['-o', 'link', 'show']).split('\n')) {
      const n = line.split(': ')[1]?.split('@')[0];
      if (n?.startsWith(this.prefix)) spawnSync('ip', ['link', 'delete', n], { stdio: 'ignore' });
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs = [];
  }
}

// Per-test-file isolation on a real machine: every namespace, link, directory and nat chain a test makes
// carries a unique prefix, and cleanup() removes all of it (call it from suite.after, which uvu runs on failure too).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, sh } from './run.ts';

export interface TestNetns {
  name: string;
  path: string;
}

export class Sandbox {
  /** 6 characters: 'w' + 5 hex, so that prefix + 9 more characters still fit IFNAMSIZ (15). */
  readonly prefix = `w${randomBytes(3).toString('hex').slice(0, 5)}`;
  private dirs: string[] = [];
  private cleanups: Array<() => Promise<void> | void> = [];

  /** A link or chain name carrying this sandbox's prefix. */
  name(suffix: string): string {
    const n = this.prefix + suffix;
    if (n.length > 15) throw new Error(`test link name too long: ${n}`);
    return n;
  }

  async netns(suffix: string): Promise<TestNetns> {
    const name = `${this.prefix}-${suffix}`;
    await sh('ip', ['netns', 'add', name]);
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return { name, path: `/var/run/netns/${name}` };
  }

  /** A private directory (config, state, cache), removed by cleanup(). */
  dir(label = 'dir'): string {
    const d = mkdtempSync(join(tmpdir(), `${this.prefix}-${label}-`));
    this.dirs.push(d);
    return d;
  }

  /** Extra cleanup to run (in reverse order) before the generic sweep. */
  defer(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        /* keep sweeping */
      }
    }
    this.cleanups = [];
    const ns = (await run('ip', ['netns', 'list'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n?.startsWith(this.prefix));
    for (const n of ns) await run('ip', ['netns', 'delete', n]);
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout
      .split('\n')
      .map((l) => l.split(': ')[1]?.split('@')[0])
      .filter((n): n is string => !!n && n.startsWith(this.prefix));
    for (const l of links) await run('ip', ['link', 'delete', l]);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs = [];
  }
}

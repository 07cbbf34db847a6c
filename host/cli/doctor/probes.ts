// What doctor reads from the node outside the directories it is pointed at: sysctls, loaded modules, read-only
// tool output (iptables-*-save, nft list tables), interfaces and /proc. Injectable, so tests can present a node
// in states they must not put the real one in.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { MtuInterface } from '../../core/index.ts';
import { hostInterfaces } from '../../kubelet/index.ts';
import { SysctlOps } from '../../net/sysctl.ts';

export interface ProbeRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NodeProbes {
  /** A sysctl by its /proc/sys path ("net/ipv4/ip_forward"), trimmed; null when it does not exist. */
  sysctl(key: string): string | null;
  moduleLoaded(name: string): boolean;
  /** Runs a read-only command (PATH, then the sbin dirs); null when it is not installed or does not finish. */
  run(
    cmd: string,
    args: string[],
    opts?: { env?: Record<string, string>; input?: string; timeoutMs?: number },
  ): Promise<ProbeRun | null>;
  interfaces(): Promise<MtuInterface[]>;
  /** A /proc (or other) file's text; null when unreadable. */
  readFile(path: string): string | null;
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export const systemProbes: NodeProbes = {
  sysctl(key) {
    try {
      return new SysctlOps(null).get(key).trim();
    } catch {
      return null;
    }
  },
  moduleLoaded: (name) => existsSync(`/sys/module/${name}`),
  run(cmd, args, opts = {}) {
    const path = [...(process.env.PATH ?? '/usr/bin:/bin').split(':'), ...SBIN].join(':');
    return new Promise((resolve) => {
      const child = spawn(cmd, args, {
        env: { PATH: path, LC_ALL: 'C', ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.stdin.on('error', () => {});
      child.on('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL') return resolve(null);
        resolve({ code: code ?? 128, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin.end(opts.input ?? '');
    });
  },
  interfaces: () => hostInterfaces(),
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
};

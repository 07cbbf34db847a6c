// The one place in host/ that spawns firewall processes: iptables-restore, ip(6)tables, nft and conntrack.
// Binaries are found once per process by looking at the file system (no exec), so choosing a backend is free.
// A tool always runs in the world of the call's caller (host/cni/caller.ts): the daemon runs the caller's own
// iptables in the caller's mount and network namespaces (its xtables lock, its legacy-or-nft choice).
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { currentCaller, processWorld, type CallerContext } from '../cni/caller.ts';
import { runProcess } from '../native/process.ts';

export type Tool = 'iptables' | 'ip6tables' | 'iptables-restore' | 'ip6tables-restore' | 'nft' | 'conntrack';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];
const found = new Map<Tool, string | null>();

/** Absolute path of a firewall tool in the current caller's world, or null when it is not installed there. */
export function toolPath(tool: Tool): string | null {
  const caller = currentCaller();
  if (!caller.own) return toolPathFor(caller, tool);
  const cached = found.get(tool);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SYSTEM_DIRS];
  let path: string | null = null;
  for (const d of dirs) {
    try {
      accessSync(join(d, tool), constants.X_OK);
      path = join(d, tool);
      break;
    } catch {
      /* next */
    }
  }
  found.set(tool, path);
  return path;
}

/** The tool in the system directories of another caller's root (not cached: callers differ). */
function toolPathFor(caller: CallerContext, tool: Tool): string | null {
  for (const d of SYSTEM_DIRS) {
    try {
      accessSync(caller.resolve(join(d, tool)), constants.X_OK);
      return join(d, tool);
    } catch {
      /* next */
    }
  }
  return null;
}

/** The network namespace firewall work of the current call acts in, as a path this process can open (null:
 * this process's). For code that talks netlink itself (nf_tables) instead of spawning a tool. */
export function firewallNetns(): string | null {
  return currentCaller().netns;
}

const runs = new Map<Tool, number>();

/** How many times each tool was started by this process (for tests and the daemon's profile). */
export function toolRuns(): ReadonlyMap<Tool, number> {
  return runs;
}

/** Runs a tool with `input` on stdin. Never throws for a non-zero exit; throws when the tool is missing. */
export async function runTool(tool: Tool, args: string[], input = ''): Promise<ToolResult> {
  const caller = currentCaller();
  const path = toolPath(tool);
  if (!path) throw new Error(`${tool} not found in $PATH`);
  runs.set(tool, (runs.get(tool) ?? 0) + 1);
  const env = { PATH: (caller.own && process.env.PATH) || SYSTEM_DIRS.join(':'), LC_ALL: 'C' };
  const r = await runProcess(path, args, env, input, processWorld(caller));
  return { code: r.code, stdout: r.stdout.toString(), stderr: cleanStderr(r.stderr.toString()) };
}

/** iptables-nft warns on every call when legacy tables exist; that line is noise in error messages. */
function cleanStderr(s: string): string {
  return s
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('# Warning: iptables-legacy tables present'))
    .join('\n');
}

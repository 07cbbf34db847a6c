// One CNI call three ways, for differential tests: our executable served by a warm daemon, our executable on the
// cold path (a socket no daemon listens on), and the reference binary in /usr/lib/cni.
import { join } from 'node:path';
import { cniBinDir } from '../../host/paths.ts';
import { referenceCniPath } from '../_lib/oracle.ts';
import { run, type RunResult } from '../_lib/run.ts';

export type Path = 'daemon' | 'cold' | 'reference';

export interface CallSpec {
  plugin: string;
  env: Record<string, string | undefined>;
  stdin: string | Uint8Array;
}

/** Runs the call on `path`; `socket` is the daemon's (daemon) or a path nobody listens on (cold). */
export function callOn(path: Path, socket: string, c: CallSpec, timeoutMs = 30_000): Promise<RunResult> {
  const dir = path === 'reference' ? referenceCniPath : cniBinDir;
  return run(join(dir, c.plugin), [], {
    input: c.stdin,
    env: { CNI_PATH: dir, ...c.env, WASM_CNI_SOCKET: socket },
    timeoutMs,
  });
}

/** The CNI error a call printed, or undefined when its stdout is not one error JSON object. */
export function errorOf(stdout: string): { code: number; msg: string; details?: string } | undefined {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (e && typeof e === 'object' && typeof e.code === 'number' && typeof e.msg === 'string') {
      return e as { code: number; msg: string; details?: string };
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}

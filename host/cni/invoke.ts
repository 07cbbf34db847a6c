// Running a plugin binary the way libcni's invoke package does: lookup on a CNI_PATH list, exec with
// env + stdin, failures turned into CniErrors with the reference's wording. Used by delegation (delegate.ts)
// and by the runtime (host/runtime); plugins themselves never call this directly.
import { annotate } from '../errors.ts';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrCode } from './errors.ts';
import { DecodeError, parseJson, str, struct, uint } from './decode.ts';
import { parseResult } from './result.ts';
import type { PluginResponse } from './handler.ts';
import type { Result } from './types.ts';
import { ownCaller, processWorld, type CallerContext } from './caller.ts';
import { runProcess } from '../native/process.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** `<dir>/<plugin>` for the first dir holding a regular file of that name (libcni FindInPath), looked up in
 * the caller's filesystem view; the path returned is the caller's. */
export function findInPath(plugin: string, paths: readonly string[], caller: CallerContext = ownCaller): string {
  if (plugin === '') throw new Error('no plugin name provided');
  if (plugin.includes('/')) throw new Error(`invalid plugin name: ${plugin}`);
  if (paths.length === 0) throw new Error('no paths provided');
  for (const dir of paths) {
    const full = join(dir, plugin);
    try {
      if (statSync(caller.resolve(full)).isFile()) return full;
    } catch {
      /* not here */
    }
  }
  throw new Error(`failed to find plugin "${plugin}" in path [${paths.join(' ')}]`);
}

/** Run an executable (a path in the caller's view) with stdin and exactly `env`, in the caller's mount and
 * network namespaces; collects stdout/stderr. Retries while the binary is busy being written. */
export async function spawnPlugin(
  path: string,
  stdin: Uint8Array,
  env: Env,
  caller: CallerContext = ownCaller,
): Promise<PluginResponse> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await spawnOnce(path, stdin, env, caller);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ETXTBSY' && attempt < 5) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      throw e;
    }
  }
}

async function spawnOnce(path: string, stdin: Uint8Array, env: Env, caller: CallerContext): Promise<PluginResponse> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const r = await runProcess(path, [], clean, stdin, processWorld(caller, { asCaller: true }));
  return { exitCode: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

const errorSchema = struct('types.Error', { code: uint, msg: str, details: str });

/**
 * A failed plugin run as the error the caller sees (libcni RawExec.pluginErr): the plugin's error JSON as is,
 * or a synthesised code-0 error when stdout is empty or not error JSON.
 */
export function pluginFailure(res: PluginResponse): CniError {
  const status = `exit status ${res.exitCode}`;
  if (res.stdout.length === 0) {
    if (res.stderr.length === 0)
      return new CniError(ErrCode.Unknown, `netplugin failed with no error message: ${status}`);
    return new CniError(ErrCode.Unknown, `netplugin failed: ${JSON.stringify(res.stderr)}: ${status}`);
  }
  try {
    const e = errorSchema.decode(parseJson(res.stdout) ?? {}, { path: [] });
    return new CniError(e.code ?? 0, e.msg ?? '', e.details);
  } catch (err) {
    const why = err instanceof DecodeError ? err.message : String(err);
    return new CniError(
      ErrCode.Unknown,
      `netplugin failed but error parsing its diagnostic message ${JSON.stringify(res.stdout)}: ${why}`,
    );
  }
}

/** Throws the plugin's error when it failed; returns its stdout otherwise. */
export function stdoutOrThrow(res: PluginResponse): string {
  if (res.exitCode !== 0) throw pluginFailure(res);
  return res.stdout;
}

/**
 * A plugin's ADD output as a result (libcni ExecPluginWithResult): a missing cniVersion means the config's,
 * then the output is read as that version. Returns the raw JSON (kept for prevResult and the cache) and the model.
 */
export function readPluginResult(
  stdout: string,
  confVersion: string,
): { raw: Record<string, unknown>; result: Result } {
  let raw: unknown;
  try {
    raw = parseJson(stdout);
  } catch (e) {
    throw annotate(e, 'failed to unmarshal raw result');
  }
  const obj: Record<string, unknown> =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  let version = typeof obj.cniVersion === 'string' ? obj.cniVersion : '';
  if (version === '') {
    version = confVersion === '' ? '0.1.0' : confVersion;
    obj.cniVersion = version;
  }
  return { raw: obj, result: parseResult(obj, version) };
}

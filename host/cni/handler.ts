// The one shape every plugin has: a pure function of (environment, stdin) to (exit code, stdout, stderr).
// The standalone process (cold path) and the daemon (fast path) both call the same handler.
import type { CallerData } from './caller.ts';

export interface PluginRequest {
  /** The CNI_* variables (and anything else the caller passed); never process.env itself. */
  env: Readonly<Record<string, string | undefined>>;
  /** The network configuration bytes exactly as received on stdin. */
  stdin: Uint8Array;
  /**
   * The plugins this process can run itself, for a plugin that delegates (delegate.ts); the caller provides it
   * (dispatch.ts: the registry). Absent: every delegate is executed from CNI_PATH.
   */
  plugins?: PluginLookup;
  /** Whose world the call acts in (caller.ts): absent for the cold path, which is its own caller. Plain data,
   * so it crosses to a worker thread as it is. */
  caller?: CallerData;
}

/** An in-process plugin by type (loaded on first use), or undefined when this process has none of that type. */
export type PluginLookup = (type: string) => Promise<PluginHandler> | undefined;

export interface PluginResponse {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type PluginHandler = (req: PluginRequest) => Promise<PluginResponse>;

// The one shape every plugin has: a pure function of (environment, stdin) to (exit code, stdout, stderr).
// The standalone process (cold path) and the daemon (fast path) both call the same handler.
import type { CallerData } from './caller.ts';

export interface PluginRequest {
  /** The CNI_* variables (and anything else the caller passed); never process.env itself. */
  env: Readonly<Record<string, string | undefined>>;
  /** The network configuration bytes exactly as received on stdin. */
  stdin: Uint8Array;
  /** Whose world the call acts in (caller.ts): absent for the cold path, which is its own caller. Plain data,
   * so it crosses to a worker thread as it is. */
  caller?: CallerData;
}

export interface PluginResponse {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type PluginHandler = (req: PluginRequest) => Promise<PluginResponse>;

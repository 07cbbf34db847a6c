// CNI errors: what a plugin throws and what skel prints on stdout ({code, msg, details}, exit 1).
import { goMarshalIndent } from './gojson.ts';
// Reading and wrapping any thrown value is host/errors.ts; this module is the CNI side of failing.
import { errorMessage } from '../errors.ts';
import type { PluginResponse } from './handler.ts';

export const ErrCode = {
  Unknown: 0,
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IOFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

export class CniError extends Error {
  readonly code: number;
  readonly details?: string;

  constructor(code: number, msg: string, details?: string) {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    if (details) this.details = details;
  }

  /** The wire shape: details omitted when empty (like the reference's types.Error). */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details
      ? { code: this.code, msg: this.message, details: this.details }
      : { code: this.code, msg: this.message };
  }

  /** How the Go reference renders an error as text: `msg; details`. */
  override toString(): string {
    return this.details ? `${this.message}; ${this.details}` : this.message;
  }
}

/** Any thrown value as a CniError: CniErrors pass unchanged, everything else is code 999 with its message. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  return new CniError(ErrCode.Internal, errorMessage(e));
}

/** A thrown value as the reference prints an error in text: a CniError as `msg; details`, anything else by its message. */
export function cniErrorText(e: unknown): string {
  return e instanceof CniError ? e.toString() : errorMessage(e);
}

/** Error JSON as printed by plugins: 4-space indented, no trailing newline. */
export function formatCniError(e: CniError): string {
  return goMarshalIndent(e.toJSON());
}

/**
 * The error boundary: any thrown value as a plugin's answer — the CNI error JSON on stdout, exit 1, nothing
 * on stderr. skel (a plugin's own failures) and dispatch (an unknown plugin, a failed import) both end here.
 */
export function errorResponse(e: unknown): PluginResponse {
  return { exitCode: 1, stdout: formatCniError(toCniError(e)), stderr: '' };
}

/**
 * Reads an error JSON a plugin printed (exec or in-process). Returns undefined when `text` is not an
 * object with a numeric code and a string msg.
 */
export function parseCniError(text: string): CniError | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.code !== 'number' || (o.msg !== undefined && typeof o.msg !== 'string')) return undefined;
  const details = typeof o.details === 'string' ? o.details : undefined;
  return new CniError(o.code, (o.msg as string | undefined) ?? '', details);
}

// The shim <-> daemon framing, version 1 (shims/exec/wire.h is the C side; keep the two in step).
// Every frame: 12-byte header `"WCNI" | u16 version | u16 kind | u32 payload length` (big-endian), then the payload.
// The header layout and the REJECT kind are the same in every version, so a mismatch is always reported
// before anything runs. One frame each way per connection.
//   CALL    str plugin | u32 n | n × str "KEY=VALUE" | bytes stdin
//   RESULT  i32 exit code | bytes stdout | bytes stderr
//   REJECT  u16 reason | str message          (the call did not run)
//   STATUS  (empty)       STATUS_REPLY  UTF-8 JSON
// str/bytes: u32 length + bytes.

import type { BuildIdentity } from '../build-identity.ts';
import type { DaemonOrigin } from './origin.ts';

export const WIRE_MAGIC = Buffer.from('WCNI');
export const WIRE_VERSION = 1;
export const HEADER_LEN = 12;
export const MAX_PAYLOAD = 4 << 20;
export const MAX_ENV = 256;
export const MAX_PLUGIN_NAME = 64;

export const Kind = { Call: 1, Result: 2, Reject: 3, Status: 4, StatusReply: 5 } as const;
// Denied: the caller may not have the daemon act for it (uid, capabilities, user namespace); the shim reports
// the message as a CNI error and does not go cold. OtherNamespace: the caller could not be pinned (no pid the
// daemon can see, or it exited), so the daemon cannot act in its world; the shim takes the cold path, which
// runs with the caller's own privileges (like Version and Draining).
export const RejectReason = { Version: 1, BadFrame: 2, Denied: 3, Draining: 4, OtherNamespace: 5 } as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** The name of a reject reason (status and logs count rejections by it). */
export function rejectReasonName(reason: number): string {
  return Object.entries(RejectReason).find(([, v]) => v === reason)?.[0] ?? `Reason${reason}`;
}

/** Rejections of one reason: how many, and the latest one's message (`daemon status` says why). */
export interface RejectionStats {
  reason: string;
  count: number;
  lastMessage: string;
}

/** The STATUS_REPLY payload. */
/** One row of `daemon status`: a plugin and command's calls, errors and latency. */
export interface CallStats {
  plugin: string;
  command: string;
  calls: number;
  errors: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface DaemonStatus {
  protocolVersion: number;
  pid: number;
  socket: string;
  startedAt: string;
  uptimeMs: number;
  draining: boolean;
  inFlight: number;
  busyContainers: number;
  /** Open client connections (bounded by maxConnections). */
  connections: number;
  maxConnections: number;
  served: number;
  rejected: number;
  rejections: RejectionStats[];
  peerCheck: string;
  workers: number;
  plugins: string[];
  calls: CallStats[];
  /** How the daemon was started (origin.ts). */
  origin?: DaemonOrigin;
  /** The build it runs, as read when it started (absent from daemons before it was reported). */
  build?: BuildIdentity;
}

export const defaultSocketPath = '/run/wasm-cni/wasm-cni.sock';
/** The socket the shim and the CLI use: $WASM_CNI_SOCKET, else the default. */
export function socketPathFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.WASM_CNI_SOCKET || defaultSocketPath;
}

export interface Header {
  version: number;
  kind: number;
  length: number;
}

export function encodeFrame(kind: number, payload: Uint8Array, version = WIRE_VERSION): Buffer {
  const header = Buffer.alloc(HEADER_LEN);
  WIRE_MAGIC.copy(header, 0);
  header.writeUInt16BE(version, 4);
  header.writeUInt16BE(kind, 6);
  header.writeUInt32BE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

/** A header, or a reason it is unusable. */
export function decodeHeader(b: Buffer): Header | { error: string } {
  if (!b.subarray(0, 4).equals(WIRE_MAGIC)) return { error: 'not a wasm-cni frame (bad magic)' };
  return { version: b.readUInt16BE(4), kind: b.readUInt16BE(6), length: b.readUInt32BE(8) };
}

class Writer {
  private parts: Buffer[] = [];
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array | string): this {
    const b = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return this.u32(b.length).push(b);
  }
  private push(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class FrameError extends Error {}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.b.length) throw new FrameError(`payload truncated at byte ${this.at}`);
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.b.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  str(): string {
    return this.bytes().toString('utf8');
  }
  end(): void {
    if (this.at !== this.b.length) throw new FrameError(`${this.b.length - this.at} stray bytes after the payload`);
  }
}

export interface Call {
  plugin: string;
  env: Record<string, string>;
  stdin: Uint8Array;
}
export interface CallResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}
export interface Rejection {
  reason: number;
  message: string;
}

export function encodeCall(c: Call): Buffer {
  const w = new Writer().bytes(c.plugin);
  const entries = Object.entries(c.env);
  w.u32(entries.length);
  for (const [k, v] of entries) w.bytes(`${k}=${v}`);
  return encodeFrame(Kind.Call, w.bytes(c.stdin).done());
}

export function decodeCall(payload: Buffer): Call {
  const r = new Reader(payload);
  const plugin = r.str();
  if (!plugin || plugin.length > MAX_PLUGIN_NAME) throw new FrameError('bad plugin name');
  const n = r.u32();
  if (n > MAX_ENV) throw new FrameError(`${n} environment entries (limit ${MAX_ENV})`);
  const env: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const kv = r.str();
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new FrameError('environment entry without KEY=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const stdin = r.bytes();
  r.end();
  return { plugin, env, stdin };
}

export function encodeResult(res: CallResult): Buffer {
  return encodeFrame(Kind.Result, new Writer().i32(res.exitCode).bytes(res.stdout).bytes(res.stderr).done());
}

export function decodeResult(payload: Buffer): CallResult {
  const r = new Reader(payload);
  const res = { exitCode: r.i32(), stdout: r.str(), stderr: r.str() };
  r.end();
  return res;
}

export function encodeReject(reason: RejectReason, message: string): Buffer {
  return encodeFrame(Kind.Reject, new Writer().u16(reason).bytes(message).done());
}

export function decodeReject(payload: Buffer): Rejection {
  const r = new Reader(payload);
  return { reason: r.u16(), message: r.str() };
}

/**
 * Collects one frame from a byte stream. `push` returns the header as soon as it is known (so a bad version
 * or an oversized length is answered without reading the payload), and the whole frame when complete.
 */
export class FrameCollector {
  private chunks: Buffer[] = [];
  private have = 0;
  header: Header | undefined;

  constructor(private readonly maxPayload = MAX_PAYLOAD) {}

  get received(): number {
    return this.have;
  }

  /** 'header' once the header is in, 'frame' once the payload is complete, else 'more'; throws FrameError. */
  push(chunk: Buffer): 'more' | 'header' | 'frame' {
    this.chunks.push(chunk);
    this.have += chunk.length;
    let fresh = false;
    if (!this.header) {
      if (this.have < HEADER_LEN) return 'more';
      const h = decodeHeader(Buffer.concat(this.chunks).subarray(0, HEADER_LEN));
      if ('error' in h) throw new FrameError(h.error);
      this.header = h;
      fresh = true;
      // A server answers another version with REJECT Version at once; a client reads the REJECT it was sent
      // (its layout is the same in every version), so a complete frame is still reported as one.
      if (h.version !== WIRE_VERSION) return this.complete() ? 'frame' : 'header';
      if (h.length > this.maxPayload) {
        throw new FrameError(`payload of ${h.length} bytes is over the ${this.maxPayload}-byte limit`);
      }
    }
    if (this.have > HEADER_LEN + this.header.length) throw new FrameError('bytes after the frame');
    if (this.complete()) return 'frame';
    return fresh ? 'header' : 'more';
  }

  private complete(): boolean {
    return !!this.header && this.have === HEADER_LEN + this.header.length;
  }

  payload(): Buffer {
    return Buffer.concat(this.chunks).subarray(HEADER_LEN);
  }
}

// The TypeScript side of a daemon client: one request frame, one reply frame (status view, tests, tooling).
import { connect } from 'node:net';
import {
  decodeReject,
  decodeResult,
  encodeCall,
  encodeFrame,
  FrameCollector,
  type FrameError,
  Kind,
  type Call,
  type CallResult,
  type DaemonStatus,
  type Header,
  type Rejection,
  WIRE_VERSION,
} from './wire.ts';

export interface Reply {
  header: Header;
  payload: Buffer;
}

/** Sends `request` (raw bytes) and collects one reply frame; rejects on timeout or a connection that ends early. */
export function exchange(socketPath: string, request: Uint8Array, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    const collector = new FrameCollector(Number.MAX_SAFE_INTEGER);
    let settled = false;
    const finish = (err: Error | undefined, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk) => {
      try {
        if (collector.push(chunk) === 'frame')
          finish(undefined, { header: collector.header!, payload: collector.payload() });
      } catch (e) {
        finish(e as FrameError);
      }
    });
    sock.on('end', () => finish(new Error(`connection closed after ${collector.received} reply bytes`)));
    sock.on('error', (e) => finish(e));
  });
}

/** The daemon answered a request with REJECT; `protocolVersion` is the one its reply was framed in (its own). */
export class DaemonRefused extends Error {
  constructor(
    readonly rejection: Rejection,
    readonly protocolVersion: number,
  ) {
    super(`daemon refused: ${rejection.message}`);
  }
}

export async function requestStatus(socketPath: string, timeoutMs = 2000): Promise<DaemonStatus> {
  const { header, payload } = await exchange(socketPath, encodeFrame(Kind.Status, new Uint8Array(0)), timeoutMs);
  if (header.kind === Kind.Reject) throw new DaemonRefused(decodeReject(payload), header.version);
  if (header.version !== WIRE_VERSION) throw new Error(`reply in protocol version ${header.version}`);
  if (header.kind !== Kind.StatusReply) throw new Error(`unexpected reply kind ${header.kind}`);
  return JSON.parse(payload.toString('utf8')) as DaemonStatus;
}

export async function callDaemon(socketPath: string, call: Call, timeoutMs = 60_000): Promise<CallResult | Rejection> {
  const { header, payload } = await exchange(socketPath, encodeCall(call), timeoutMs);
  if (header.kind === Kind.Reject) return decodeReject(payload);
  if (header.kind !== Kind.Result) throw new Error(`unexpected reply kind ${header.kind}`);
  return decodeResult(payload);
}

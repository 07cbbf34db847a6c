// One connection's request: exactly one frame, read under the daemon's limits (a deadline for the whole
// request, a payload size limit, and a byte budget shared by every connection, so many slow clients cannot
// make the daemon buffer without bound). Protocol errors are answered here; a complete frame is handed on.
import type { Socket } from 'node:net';
import type { LogSink } from './log.ts';
import { FrameCollector, type FrameError, Kind, RejectReason, WIRE_VERSION } from './wire.ts';

/** Bytes buffered for requests across all connections. */
export class ByteBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
  get inUse(): number {
    return this.used;
  }
}

export type Request = { kind: 'status' } | { kind: 'call'; payload: Buffer };

export interface RequestReader {
  requestTimeoutMs: number;
  budget: ByteBudget;
  log: LogSink;
  reject(sock: Socket, reason: number, message: string, fields?: Record<string, unknown>): void;
  onRequest(sock: Socket, req: Request): void;
}

/** Reads one request frame from `sock` and hands it to `r.onRequest`; `peer` only labels the logs. */
export function readRequest(sock: Socket, r: RequestReader, peer: Record<string, unknown>): void {
  const collector = new FrameCollector();
  let complete = false;
  let buffered = 0;
  const settle = () => {
    complete = true;
    r.budget.give(buffered);
    buffered = 0;
    sock.setTimeout(0);
  };
  sock.on('close', () => {
    if (!complete) settle();
  });
  sock.setTimeout(r.requestTimeoutMs, () => {
    if (complete) return;
    r.log('warn', 'request-timeout', { received: collector.received, ...peer });
    settle();
    sock.destroy();
  });
  sock.on('end', () => {
    if (complete) return;
    r.log('warn', 'truncated-frame', { received: collector.received, ...peer });
    settle();
    sock.destroy();
  });
  sock.on('data', (chunk: Buffer) => {
    if (complete) return;
    if (!r.budget.take(chunk.length)) {
      settle();
      return r.reject(sock, RejectReason.BadFrame, 'daemon is buffering too many requests; try again', peer);
    }
    buffered += chunk.length;
    let state: ReturnType<FrameCollector['push']>;
    try {
      state = collector.push(chunk);
    } catch (e) {
      settle();
      return r.reject(sock, RejectReason.BadFrame, (e as FrameError).message, peer);
    }
    const header = collector.header;
    if (header && header.version !== WIRE_VERSION) {
      settle();
      return r.reject(
        sock,
        RejectReason.Version,
        `daemon speaks protocol version ${WIRE_VERSION}, not ${header.version}`,
      );
    }
    if (state !== 'frame') return;
    const payload = collector.payload();
    settle();
    if (header!.kind === Kind.Status) return r.onRequest(sock, { kind: 'status' });
    if (header!.kind !== Kind.Call)
      return r.reject(sock, RejectReason.BadFrame, `unexpected frame kind ${header!.kind}`);
    r.onRequest(sock, { kind: 'call', payload });
  });
}

// The warm host behind the native executables: one unix socket, one call per connection, the same handlers
// as the cold path (host/plugins/dispatch.ts), each run in its caller's world. Calls for one container are
// serialized; others run concurrently. The pieces: listen.ts (the socket), connection.ts (one request frame
// under limits), serve.ts (pin, judge, run, reply), runner.ts (where handlers run); this file wires them,
// keeps the counters for `daemon status`, and drains on close().
import { createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ownBuild } from '../build-identity.ts';
import type { PluginTable } from '../plugins/dispatch.ts';
import { plugins as registered } from '../plugins/registry.ts';
import { ByteBudget, readRequest, type RequestReader } from './connection.ts';
import { inspectExistingSocket, listenAt, listenOnFd, unlinkIfOurs } from './listen.ts';
import { stderrLog, type LogSink } from './log.ts';
import { Metrics } from './metrics.ts';
import type { DaemonOrigin } from './origin.ts';
import { peerCheckerFromAddon, type PeerChecker } from './peer.ts';
import { defaultWorkers, inProcessRunner, workerPoolRunner } from './runner.ts';
import { admit, serveCall, type CallServer } from './serve.ts';
import { KeyedSerializer } from './serialize.ts';
import {
  type Call,
  type DaemonStatus,
  decodeCall,
  encodeFrame,
  encodeReject,
  Kind,
  RejectReason,
  rejectReasonName,
  WIRE_VERSION,
} from './wire.ts';

export type { DaemonStatus };

export interface DaemonOptions {
  socketPath: string;
  /** Plugins served on the main thread (a table of functions; tests). Default: the registry, on worker threads. */
  plugins?: PluginTable;
  /** A module URL exporting `plugins`, loaded by each worker instead of the registry. */
  pluginsModule?: string;
  /** Worker threads running handlers (default: defaultWorkers; 0: the main thread). Ignored with `plugins`. */
  workers?: number;
  /** Uids granted the daemon's authority besides root. Non-empty makes the socket world-connectable, guarded
   * by SO_PEERCRED. */
  allowUids?: number[];
  /** Take over from a live daemon on the same path (it is told to finish in-flight calls and exit). */
  replace?: boolean;
  log?: LogSink;
  /** How long close() waits for in-flight calls. */
  drainTimeoutMs?: number;
  /** How long a connection may take to deliver its request frame (then it is dropped). */
  requestTimeoutMs?: number;
  /** Open connections at most; more are closed on accept. */
  maxConnections?: number;
  /** Request bytes buffered across all connections at most; a frame beyond it is rejected. */
  maxBufferedBytes?: number;
  /** A listening socket inherited from systemd (listen.ts): served as is, never replaced or unlinked. */
  listenFd?: number;
  /** How the daemon was started (origin.ts), shown by `daemon status`. */
  origin?: DaemonOrigin;
  /** Who may call (default: SO_PEERCRED via the native addon). */
  peerChecker?: PeerChecker;
  /** Where calls and rejections are counted (default: a fresh model; pass one to export it, e.g. to Prometheus). */
  metrics?: Metrics;
}

export const defaultLimits = { requestTimeoutMs: 10_000, maxConnections: 256, maxBufferedBytes: 64 << 20 };

export interface Daemon {
  readonly socketPath: string;
  status(): DaemonStatus;
  /** Stops accepting, lets in-flight calls finish (up to drainTimeoutMs), removes the socket if still ours. */
  close(): Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? stderrLog;
  const table: PluginTable =
    opts.plugins ?? (opts.pluginsModule ? (await import(opts.pluginsModule)).plugins : registered);
  const allowUids = new Set([0, ...(opts.allowUids ?? [])]);
  const peerChecker = opts.peerChecker ?? peerCheckerFromAddon();
  if (allowUids.size > 1 && !peerChecker.available) {
    throw new Error(`allowing uids other than root needs the peer credential check: ${peerChecker.describe}`);
  }
  const socketPath = opts.socketPath;
  const maxConnections = opts.maxConnections ?? defaultLimits.maxConnections;
  const predecessor =
    opts.listenFd === undefined ? await inspectExistingSocket(socketPath, !!opts.replace, log) : undefined;

  const workers = opts.plugins ? 0 : (opts.workers ?? defaultWorkers);
  const runner =
    workers > 0 ? await workerPoolRunner(workers, log, opts.pluginsModule) : await inProcessRunner(table, log);

  const metrics = opts.metrics ?? new Metrics();
  const serializer = new KeyedSerializer();
  const connections = new Set<Socket>();
  const startedAt = new Date();
  const build = ownBuild();
  const startPerf = performance.now();
  let inFlight = 0,
    served = 0,
    draining = false;
  let drained: (() => void) | undefined;

  const reject = (sock: Socket, reason: number, message: string, fields: Record<string, unknown> = {}) => {
    metrics.reject(reason as RejectReason, message);
    log('warn', 'rejected', { reason: rejectReasonName(reason), message, ...fields });
    sock.end(encodeReject(reason as RejectReason, message), () => sock.destroy());
  };

  const status = (): DaemonStatus => ({
    protocolVersion: WIRE_VERSION,
    pid: process.pid,
    socket: socketPath,
    startedAt: startedAt.toISOString(),
    uptimeMs: Math.round(performance.now() - startPerf),
    draining,
    inFlight,
    busyContainers: serializer.busyKeys,
    connections: connections.size,
    maxConnections,
    served,
    rejected: metrics.rejectedTotal,
    rejections: metrics.rejectionStats(),
    peerCheck: peerChecker.describe,
    workers: runner.workers,
    plugins: Object.keys(table).sort(),
    calls: metrics.snapshot(),
    origin: opts.origin,
    build,
  });

  const callServer: CallServer = {
    runner,
    serializer,
    metrics,
    log,
    allowUids,
    pinCallers: peerChecker.available,
    reject,
    started: () => void inFlight++,
    finished: (ok) => {
      inFlight--;
      if (ok) served++;
      if (draining && inFlight === 0) drained?.();
    },
  };

  const peers = new WeakMap<Socket, { pid?: number; uid?: number }>();
  const reader: RequestReader = {
    requestTimeoutMs: opts.requestTimeoutMs ?? defaultLimits.requestTimeoutMs,
    budget: new ByteBudget(opts.maxBufferedBytes ?? defaultLimits.maxBufferedBytes),
    log,
    reject,
    onRequest(sock, req) {
      if (req.kind === 'status') {
        sock.end(encodeFrame(Kind.StatusReply, Buffer.from(JSON.stringify(status()))), () => sock.destroy());
        return;
      }
      const peer = peers.get(sock) ?? {};
      if (draining) return reject(sock, RejectReason.Draining, 'daemon is shutting down');
      let call: Call;
      try {
        call = decodeCall(req.payload);
      } catch (e) {
        return reject(sock, RejectReason.BadFrame, (e as Error).message, { peerPid: peer.pid });
      }
      const admitted = admit(callServer, sock, peer);
      if (admitted) void serveCall(callServer, sock, call, admitted.pinned);
    },
  };

  const onConnection = (sock: Socket) => {
    connections.add(sock);
    sock.on('close', () => connections.delete(sock));
    sock.on('error', (e) => log('warn', 'connection-error', { error: e.message }));
    const peer = peerChecker.check(sock, allowUids);
    if (!peer.ok) return reject(sock, RejectReason.Denied, peer.reason, { peerUid: peer.uid, peerPid: peer.pid });
    peers.set(sock, { pid: peer.pid, uid: peer.uid });
    readRequest(sock, reader, { peerPid: peer.pid });
  };

  const server = createServer(onConnection);
  server.maxConnections = maxConnections;
  server.on('drop', (d) =>
    log('warn', 'connection-dropped', { reason: 'maxConnections', limit: maxConnections, ...d }),
  );
  let ino: number;
  try {
    if (opts.listenFd === undefined) ino = await listenAt(server, socketPath, allowUids.size > 1);
    else ino = await listenOnFd(server, opts.listenFd).then(() => -1); // systemd owns the socket file
  } catch (e) {
    await runner.close();
    throw e;
  }
  log('info', 'listening', {
    socket: socketPath,
    pid: process.pid,
    protocolVersion: WIRE_VERSION,
    workers,
    plugins: Object.keys(table).sort(),
    peerCheck: peerChecker.describe,
  });
  if (predecessor) {
    log('info', 'replacing', { pid: predecessor });
    try {
      process.kill(predecessor, 'SIGTERM');
    } catch (e) {
      log('warn', 'replace-signal-failed', { pid: predecessor, error: (e as Error).message });
    }
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      log('info', 'draining', { inFlight });
      unlinkIfOurs(socketPath, ino);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => {
            drained = resolve;
          }),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, opts.drainTimeoutMs ?? 60_000);
          }),
        ]);
        clearTimeout(timer);
      }
      // replies just written close their sockets themselves once flushed; give them a moment, then cut the rest
      for (let waited = 0; connections.size > 0 && waited < 1000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
      for (const sock of connections) sock.destroy();
      await stopped;
      await runner.close();
      log('info', 'stopped', { served, rejected: metrics.rejectedTotal, abandoned: inFlight });
    })());

  return { socketPath, status, close };
}

// The warm host behind the native executables: one unix socket, one call per connection, the same handlers
// as the cold path (host/plugins/dispatch.ts). Calls for one container are serialized; others run concurrently.
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CniError, ErrCode } from '../cni/errors.ts';
import { errorResponse, type PluginTable } from '../plugins/dispatch.ts';
import { plugins as registered } from '../plugins/registry.ts';
import { requestStatus } from './client.ts';
import { stderrLog, type LogSink } from './log.ts';
import { Metrics, type CallStats } from './metrics.ts';
import { namespaceMismatch, peerCheckerFromAddon, type PeerChecker } from './peer.ts';
import { defaultWorkers, inProcessRunner, workerPoolRunner } from './runner.ts';
import { KeyedSerializer } from './serialize.ts';
import {
  decodeCall,
  encodeFrame,
  encodeReject,
  encodeResult,
  FrameCollector,
  type FrameError,
  HEADER_LEN,
  Kind,
  MAX_PAYLOAD,
  RejectReason,
  WIRE_VERSION,
  type Call,
} from './wire.ts';

export interface DaemonOptions {
  socketPath: string;
  /** Plugins served on the main thread (a table of functions; tests). Default: the registry, on worker threads. */
  plugins?: PluginTable;
  /** A module URL exporting `plugins`, loaded by each worker instead of the registry. */
  pluginsModule?: string;
  /** Worker threads running handlers (default: defaultWorkers; 0: the main thread). Ignored with `plugins`. */
  workers?: number;
  /** Uids allowed besides root. Non-empty makes the socket world-connectable, guarded by SO_PEERCRED. */
  allowUids?: number[];
  /** Take over from a live daemon on the same path (it is told to finish in-flight calls and exit). */
  replace?: boolean;
  log?: LogSink;
  /** How long close() waits for in-flight calls. */
  drainTimeoutMs?: number;
  /** How long a connection may take to deliver its request frame. */
  requestTimeoutMs?: number;
  /** Who may call (default: SO_PEERCRED via the native addon). */
  peerChecker?: PeerChecker;
  /** Where calls and rejections are counted (default: a fresh model; pass one to export it, e.g. to Prometheus). */
  metrics?: Metrics;
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
  served: number;
  rejected: number;
  peerCheck: string;
  workers: number;
  plugins: string[];
  calls: CallStats[];
}

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
  const predecessor = await inspectExistingSocket(socketPath, !!opts.replace, log);

  const workers = opts.plugins ? 0 : (opts.workers ?? defaultWorkers);
  const runner =
    workers > 0 ? await workerPoolRunner(workers, log, opts.pluginsModule) : await inProcessRunner(table, log);

  const metrics = opts.metrics ?? new Metrics();
  const serializer = new KeyedSerializer();
  const connections = new Set<Socket>();
  const startedAt = new Date();
  const startPerf = performance.now();
  let inFlight = 0,
    served = 0,
    rejected = 0,
    draining = false;
  let drained: (() => void) | undefined;

  const reject = (sock: Socket, reason: RejectReason, message: string, fields: Record<string, unknown> = {}) => {
    rejected++;
    metrics.reject(reason);
    log('warn', 'rejected', { reason, message, ...fields });
    sock.end(encodeReject(reason, message), () => sock.destroy());
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
    served,
    rejected,
    peerCheck: peerChecker.describe,
    workers: runner.workers,
    plugins: Object.keys(table).sort(),
    calls: metrics.snapshot(),
  });

  const serveCall = async (sock: Socket, call: Call, peerPid: number | undefined) => {
    inFlight++;
    const command = call.env.CNI_COMMAND ?? '';
    const containerId = call.env.CNI_CONTAINERID ?? '';
    const t0 = performance.now();
    try {
      let res = await serializer.run(containerId, () => runner.run(call.plugin, { env: call.env, stdin: call.stdin }));
      const ms = performance.now() - t0;
      served++;
      metrics.record(call, ms, res);
      log(res.exitCode === 0 ? 'info' : 'warn', 'call', {
        plugin: call.plugin,
        command,
        containerId,
        ifName: call.env.CNI_IFNAME,
        exitCode: res.exitCode,
        ms: Math.round(ms * 100) / 100,
        peerPid,
        ...(res.exitCode !== 0 ? { stdout: res.stdout.slice(0, 500) } : {}),
      });
      let frame = encodeResult(res);
      if (frame.length - HEADER_LEN > MAX_PAYLOAD) {
        res = errorResponse(
          new CniError(
            ErrCode.Internal,
            `plugin ${call.plugin} produced ${frame.length - HEADER_LEN} bytes of output (limit ${MAX_PAYLOAD})`,
          ),
        );
        frame = encodeResult(res);
      }
      if (sock.destroyed || !sock.writable) log('warn', 'caller-gone', { plugin: call.plugin, command, containerId });
      else sock.end(frame, () => sock.destroy());
    } finally {
      inFlight--;
      if (draining && inFlight === 0) drained?.();
    }
  };

  const onConnection = (sock: Socket) => {
    connections.add(sock);
    sock.on('close', () => connections.delete(sock));
    sock.on('error', (e) => log('warn', 'connection-error', { error: e.message }));
    const peer = peerChecker.check(sock, allowUids);
    if (!peer.ok) return reject(sock, RejectReason.Denied, peer.reason, { peerUid: peer.uid, peerPid: peer.pid });
    const collector = new FrameCollector();
    let complete = false;
    sock.setTimeout(opts.requestTimeoutMs ?? 10_000, () => {
      if (complete) return;
      log('warn', 'request-timeout', { received: collector.received, peerPid: peer.pid });
      sock.destroy();
    });
    sock.on('end', () => {
      if (!complete) log('warn', 'truncated-frame', { received: collector.received, peerPid: peer.pid });
      if (!complete) sock.destroy();
    });
    sock.on('data', (chunk: Buffer) => {
      if (complete) return;
      let state: ReturnType<FrameCollector['push']>;
      try {
        state = collector.push(chunk);
      } catch (e) {
        complete = true;
        return reject(sock, RejectReason.BadFrame, (e as FrameError).message, { peerPid: peer.pid });
      }
      const header = collector.header;
      if (header && header.version !== WIRE_VERSION) {
        complete = true;
        return reject(
          sock,
          RejectReason.Version,
          `daemon speaks protocol version ${WIRE_VERSION}, not ${header.version}`,
        );
      }
      if (state !== 'frame') return;
      complete = true;
      sock.setTimeout(0);
      if (header!.kind === Kind.Status)
        return void sock.end(encodeFrame(Kind.StatusReply, Buffer.from(JSON.stringify(status()))), () =>
          sock.destroy(),
        );
      if (header!.kind !== Kind.Call)
        return reject(sock, RejectReason.BadFrame, `unexpected frame kind ${header!.kind}`);
      if (draining) return reject(sock, RejectReason.Draining, 'daemon is shutting down');
      if (peerChecker.available) {
        const elsewhere = namespaceMismatch(peer.pid);
        if (elsewhere) return reject(sock, RejectReason.OtherNamespace, elsewhere, { peerPid: peer.pid });
      }
      let call: Call;
      try {
        call = decodeCall(collector.payload());
      } catch (e) {
        return reject(sock, RejectReason.BadFrame, (e as Error).message, { peerPid: peer.pid });
      }
      void serveCall(sock, call, peer.pid);
    });
  };

  const server = createServer(onConnection);
  let ino: number;
  try {
    ino = await listenAt(server, socketPath, allowUids.size > 1);
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
      try {
        if (statSync(socketPath).ino === ino) unlinkSync(socketPath);
      } catch {
        /* gone or replaced */
      }
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
      log('info', 'stopped', { served, rejected, abandoned: inFlight });
    })());

  return { socketPath, status, close };
}

/**
 * What is at the socket path now: nothing, a stale socket (replaced silently), or a live daemon (an error
 * unless replacing, then its pid). Anything that is not a socket is left alone.
 */
async function inspectExistingSocket(path: string, replace: boolean, log: LogSink): Promise<number | undefined> {
  try {
    if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let livePid: number;
  try {
    livePid = (await requestStatus(path, 1000)).pid;
  } catch {
    log('info', 'stale-socket', { socket: path });
    return undefined;
  }
  if (!replace)
    throw new Error(`a wasm-cni daemon (pid ${livePid}) already serves ${path}; use --replace to take over`);
  return livePid;
}

/** Binds next to the path and renames into place, so the path always names a working socket. */
async function listenAt(server: Server, path: string, sharedAccess: boolean): Promise<number> {
  mkdirSync(dirname(path), { recursive: true, mode: sharedAccess ? 0o711 : 0o700 });
  const tmp = `${path}.${process.pid}.new`;
  try {
    unlinkSync(tmp);
  } catch {
    /* not there */
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(tmp, sharedAccess ? 0o666 : 0o600);
  renameSync(tmp, path);
  return statSync(path).ino;
}

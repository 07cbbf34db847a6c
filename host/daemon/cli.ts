// `wasm-cni daemon [--socket PATH] [--allow-uid UID]... [--replace] [--idle-exit SECONDS] [--started-by WAY]` and
// `wasm-cni daemon status [--socket PATH] [--json]`. A socket handed over by systemd (LISTEN_FDS) is served as is.
import { closeSync, writeSync } from 'node:fs';
import { describeBuild } from '../build-identity.ts';
import { errorMessage } from '../errors.ts';
import { parseArgs } from 'node:util';
import { serveDaemonMetrics } from './exposition.ts';
import { Metrics } from './metrics.ts';
import { requestStatus } from './client.ts';
import { watchIdle } from './idle.ts';
import { inheritedSocket, signalReady } from './listen.ts';
import { stderrLog } from './log.ts';
import { describeOrigin, detectOrigin, START_WAYS, type StartWay } from './origin.ts';
import { startDaemon } from './server.ts';
import { socketPathFromEnv, type DaemonStatus } from './wire.ts';

const usage = `usage: wasm-cni daemon [--socket PATH] [--allow-uid UID]... [--replace] [--drain-timeout SECONDS] [--workers N]
                      [--idle-exit SECONDS] [--started-by ${START_WAYS.join('|')}]
                      [--metrics-address HOST:PORT|unix:PATH]
       wasm-cni daemon status [--socket PATH] [--json]

--idle-exit: exit after SECONDS with no calls (0, the default: run until stopped; a daemon started on demand
             gets the idle-exit of wasm-cni.conf, 60 s unless set). With a socket from systemd (LISTEN_FDS),
             the next connection starts the service again.
--started-by: how this daemon was started, shown by \`daemon status\` (default: told from the environment).`;

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'status') return statusCommand(argv.slice(1));
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string' },
        'metrics-address': { type: 'string' },
        'allow-uid': { type: 'string', multiple: true },
        replace: { type: 'boolean' },
        'drain-timeout': { type: 'string' },
        workers: { type: 'string' },
        'idle-exit': { type: 'string' },
        'started-by': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`${errorMessage(e)}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const allowUids = (values['allow-uid'] ?? []).map(Number);
  if (allowUids.some((u) => !Number.isInteger(u) || u < 0)) {
    process.stderr.write(`--allow-uid takes a numeric uid\n${usage}\n`);
    return 2;
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) {
    process.stderr.write(`--workers takes a number (0: run plugins on the main thread)\n${usage}\n`);
    return 2;
  }
  const idleExit = values['idle-exit'] === undefined ? 0 : Number(values['idle-exit']);
  if (!Number.isFinite(idleExit) || idleExit < 0) {
    process.stderr.write(`--idle-exit takes a number of seconds\n${usage}\n`);
    return 2;
  }
  const startedBy = values['started-by'] as StartWay | undefined;
  if (startedBy !== undefined && !START_WAYS.includes(startedBy)) {
    process.stderr.write(`--started-by takes one of ${START_WAYS.join(', ')}\n${usage}\n`);
    return 2;
  }
  const inherited = inheritedSocket();
  // Metrics first: a malformed address fails before the daemon socket (or a predecessor) is touched.
  const metrics = new Metrics();
  const exporter = values['metrics-address']
    ? await serveDaemonMetrics(values['metrics-address'], metrics, stderrLog)
    : undefined;
  const daemon = await startDaemon({
    metrics,
    workers,
    socketPath: values.socket ?? socketPathFromEnv(),
    allowUids,
    replace: values.replace,
    drainTimeoutMs: values['drain-timeout'] ? Number(values['drain-timeout']) * 1000 : undefined,
    log: stderrLog,
    listenFd: inherited?.fd,
    origin: detectOrigin(startedBy, inherited, process.env, idleExit || undefined),
  }).catch(async (e) => {
    await exporter?.close();
    throw e;
  });
  signalReady((fd, line) => {
    writeSync(fd, line);
    closeSync(fd);
  });
  exporter?.attach(daemon);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (idleExit > 0)
      watchIdle(daemon.status, idleExit * 1000, () => {
        stderrLog('info', 'idle-exit', { seconds: idleExit });
        stop();
      });
  });
  await daemon.close();
  await exporter?.close();
  // A plugin may keep a handle open (a netlink socket, a timer); a stopped daemon must still exit.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}

async function statusCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { socket: { type: 'string' }, json: { type: 'boolean' } } }));
  } catch (e) {
    process.stderr.write(`${errorMessage(e)}\n${usage}\n`);
    return 2;
  }
  const socket = values.socket ?? socketPathFromEnv();
  let status: DaemonStatus;
  try {
    status = await requestStatus(socket);
  } catch (e) {
    process.stderr.write(`wasm-cni daemon: not running at ${socket} (${errorMessage(e)})\n`);
    return 1;
  }
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return 0;
}

export function formatStatus(s: DaemonStatus): string {
  const lines = [
    `wasm-cni daemon pid ${s.pid} on ${s.socket} (protocol ${s.protocolVersion}), up ${(s.uptimeMs / 1000).toFixed(0)} s${s.draining ? ', draining' : ''}`,
    `in flight ${s.inFlight} (${s.busyContainers} containers), connections ${s.connections ?? 0}/${s.maxConnections ?? '?'}, served ${s.served}, rejected ${s.rejected}; callers checked by ${s.peerCheck}`,
    ...(s.rejections ?? []).map((r) => `  rejected ${r.count} × ${r.reason}; latest: ${r.lastMessage}`),
    `plugins: ${s.plugins.join(', ') || '(none)'}`,
    `build: ${describeBuild(s.build)}`,
    ...(s.origin ? [describeOrigin(s.origin)] : []),
  ];
  if (s.calls.length) {
    const rows = [
      ['plugin', 'command', 'calls', 'errors', 'mean ms', 'p50 ms', 'p95 ms', 'max ms'],
      ...s.calls.map((c) => [c.plugin, c.command, c.calls, c.errors, c.meanMs, c.p50Ms, c.p95Ms, c.maxMs].map(String)),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    lines.push(
      '',
      ...rows.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')),
    );
  }
  return `${lines.join('\n')}\n`;
}

// Deployment rows (printed as their own table after the main one), each side by side in one run:
//   ownns  the full chain through a daemon in its own mount namespace (as a DaemonSet container runs it) vs the
//          same chain through a daemon in the caller's namespaces; prints which way the calls were served (a
//          daemon that cannot serve another mount namespace rejects them and they run cold)
//   od20   20 pods ADD+DEL in sequence (bridge+host-local) on a host with nothing set up: an installed bin dir,
//          no daemon, the first call starts one on demand (included) vs the reference's total
//   odlo   one loopback ADD through a daemon started on demand, after the first call, vs the reference
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestStatus } from '../host/daemon/client.ts';
import { placeKit, settingsFileName } from '../host/daemon/kit.ts';
import { buildDir, cliEntryPath, cniBinDir } from '../host/paths.ts';
import { benchEnv, BenchHost } from './host.ts';
import { rows, type BenchCase, type Row } from './rows.ts';
import { referenceBinDir, type Side } from './sides.ts';
import { median, ms, ratio, table } from './stats.ts';

export const deployRowIds = ['ownns', 'od20', 'odlo'];

interface Outcome {
  id: string;
  title: string;
  baseline: string;
  baseMs?: number;
  oursMs?: number;
  goal: string;
  note: string;
}

function row(id: string): Row {
  const r = rows.find((x) => x.id === id);
  if (!r) throw new Error(`bench/rows.ts has no row ${id}`);
  return r;
}

/** A daemon from the bundle; `ownMountNs` runs it in a private mount namespace of its own. */
async function startDaemon(socket: string, ownMountNs: boolean): Promise<ChildProcess> {
  const args = [cliEntryPath, 'daemon', '--socket', socket];
  const proc = ownMountNs
    ? spawn('unshare', ['--mount', '--propagation', 'private', '--', process.execPath, ...args], {
        env: benchEnv(),
        stdio: 'ignore',
      })
    : spawn(process.execPath, args, { env: benchEnv(), stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      await requestStatus(socket, 500);
      return proc;
    } catch {
      if (proc.exitCode !== null || i > 150) {
        proc.kill('SIGKILL');
        throw new Error(`daemon on ${socket} did not start`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await exited;
}

/** Prepares each (side, host) pair and runs `iterations` rounds, sides interleaved; medians per side. */
async function interleaved(
  r: Row,
  sides: Array<{ side: Side; host: BenchHost; slot: number }>,
  iterations: number,
  warmUp = true,
): Promise<number[]> {
  const cases: BenchCase[] = [];
  const samples: number[][] = sides.map(() => []);
  try {
    for (const s of sides) {
      const c = await r.prepare(s.side, { host: s.host, slot: s.slot });
      cases.push(c);
      if (warmUp) await c.once(-1);
    }
    for (let i = 0; i < iterations; i++) for (const [k, c] of cases.entries()) samples[k]!.push(await c.once(i));
  } finally {
    for (const c of cases) await c.close().catch(() => {});
  }
  return samples.map(median);
}

/** An installed bin dir (the kit, bun runtime) with on-demand start on and a private socket. */
function installedSide(host: BenchHost, label: string): { side: Side; socket: string } {
  const binDir = host.dir(`bin-${label}`);
  placeKit(binDir, buildDir);
  const socket = join(host.dir(`run-${label}`), 'wasm-cni.sock');
  writeFileSync(join(binDir, settingsFileName), `on-demand = true\nidle-exit = 120\nsocket = ${socket}\n`);
  return { side: { id: 'daemon', label, binDir, env: benchEnv({ WASM_CNI_SOCKET: socket }) }, socket };
}

async function stopOnDemand(socket: string): Promise<void> {
  let pid: number;
  try {
    pid = (await requestStatus(socket, 1000)).pid;
  } catch {
    return;
  }
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 25));
    } catch {
      break;
    }
  }
  rmSync(socket, { force: true });
}

const ref = (): Side => ({ id: 'ref', label: 'reference', binDir: referenceBinDir, env: benchEnv() });

async function ownNamespaceRow(iterations: number): Promise<Outcome> {
  const hosts = [new BenchHost(), new BenchHost()];
  const sockets = hosts.map((h) => join(h.dir('sock'), 'wasm-cni.sock'));
  const daemons: ChildProcess[] = [];
  try {
    daemons.push(await startDaemon(sockets[0]!, false), await startDaemon(sockets[1]!, true));
    const sides = hosts.map((host, k) => ({
      side: {
        id: 'daemon' as const,
        label: `daemon ${k}`,
        binDir: cniBinDir,
        env: benchEnv({ WASM_CNI_SOCKET: sockets[k] }),
      },
      host,
      slot: k,
    }));
    const [same, other] = await interleaved(row('full'), sides, iterations);
    const s = await requestStatus(sockets[1]!);
    const total = s.served + s.rejected;
    return {
      id: 'ownns',
      title: 'full chain ADD+DEL, daemon in its own mount namespace',
      baseline: 'daemon in the same namespaces',
      baseMs: same,
      oursMs: other,
      goal: '≤ 1.1×',
      note: `own-namespace daemon served ${s.served} of ${total} calls${s.rejected ? `, rejected ${s.rejected} (those ran cold)` : ''}`,
    };
  } finally {
    for (const d of daemons) await stop(d);
    for (const h of hosts) h.sweep();
  }
}

async function onDemandPodsRow(iterations: number): Promise<Outcome> {
  const pods = 20;
  const hosts = [new BenchHost(), new BenchHost()];
  const ours = installedSide(hosts[1]!, 'od20');
  const totals: number[][] = [[], []];
  const cases: BenchCase[] = [];
  try {
    cases.push(await row('br').prepare(ref(), { host: hosts[0]!, slot: 0 }));
    cases.push(await row('br').prepare(ours.side, { host: hosts[1]!, slot: 1 }));
    for (let i = 0; i < iterations; i++) {
      for (const [k, c] of cases.entries()) {
        if (k === 1) await stopOnDemand(ours.socket); // nothing running before the first pod
        let total = 0;
        for (let p = 0; p < pods; p++) total += await c.once(i * pods + p);
        totals[k]!.push(total);
      }
    }
  } finally {
    for (const c of cases) await c.close().catch(() => {});
    await stopOnDemand(ours.socket);
    for (const h of hosts) h.sweep();
  }
  return {
    id: 'od20',
    title: `${pods} pods ADD+DEL in sequence, nothing set up (on-demand start included): total`,
    baseline: 'reference total',
    baseMs: median(totals[0]!),
    oursMs: median(totals[1]!),
    goal: '≤ 0.6×',
    note: 'installed bin dir, kit runtime (bun), no daemon before the first call',
  };
}

async function onDemandLoopbackRow(iterations: number): Promise<Outcome> {
  const hosts = [new BenchHost(), new BenchHost()];
  const ours = installedSide(hosts[1]!, 'odlo');
  try {
    const [base, warm] = await interleaved(
      row('lo'),
      [
        { side: ref(), host: hosts[0]!, slot: 0 },
        { side: ours.side, host: hosts[1]!, slot: 1 },
      ],
      iterations,
    ); // the untimed warm-up call starts the daemon
    const s = await requestStatus(ours.socket);
    return {
      id: 'odlo',
      title: 'loopback ADD through an on-demand daemon, after the first call',
      baseline: 'reference',
      baseMs: base,
      oursMs: warm,
      goal: '≤ 1.0×',
      note: `daemon ${s.origin?.startedBy ?? '?'}, served ${s.served}`,
    };
  } finally {
    await stopOnDemand(ours.socket);
    for (const h of hosts) h.sweep();
  }
}

/** Runs the deployment rows picked by `only` (all when undefined) and returns their table. */
export async function deployRows(only?: string[], iterations?: number): Promise<string> {
  const want = (id: string) => !only || only.includes(id);
  const outcomes: Outcome[] = [];
  const attempt = async (id: string, title: string, fn: () => Promise<Outcome>) => {
    if (!want(id)) return;
    process.stderr.write(`bench: ${title} …\n`);
    try {
      outcomes.push(await fn());
    } catch (e) {
      outcomes.push({ id, title, baseline: '', goal: '', note: `failed: ${(e as Error).message.slice(0, 300)}` });
    }
  };
  await attempt('ownns', 'daemon in its own mount namespace', () => ownNamespaceRow(iterations ?? 10));
  await attempt('od20', '20 pods, on-demand start', () => onDemandPodsRow(iterations ?? 3));
  await attempt('odlo', 'loopback via on-demand daemon', () => onDemandLoopbackRow(iterations ?? 20));
  if (!outcomes.length) return '';
  const head = ['deployment row', 'baseline', 'baseline ms', 'ours ms', 'ours/baseline', 'goal', 'how served'];
  const body = outcomes.map((o) => [
    o.title,
    o.baseline,
    ms(o.baseMs),
    ms(o.oursMs),
    ratio(o.oursMs, o.baseMs),
    o.goal,
    o.note,
  ]);
  return `\nDeployment (medians; side by side in one run)\n\n${table([head, ...body])}\n`;
}

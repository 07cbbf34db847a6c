// Rows that a per-call median cannot show, printed as their own tables after the main one:
//  - load: 16 bridge + host-local ADDs in parallel, then their 16 DELs, rounds after rounds; the reference alone
//    against ours (daemon) alone: p50 and p99 per call and the wall time of a round (goal: ours p50 and p99 ≤
//    the reference's, wall ≤ 0.7× the reference's);
//  - soak: 20,000 loopback calls (ADD/DEL pairs, 4 in flight) through a daemon of its own, started for the row
//    (what the other rows left in the shared daemon's heap is not the soak's): its RSS after the first 2,000
//    calls and at the end, and the growth per call (goal: flat within 10 %, under 100 MB).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnPlugin } from '../host/cni/invoke.ts';
import { benchEnv, cmd, type BenchHost } from './host.ts';
import { startBenchDaemon, type Side } from './sides.ts';
import { ms, ratio, table } from './stats.ts';

export interface LoadRowsOptions {
  host: BenchHost;
  sides: Side[];
  /** --rows: the rows to run (all when undefined); 'load' and 'soak' are these. */
  only?: string[];
  /** --iterations: rounds of the load row; the soak row scales its 20,000 calls by iterations / 10. */
  iterations?: number;
}

const width = 16;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface LoadFigures {
  p50: number;
  p99: number;
  wall: number;
}

async function loadSide(side: Side, slot: number, o: LoadRowsOptions, rounds: number): Promise<LoadFigures> {
  const bridge = o.host.name(`ld${slot}`);
  const dataDir = o.host.dir(`load-${side.id}`);
  const pods = Array.from({ length: width }, (_, i) => o.host.netns(`ld${slot}-${i}`));
  const conf = new TextEncoder().encode(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `load${slot}`,
      type: 'bridge',
      bridge,
      isGateway: true,
      ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: `10.200.229.${slot * 128}/25` }]] },
    }),
  );
  const call = async (command: string, i: number, round: number): Promise<number> => {
    const env = {
      ...side.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: `load${slot}-${round}-${i}`,
      CNI_NETNS: pods[i]!,
      CNI_IFNAME: 'eth0',
      CNI_PATH: side.binDir,
    };
    const t0 = performance.now();
    const r = await spawnPlugin(join(side.binDir, 'bridge'), conf, env);
    if (r.exitCode !== 0) throw new Error(`${side.id} ${command}: ${r.stdout.slice(0, 300)}`);
    return performance.now() - t0;
  };
  const samples: number[] = [];
  const walls: number[] = [];
  try {
    for (let round = -1; round < rounds; round++) {
      const t0 = performance.now();
      const adds = await Promise.all(pods.map((_, i) => call('ADD', i, round)));
      const dels = await Promise.all(pods.map((_, i) => call('DEL', i, round)));
      if (round < 0) continue; // warm-up
      walls.push(performance.now() - t0);
      samples.push(...adds, ...dels);
    }
  } finally {
    try {
      cmd('ip', ['link', 'delete', bridge]);
    } catch {
      /* never made */
    }
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), wall: percentile(walls, 50) };
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function soak(o: LoadRowsOptions, calls: number): Promise<string> {
  const socket = join(o.host.dir('soak-sock'), 'soak.sock');
  const daemon = await startBenchDaemon(socket);
  try {
    return await soakOn(o, calls, daemon.proc.pid!, {
      ...o.sides.find((s) => s.id === 'daemon')!,
      env: benchEnv({ WASM_CNI_SOCKET: socket }),
    });
  } finally {
    await daemon.stop();
  }
}

async function soakOn(o: LoadRowsOptions, calls: number, daemonPid: number, side: Side): Promise<string> {
  const netns = o.host.netns('soak');
  const conf = new TextEncoder().encode(JSON.stringify({ cniVersion: '1.0.0', name: 'soak', type: 'loopback' }));
  const warm = Math.min(2000, Math.floor(calls / 10));
  let done = 0;
  let atWarm = NaN;
  const worker = async () => {
    while (done < calls) {
      const n = done;
      done += 2;
      for (const command of ['ADD', 'DEL']) {
        const env = { ...side.env, CNI_COMMAND: command, CNI_CONTAINERID: `soak${n}`, CNI_NETNS: netns };
        const r = await spawnPlugin(join(side.binDir, 'loopback'), conf, {
          ...env,
          CNI_IFNAME: 'lo',
          CNI_PATH: side.binDir,
        });
        if (r.exitCode !== 0) throw new Error(`soak ${command}: ${r.stdout.slice(0, 300)}`);
      }
      if (Number.isNaN(atWarm) && done >= warm) atWarm = rssMB(daemonPid);
    }
  };
  const start = rssMB(daemonPid);
  await Promise.all(Array.from({ length: 4 }, worker));
  const end = rssMB(daemonPid);
  const perCall = ((end - atWarm) * 1024 * 1024) / Math.max(1, done - warm);
  return table([
    [
      'soak: loopback calls via the daemon',
      'calls',
      'RSS start MB',
      `RSS at ${warm} MB`,
      'RSS end MB',
      'end / warm',
      'bytes per call',
      'goal',
    ],
    [
      'ADD/DEL pairs, 4 in flight',
      String(done),
      start.toFixed(1),
      atWarm.toFixed(1),
      end.toFixed(1),
      ratio(end, atWarm),
      perCall.toFixed(0),
      '≤ 1.10×, < 100 MB',
    ],
  ]);
}

/** Runs the load and soak rows (unless --rows leaves them out) and prints their tables. */
export async function runLoadRows(o: LoadRowsOptions): Promise<void> {
  const want = (id: string) => !o.only || o.only.includes(id);
  const scale = o.iterations ?? 10;
  if (want('load')) {
    process.stderr.write('bench: 16 parallel bridge ADDs then DELs …\n');
    const ref = o.sides.find((s) => s.id === 'ref')!;
    const ours = o.sides.find((s) => s.id === 'daemon')!;
    const r = await loadSide(ref, 0, o, scale);
    const d = await loadSide(ours, 1, o, scale);
    process.stdout.write(
      `\n${table([
        ['load: 16 parallel bridge+host-local ADD then DEL', 'reference ms', 'ours (daemon) ms', 'ours / ref', 'goal'],
        ['per call p50', ms(r.p50), ms(d.p50), ratio(d.p50, r.p50), '≤ 1.00×'],
        ['per call p99', ms(r.p99), ms(d.p99), ratio(d.p99, r.p99), '≤ 1.00×'],
        ['wall of a round (16 ADD + 16 DEL)', ms(r.wall), ms(d.wall), ratio(d.wall, r.wall), '≤ 0.70×'],
      ])}\n`,
    );
  }
  if (want('soak')) {
    process.stderr.write('bench: daemon soak …\n');
    process.stdout.write(`\n${await soak(o, Math.max(200, Math.round((20_000 * scale) / 10)))}\n`);
  }
}

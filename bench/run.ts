// `npm run bench`: our plugins against the Go reference (/usr/lib/cni), each exec'd as a whole process the
// way a runtime does, side by side in one run: reference, ours through the daemon, ours on the cold path,
// and the floor (the kernel's and firewall's own cost). Prints medians and ratios.
//   npm run bench -- [--rows full,br,brm,pm,hl0,hl1000,hl60000,lo,pods] [--iterations N] [--json FILE]
//                    [--daemon-profile DIR]   (a .cpuprofile of the daemon, for where its time goes)
//                    [--daemon-workers N]     (run the daemon's handlers on N worker threads)
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requestStatus } from '../host/daemon/client.ts';
import { plugins } from '../host/plugins/registry.ts';
import { measureFloor, type FloorMs } from './floor.ts';
import { BenchHost, timedRun } from './host.ts';
import { rows, type BenchCase, type Row } from './rows.ts';
import { deployRows } from './rows-deploy.ts';
import { runLoadRows } from './rows-load.ts';
import { nftRows } from './rows-nft.ts';
import { referenceBinDir, sides, startBenchDaemon, type Side, type SideId } from './sides.ts';
import { median, ms, ratio, table } from './stats.ts';

interface RowOutcome {
  row: Row;
  medians: Partial<Record<SideId, number>>;
  errors: Partial<Record<SideId, string>>;
  floor?: number;
  skipped?: string;
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    iterations: { type: 'string' },
    json: { type: 'string' },
    'daemon-profile': { type: 'string' },
    'daemon-workers': { type: 'string' },
  },
});
rows.push(...nftRows(rows));
const selected = values.rows ? rows.filter((r) => values.rows!.split(',').includes(r.id)) : rows;
const host = new BenchHost();
const sockDir = host.dir('sock');
const allSides = sides(join(sockDir, 'wasm-cni.sock'), join(sockDir, 'absent.sock'));

function missingPlugins(row: Row): string[] {
  return row.needs.filter((t) => !Object.hasOwn(plugins, t) || !existsSync(join(referenceBinDir, t)));
}

async function measureRow(row: Row, floor: FloorMs | undefined): Promise<RowOutcome> {
  const out: RowOutcome = {
    row,
    medians: {},
    errors: {},
    floor: floor && row.floor ? await row.floor(floor) : undefined,
  };
  const missing = missingPlugins(row);
  if (missing.length) return { ...out, skipped: `not registered yet: ${missing.join(', ')}` };
  const iterations = values.iterations ? Number(values.iterations) : row.iterations;
  const samples: Partial<Record<SideId, number[]>> = {};
  const runSides = async (group: Side[]) => {
    const cases = new Map<Side, BenchCase>();
    try {
      for (const [slot, side] of group.entries()) {
        try {
          const c = await row.prepare(side, { host, slot: row.sequential ? 0 : slot });
          cases.set(side, c);
          if (!row.sequential) await c.once(-1); // warm-up, untimed
          samples[side.id] = [];
        } catch (e) {
          out.errors[side.id] = (e as Error).message;
        }
      }
      for (let i = 0; i < iterations; i++) {
        for (const [side, c] of cases) {
          if (out.errors[side.id]) continue;
          try {
            samples[side.id]!.push(await c.once(i));
          } catch (e) {
            out.errors[side.id] = (e as Error).message;
          }
        }
      }
    } finally {
      for (const c of cases.values()) await c.close().catch(() => {});
    }
  };
  if (row.sequential) for (const side of allSides) await runSides([side]);
  else await runSides(allSides);
  for (const side of allSides)
    if (!out.errors[side.id] && samples[side.id]?.length) out.medians[side.id] = median(samples[side.id]!);
  return out;
}

function machine(): string {
  const c = cpus();
  return `${c[0]?.model.trim() ?? 'unknown CPU'}, ${c.length} vCPU, Linux ${release()}, Node ${process.version}`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmarks create namespaces and links: run as root');
  if (!existsSync(join(allSides[1]!.binDir, 'bridge'))) throw new Error('build/cni is missing: run build.sh');
  let daemon;
  try {
    daemon = await startBenchDaemon(
      join(sockDir, 'wasm-cni.sock'),
      values['daemon-profile'],
      values['daemon-workers'] === undefined ? undefined : Number(values['daemon-workers']),
    );
  } catch (e) {
    host.sweep();
    throw e;
  }
  const stopAll = () => {
    try {
      host.sweep();
    } finally {
      daemon.proc.kill('SIGKILL');
      process.exit(130);
    }
  };
  process.once('SIGINT', stopAll);
  const outcomes: RowOutcome[] = [];
  try {
    const floor = selected.some((r) => r.floor) ? await measureFloor(host, 20) : undefined;
    for (const row of selected) {
      process.stderr.write(`bench: ${row.title} …\n`);
      outcomes.push(await measureRow(row, floor));
    }
    const status = await requestStatus(join(sockDir, 'wasm-cni.sock')).catch(() => undefined);
    print(outcomes, status?.calls ?? [], await execCost());
    process.stdout.write(
      await deployRows(values.rows?.split(','), values.iterations ? Number(values.iterations) : undefined),
    );
    await runLoadRows({
      host,
      sides: allSides,
      only: values.rows?.split(','),
      iterations: values.iterations ? Number(values.iterations) : undefined,
    });
  } finally {
    await daemon.stop();
    host.sweep();
  }
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify({ machine: machine(), outcomes: outcomes.map((o) => ({ ...o, row: o.row.id })) }, null, 2),
    );
}

/** What starting any executable costs here, the way plugins are started (median of 21 runs of /bin/true): the
 * floors leave it out, yet every plugin call of a chain pays it once, whatever the plugin is written in. */
async function execCost(): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 21; i++) xs.push(await timedRun('true', [], ''));
  return median(xs);
}

function print(
  outcomes: RowOutcome[],
  calls: Array<{ plugin: string; command: string; calls: number; p50Ms: number }>,
  execMs: number,
): void {
  const head = [
    'row',
    'reference ms',
    'daemon ms',
    'cold ms',
    'floor ms',
    'daemon/ref',
    'daemon/floor',
    'cold/ref',
    'target',
  ];
  const body = outcomes.map((o) => {
    if (o.skipped) return [o.row.title, '—', '—', '—', ms(o.floor), '', '', '', `skipped (${o.skipped})`];
    const m = o.medians;
    return [
      o.row.title,
      ms(m.ref),
      ms(m.daemon),
      ms(m.cold),
      ms(o.floor),
      ratio(m.daemon, m.ref),
      ratio(m.daemon, o.floor),
      ratio(m.cold, m.ref),
      o.row.target,
    ];
  });
  const hl0 = outcomes.find((o) => o.row.id === 'hl0')?.medians.daemon;
  const hl60 = outcomes.find((o) => o.row.id === 'hl60000')?.medians.daemon;
  process.stdout.write(
    `\nwasm-cni benchmarks on ${machine()}; medians of whole-process runs, NODE_OPTIONS/NODE_EXTRA_CA_CERTS unset\n\n`,
  );
  process.stdout.write(`${table([head, ...body])}\n`);
  process.stdout.write(
    `\nStarting an executable (the runtime's exec of a plugin, not in any floor): ${ms(execMs)} ms; ` +
      'the full-chain rows make 6 plugin calls (3 ADD + 3 DEL), the bridge and portmap rows 2, loopback 1.\n',
  );
  if (hl0 !== undefined && hl60 !== undefined)
    process.stdout.write(`\nhost-local via daemon at 60,000 vs at 0 reservations: ${ratio(hl60, hl0)}\n`);
  for (const o of outcomes)
    for (const [side, err] of Object.entries(o.errors))
      process.stdout.write(`\n${o.row.id} ${side} failed: ${err.slice(0, 400)}\n`);
  if (calls.length) {
    process.stdout.write(
      '\nInside the daemon (handler time per call, p50 ms): ' +
        calls.map((c) => `${c.plugin} ${c.command} ${c.p50Ms}`).join(', ') +
        '\n',
    );
  }
}

await main();

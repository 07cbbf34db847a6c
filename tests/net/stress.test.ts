// Netlink under load: 64 requests waiting for replies at once across 16 namespaces in a process whose
// libuv pool (libuv's default 4 threads) is held busy the whole time, and worker threads doing link
// work in their own namespaces concurrently. No timeouts, every reply where it belongs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../../host/paths.ts';
import type { StressConfig, StressReport } from '../_lib/netlink-stress.ts';
import type { NetlinkWorkerResult, NetlinkWorkerTask } from '../_lib/netlink-worker.ts';
import { run, sh } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

const NS = 16;
const PER_NS = 4;
const CYCLES = 2;
const sb = new Sandbox();
const spaces: TestNetns[] = [];

const linkNames = async (netns: string): Promise<string[]> =>
  (JSON.parse(await sh('ip', ['-n', netns, '-j', 'link', 'show'])) as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .sort();

const Pool = suite('net: stress with a held libuv pool');
Pool.before(async () => {
  for (let i = 0; i < NS; i++) spaces.push(await sb.netns(`p${i}`));
});
Pool.after(() => sb.cleanup());

Pool(
  `${NS * PER_NS} concurrent waits and request cycles across ${NS} namespaces, UV_THREADPOOL_SIZE=4 all held`,
  async () => {
    const cfg: StressConfig = {
      namespaces: spaces.map((s) => s.path),
      prefix: sb.prefix,
      perNs: PER_NS,
      cycles: CYCLES,
      blockPool: true,
      phaseTimeoutMs: 8000,
    };
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, 'tests', '_lib', 'netlink-stress.ts'), JSON.stringify(cfg)],
      { env: { UV_THREADPOOL_SIZE: '4' }, timeoutMs: 40_000 },
    );
    assert.is(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as StressReport;
    assert.is(report.poolSize, '4');
    assert.ok(report.poolBlocked, 'every pool thread was held while the requests ran');
    assert.equal(report.problems, []);
    assert.is(report.waitsArmed, NS * PER_NS);
    assert.is(report.waitsPendingBeforeSend, NS * PER_NS, 'all waits were pending before any reply existed');
    assert.is(report.waitsReady, NS * PER_NS);
    assert.is(report.requests, NS * PER_NS * CYCLES * 5);
    for (const [i, s] of spaces.entries()) assert.equal(await linkNames(s.name), [`${sb.prefix}m${i}`, 'lo'].sort());
  },
);

Pool.run();

const WORKERS = 3;
const W = suite('net: worker threads');
const pairs: Array<[TestNetns, TestNetns]> = [];
const wb = new Sandbox();
W.before(async () => {
  for (let i = 0; i < WORKERS; i++) pairs.push([await wb.netns(`w${i}`), await wb.netns(`w${i}p`)]);
});
W.after(() => wb.cleanup());

/** A worker running tests/_lib/netlink-worker.ts from sources (tsx registered inside the thread). */
function runWorker(task: NetlinkWorkerTask): Promise<NetlinkWorkerResult> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const body = new URL('../_lib/netlink-worker.ts', import.meta.url).href;
  const w = new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(body)}); })`,
    { eval: true, workerData: task },
  );
  return new Promise((resolve, reject) => {
    let result: NetlinkWorkerResult | undefined;
    w.once('message', (m: NetlinkWorkerResult) => {
      result = m;
    });
    w.once('error', reject);
    w.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`worker ${task.id} exited ${code} without a result`)),
    );
  });
}

W(`${WORKERS} worker threads create, dump and delete links in their own namespaces at the same time`, async () => {
  const cycles = 15;
  const results = await Promise.all(
    pairs.map(([ns, peer], id) =>
      runWorker({ id, prefix: wb.prefix, ns: ns.path, peerNs: peer.path, cycles, fillers: 40 }),
    ),
  );
  for (const r of results) {
    assert.equal(r.problems, [], `worker ${r.id}`);
    assert.is(r.cycles, cycles);
    assert.is(r.dumps, cycles * 2);
  }
  for (const [ns, peer] of pairs) {
    assert.equal(await linkNames(ns.name), ['lo']);
    assert.equal(await linkNames(peer.name), ['lo']);
  }
});

W.run();

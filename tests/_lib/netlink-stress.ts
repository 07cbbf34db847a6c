// Many netlink requests in flight at once, run as a child process so its libuv pool size is known
// (tests/net/stress.test.ts starts it with UV_THREADPOOL_SIZE=4, libuv's default):
//   node --import tsx tests/_lib/netlink-stress.ts '<StressConfig as JSON>'
// It prints one line of JSON, a StressReport. With blockPool, every pool thread is held (a blocking open
// of a FIFO no one writes) while the requests run: replies must not need the pool at all.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { addon } from '../../host/native/addon.ts';
import { NetHandle } from '../../host/net/index.ts';
import { attrStr, parseAttrs, PayloadWriter } from '../../host/net/nl/attrs.ts';
import {
  IFLA_IFNAME,
  NETLINK_ROUTE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_REQUEST,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../host/net/nl/constants.ts';
import { decodeError, decodeMessages, encodeMessage } from '../../host/net/nl/message.ts';
import { ifInfoMsg } from '../../host/net/nl/structs.ts';

export interface StressConfig {
  /** namespace paths; each gets a marker ifb link `${prefix}m${i}` */
  namespaces: string[];
  prefix: string;
  /** sockets (raw waits) and handles (requests) per namespace */
  perNs: number;
  /** create/get/list/delete cycles per handle */
  cycles: number;
  blockPool: boolean;
  /** give up on a phase after this long (reported, not thrown) */
  phaseTimeoutMs: number;
}

export interface StressReport {
  poolSize: string;
  poolBlocked: boolean;
  /** raw waits: how many were still pending when the replies were requested, how many saw their reply */
  waitsArmed: number;
  waitsPendingBeforeSend: number;
  waitsReady: number;
  /** from the last send to the last wait settled */
  waitsMs: number;
  /** NetHandle requests (each cycle: create, get, list, delete, find) */
  requests: number;
  requestsMs: number;
  /** anything wrong: timeouts, errors, replies or links seen in the wrong place */
  problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const marker = (cfg: StressConfig, i: number) => `${cfg.prefix}m${i}`;

/** Holds `threads` pool threads until the returned function is called. */
async function holdPool(threads: number, prefix: string): Promise<{ held: boolean; release: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-fifo-`));
  const fifos = Array.from({ length: threads }, (_, i) => join(dir, `f${i}`));
  execFileSync('mkfifo', fifos);
  const readers = fifos.map((f) => open(f, 'r'));
  const probe = stat(dir).then(() => 'ran');
  const held = (await Promise.race([probe, sleep(200).then(() => 'held')])) === 'held';
  return {
    held,
    release: async () => {
      const writers = fifos.map((f) => openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
      for (const r of await Promise.all(readers)) await r.close();
      for (const w of writers) closeSync(w);
      await probe;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function within<T>(p: Promise<T>, ms: number, what: string, problems: string[]): Promise<T | undefined> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<undefined>((r) => {
      timer = setTimeout(() => {
        problems.push(`${what}: not done after ${ms} ms`);
        r(undefined);
      }, ms);
    }),
  ]);
}

/** Raw waits armed on every socket before any request is sent; then each socket asks for its namespace's marker. */
async function rawWaits(cfg: StressConfig, report: StressReport): Promise<void> {
  const a = addon();
  const socks = cfg.namespaces.flatMap((ns, i) =>
    Array.from({ length: cfg.perNs }, (_, k) => ({
      ns: i,
      fd: a.netlinkOpen(ns, NETLINK_ROUTE),
      seq: 1000 + i * cfg.perNs + k,
      settledAt: 0,
    })),
  );
  try {
    const waits = socks.map((s) =>
      a.netlinkWait(s.fd, cfg.phaseTimeoutMs).then((ready) => {
        s.settledAt = performance.now();
        return ready;
      }),
    );
    report.waitsArmed = waits.length;
    await sleep(30);
    report.waitsPendingBeforeSend = socks.filter((s) => s.settledAt === 0).length;
    for (const s of socks) {
      const payload = new PayloadWriter().raw(ifInfoMsg()).str(IFLA_IFNAME, marker(cfg, s.ns)).bytes();
      a.netlinkSend(s.fd, encodeMessage(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, s.seq, payload));
    }
    const sentAt = performance.now();
    const ready = await within(Promise.all(waits), cfg.phaseTimeoutMs + 1000, 'raw waits', report.problems);
    report.waitsReady = ready?.filter(Boolean).length ?? socks.filter((s) => s.settledAt > 0).length;
    report.waitsMs = Math.max(0, ...socks.map((s) => s.settledAt - sentAt));
    for (const s of socks) {
      const msgs = [];
      for (let d = a.netlinkRecv(s.fd); d; d = a.netlinkRecv(s.fd)) msgs.push(...decodeMessages(d));
      const link = msgs.find((m) => m.type === RTM_NEWLINK);
      const name = link && attrStr(parseAttrs(link.data, 16), IFLA_IFNAME);
      const ack = msgs.find((m) => m.type === NLMSG_ERROR);
      if (msgs.some((m) => m.seq !== s.seq)) report.problems.push(`socket ${s.seq}: a reply to another request`);
      if (name !== marker(cfg, s.ns)) report.problems.push(`socket ${s.seq} in namespace ${s.ns}: got link ${name}`);
      if (!ack || decodeError(ack, false).errno !== 0) report.problems.push(`socket ${s.seq}: no ACK`);
    }
  } finally {
    for (const s of socks) a.netlinkClose(s.fd);
  }
}

/** Create/get/list/delete/find cycles on perNs handles per namespace, all at once. */
async function handleRequests(cfg: StressConfig, handles: NetHandle[][], report: StressReport): Promise<void> {
  const t0 = performance.now();
  const work = handles.flatMap((hs, i) =>
    hs.map(async (h, k) => {
      for (let c = 0; c < cfg.cycles; c++) {
        const name = `${cfg.prefix}${i}x${k}`;
        try {
          await h.link.addIfb({ name });
          report.requests++;
          if ((await h.link.get(name)).name !== name) report.problems.push(`${name}: get answered another link`);
          report.requests++;
          const stray = (await h.link.list())
            .map((l) => l.name)
            .filter((n) => n !== 'lo' && n !== marker(cfg, i) && !n.startsWith(`${cfg.prefix}${i}x`));
          report.requests++;
          if (stray.length) report.problems.push(`namespace ${i} lists ${stray.join(', ')}`);
          await h.link.delete(name);
          report.requests++;
          if (await h.link.find(name)) report.problems.push(`${name}: still there after delete`);
          report.requests++;
        } catch (e) {
          report.problems.push(`${name}: ${(e as Error).message}`);
        }
      }
    }),
  );
  await within(Promise.all(work), cfg.phaseTimeoutMs + 1000, 'handle requests', report.problems);
  report.requestsMs = performance.now() - t0;
}

async function main(cfg: StressConfig): Promise<StressReport> {
  const report: StressReport = {
    poolSize: process.env.UV_THREADPOOL_SIZE ?? '(default)',
    poolBlocked: false,
    waitsArmed: 0,
    waitsPendingBeforeSend: 0,
    waitsReady: 0,
    waitsMs: 0,
    requests: 0,
    requestsMs: 0,
    problems: [],
  };
  const handles: NetHandle[][] = [];
  try {
    for (const [i, ns] of cfg.namespaces.entries()) {
      const hs: NetHandle[] = [];
      for (let k = 0; k < cfg.perNs; k++) hs.push(await NetHandle.open(ns, { timeoutMs: cfg.phaseTimeoutMs }));
      handles.push(hs);
      await hs[0].link.addIfb({ name: marker(cfg, i) });
    }
    const pool = cfg.blockPool ? await holdPool(Number(process.env.UV_THREADPOOL_SIZE ?? 4), cfg.prefix) : undefined;
    report.poolBlocked = pool?.held ?? false;
    try {
      await rawWaits(cfg, report);
      await handleRequests(cfg, handles, report);
    } finally {
      await pool?.release();
    }
  } finally {
    for (const hs of handles) for (const h of hs) h.close();
  }
  return report;
}

const report = await main(JSON.parse(process.argv[2]!) as StressConfig);
process.stdout.write(`${JSON.stringify(report)}\n`);
// Requests abandoned after a phase timeout may still hold the loop (a stuck pool job): the report is out.
process.exit(0);

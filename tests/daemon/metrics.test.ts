// The daemon's Prometheus endpoint: the text format (read back by a strict reader written here against the
// 0.0.4 rules), and a real daemon (`wasm-cni daemon --metrics-address unix:...`) scraped around real plugin
// calls made through the CNI executables in build/cni: every counter moves by exactly the calls made.
// Subnet 10.200.230.0/24.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { callDaemon, exchange } from '../../host/daemon/client.ts';
import { IpamScanner, serveDaemonMetrics } from '../../host/daemon/exposition.ts';
import { parseMetricsAddress, startMetricsEndpoint } from '../../host/daemon/metrics-http.ts';
import { Metrics } from '../../host/daemon/metrics.ts';
import { hostLocalNetwork, networkUsage } from '../../host/plugins/host-local/usage.ts';
import { escapeHelp, histogramSamples, render } from '../../host/daemon/prometheus.ts';
import { startDaemon } from '../../host/daemon/server.ts';
import { encodeFrame, Kind, WIRE_VERSION } from '../../host/daemon/wire.ts';
import { cniBinDir, projectRoot } from '../../host/paths.ts';
import { plugins as testPlugins } from '../_lib/test-plugins.ts';
import { cleanEnv, run } from '../_lib/run.ts';
import { Sandbox, type TestNetns } from '../_lib/sandbox.ts';

// ---- a strict reader of the text format -------------------------------------------------------------------

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  assert.ok(/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text), `a float: ${text}`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    assert.ok(c === '\\' || c === 'n', `HELP escapes only \\\\ and \\n, not \\${c}`);
    return c === 'n' ? '\n' : '\\';
  });
}

function parseLabels(text: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let s = text.slice(1);
  while (!s.startsWith('}')) {
    const m = LABEL.exec(s);
    assert.ok(m, `a label name at ${s}`);
    const name = m[0];
    assert.not.ok(name in labels, `label ${name} given twice`);
    s = s.slice(name.length);
    assert.ok(s.startsWith('="'), `=" after ${name}`);
    s = s.slice(2);
    let value = '';
    for (;;) {
      assert.ok(s.length > 0, 'unterminated label value');
      const c = s[0]!;
      if (c === '"') break;
      assert.ok(c !== '\n', 'raw newline in a label value');
      if (c === '\\') {
        const e = s[1];
        assert.ok(e === '\\' || e === '"' || e === 'n', `label values escape only \\ " n, not \\${e}`);
        value += e === 'n' ? '\n' : e;
        s = s.slice(2);
      } else {
        value += c;
        s = s.slice(1);
      }
    }
    labels[name] = value;
    s = s.slice(1);
    if (s.startsWith(',')) s = s.slice(1);
    else assert.ok(s.startsWith('}'), `, or } after label ${name}`);
  }
  return { labels, rest: s.slice(1) };
}

/** Reads an exposition, asserting the format rules; returns its families in order. */
function parseExposition(text: string): ParsedFamily[] {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const families: ParsedFamily[] = [];
  const byName = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  let current: ParsedFamily | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    assert.ok(line.length > 0, 'no empty lines');
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.ok(NAME.exec(name)?.[0] === name, `metric name ${name}`);
      let f = byName.get(name);
      if (!f) {
        f = { name, type: '', help: '', samples: [] };
        byName.set(name, f);
        families.push(f);
      } else assert.is(current, f, `HELP/TYPE of ${name} together, before its samples`);
      assert.is(f.samples.length, 0, `HELP/TYPE of ${name} before its samples`);
      if (kind === 'HELP') {
        assert.is(f.help, '', `one HELP for ${name}`);
        f.help = unescapeHelp(rest);
      } else {
        assert.is(f.type, '', `one TYPE for ${name}`);
        assert.ok(TYPES.includes(rest), `type ${rest}`);
        f.type = rest;
      }
      current = f;
      continue;
    }
    assert.not.ok(line.startsWith('#'), `a comment that is not HELP/TYPE: ${line}`);
    const m = NAME.exec(line);
    assert.ok(m, `a sample: ${line}`);
    const name = m[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest));
    assert.ok(rest.startsWith(' '), `a space before the value: ${line}`);
    const value = parseValue(rest.slice(1));
    assert.ok(current, `a sample before any TYPE: ${line}`);
    const f = current!;
    const suffixes =
      f.type === 'histogram' ? ['_bucket', '_sum', '_count'] : f.type === 'summary' ? ['', '_sum', '_count'] : [''];
    assert.ok(
      suffixes.some((s) => name === f.name + s),
      `sample ${name} belongs to the family before it (${f.name}, ${f.type})`,
    );
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.not.ok(series.has(key), `series ${key} given twice`);
    series.add(key);
    f.samples.push({ name, labels, value });
  }
  for (const f of families) {
    assert.ok(f.type && f.help, `${f.name} has HELP and TYPE`);
    if (f.type === 'histogram') checkHistogram(f);
    if (f.type === 'counter') for (const s of f.samples) assert.ok(s.value >= 0, `${s.name} is a counter`);
  }
  return families;
}

/** Per label set: buckets ascending by le, cumulative, ending in +Inf equal to _count; one _sum. */
function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, { les: number[]; counts: number[]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { les: [], counts: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) {
      assert.ok(le !== undefined, 'a bucket has le');
      g.les.push(parseValue(le!));
      g.counts.push(s.value);
    } else {
      assert.is(le, undefined, '_sum/_count carry no le');
      if (s.name.endsWith('_sum')) g.sum = s.value;
      else g.count = s.value;
    }
  }
  for (const [key, g] of groups) {
    assert.ok(g.les.length > 0, `${f.name}${key} has buckets`);
    assert.is(g.les[g.les.length - 1], Number.POSITIVE_INFINITY, `${f.name}${key} ends with le="+Inf"`);
    for (let i = 1; i < g.les.length; i++) {
      assert.ok(g.les[i]! > g.les[i - 1]!, `${f.name}${key}: le ascending`);
      assert.ok(g.counts[i]! >= g.counts[i - 1]!, `${f.name}${key}: buckets cumulative`);
    }
    assert.is(g.counts[g.counts.length - 1], g.count, `${f.name}${key}: +Inf bucket = _count`);
    assert.ok(g.sum !== undefined && g.sum >= 0, `${f.name}${key}: _sum`);
  }
}

/** The value of one series (0 when absent, as for a counter not yet incremented). */
function seriesValue(fams: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  for (const f of fams)
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) {
        if (Object.keys(s.labels).length === Object.keys(labels).length) return s.value;
      }
  return 0;
}

// ---- scraping ---------------------------------------------------------------------------------------------

interface HttpReply {
  status: number;
  type: string;
  body: string;
}
function httpGet(target: { socketPath?: string; host?: string; port?: number }, path: string, method = 'GET') {
  return new Promise<HttpReply>((resolve, reject) => {
    const req = request({ ...target, path, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
    req.end();
  });
}

// ---- the format -------------------------------------------------------------------------------------------

const F = suite('prometheus text format');

F('label values and HELP are escaped and read back; histograms are cumulative with +Inf, _sum, _count', () => {
  const odd = 'a"b\\c\nd';
  const text = render([
    { name: 'x_total', help: 'with \\ and\nnewline', type: 'counter', samples: [{ labels: { v: odd }, value: 3 }] },
    {
      name: 'lat_seconds',
      help: 'h',
      type: 'histogram',
      samples: histogramSamples({ p: 'q' }, [0.1, 1], [2, 5], 1.5, 7),
    },
    { name: 'g', help: 'no samples yet', type: 'gauge', samples: [] },
    { name: 'inf', help: 'specials', type: 'gauge', samples: [{ value: Number.POSITIVE_INFINITY }] },
  ]);
  assert.match(text, /x_total\{v="a\\"b\\\\c\\nd"\} 3\n/);
  assert.match(text, /# HELP x_total with \\\\ and\\nnewline\n/);
  const fams = parseExposition(text);
  assert.is(fams[0]!.samples[0]!.labels.v, odd);
  assert.is(fams[0]!.help, 'with \\ and\nnewline');
  assert.equal(
    fams[1]!.samples.map((s) => [s.name, s.labels.le ?? '', s.value]),
    [
      ['lat_seconds_bucket', '0.1', 2],
      ['lat_seconds_bucket', '1', 5],
      ['lat_seconds_bucket', '+Inf', 7],
      ['lat_seconds_sum', '', 1.5],
      ['lat_seconds_count', '', 7],
    ],
  );
  assert.is(seriesValue(fams, 'inf'), Number.POSITIVE_INFINITY);
  assert.is(escapeHelp('a"b'), 'a"b', 'HELP does not escape quotes');
});

F('invalid metric and label names, and a family given twice, are refused', () => {
  const bad = (f: Parameters<typeof render>[0]) => assert.throws(() => render(f));
  bad([{ name: '1x', help: '', type: 'gauge', samples: [] }]);
  bad([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'a-b': '1' }, value: 1 }] }]);
  bad([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { __name__: '1' }, value: 1 }] }]);
  bad([
    { name: 'x', help: '', type: 'gauge', samples: [] },
    { name: 'x', help: '', type: 'gauge', samples: [] },
  ]);
});

F('--metrics-address: host:port, [v6]:port, :port, unix:/path; anything else is refused', () => {
  assert.equal(parseMetricsAddress('127.0.0.1:9617'), { kind: 'tcp', host: '127.0.0.1', port: 9617 });
  assert.equal(parseMetricsAddress('[::1]:9617'), { kind: 'tcp', host: '::1', port: 9617 });
  assert.equal(parseMetricsAddress(':9617'), { kind: 'tcp', host: '', port: 9617 });
  assert.equal(parseMetricsAddress('unix:/run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
  for (const bad of ['9617', 'host:99999', 'unix:rel.sock', '::1:9617', 'a:b']) {
    assert.throws(() => parseMetricsAddress(bad), /metrics-address/, bad);
  }
});

F.run();

// ---- in-process: in-flight calls and a TCP endpoint -------------------------------------------------------

const P = suite('daemon metrics: in flight, rejections, TCP endpoint');
const pbox = new Sandbox();

P.after(() => pbox.cleanup());

P('a call in flight shows in the gauges; a bad frame counts as a rejection; GET only, at /metrics', async () => {
  const metrics = new Metrics();
  const socket = join(pbox.dir('inproc'), 'd.sock');
  const daemon = await startDaemon({ socketPath: socket, plugins: testPlugins, metrics, log: () => {} });
  const endpoint = await serveDaemonMetrics('127.0.0.1:0', metrics, () => {});
  endpoint.attach(daemon);
  try {
    const port = Number(endpoint.address.split(':').pop());
    const scrape = async () => parseExposition((await httpGet({ host: '127.0.0.1', port }, '/metrics')).body);
    const slow = callDaemon(socket, {
      plugin: 'sleep',
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'slow', CNI_ARGS: 'MS=600' },
      stdin: new Uint8Array(),
    });
    await new Promise((r) => setTimeout(r, 200));
    const during = await scrape();
    assert.is(seriesValue(during, 'wasm_cni_daemon_calls_in_flight'), 1);
    assert.is(seriesValue(during, 'wasm_cni_daemon_busy_containers'), 1);
    await slow;
    await exchange(socket, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const after = await scrape();
    assert.is(seriesValue(after, 'wasm_cni_daemon_calls_in_flight'), 0);
    assert.is(seriesValue(after, 'wasm_cni_daemon_calls_total', { plugin: 'sleep', command: 'ADD' }), 1);
    assert.is(seriesValue(after, 'wasm_cni_daemon_rejected_calls_total', { reason: 'bad_frame' }), 1);
    assert.is(seriesValue(after, 'wasm_cni_daemon_rejected_calls_total', { reason: 'version' }), 0);
    assert.ok(seriesValue(after, 'process_resident_memory_bytes') > 1e6);
    const lag = after.find((f) => f.name === 'wasm_cni_daemon_event_loop_delay_seconds');
    assert.is(lag?.type, 'summary');

    const ok = await httpGet({ host: '127.0.0.1', port }, '/metrics');
    assert.is(ok.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.is((await httpGet({ host: '127.0.0.1', port }, '/')).status, 404);
    assert.is((await httpGet({ host: '127.0.0.1', port }, '/metrics', 'POST')).status, 405);
    const head = await httpGet({ host: '127.0.0.1', port }, '/metrics', 'HEAD');
    assert.is(head.status, 200);
    assert.is(head.body, '');
  } finally {
    await endpoint.close();
    await daemon.close();
  }
});

P(
  'a metrics address in use: an error for the listener, retried by the daemon; a stale unix socket is replaced',
  async () => {
    const first = await startMetricsEndpoint('127.0.0.1:0', () => '');
    try {
      await startMetricsEndpoint(first.address, () => '').then(
        (e) => e.close().then(() => assert.unreachable('second listener on one port')),
        (e: Error) => assert.match(e.message, /EADDRINUSE/),
      );
    } finally {
      await first.close();
    }
    // the daemon's endpoint does not fail on a busy address: it keeps trying and takes it once free
    const busy = await startMetricsEndpoint('127.0.0.1:0', () => '');
    const events: string[] = [];
    const exporter = await serveDaemonMetrics(busy.address, new Metrics(), (_l, event) => void events.push(event), {
      retryMs: 100,
    });
    assert.equal(events, ['metrics-unavailable']);
    await busy.close();
    for (let i = 0; i < 50 && !events.includes('metrics-listening'); i++) await new Promise((r) => setTimeout(r, 100));
    const port = Number(exporter.address.split(':').pop());
    assert.match((await httpGet({ host: '127.0.0.1', port }, '/metrics')).body, /wasm_cni_daemon_calls_in_flight 0/);
    await exporter.close();
    const path = join(pbox.dir('stale'), 'm.sock');
    const a = await startMetricsEndpoint(`unix:${path}`, () => 'a\n');
    assert.ok(existsSync(path));
    await startMetricsEndpoint(`unix:${path}`, () => '').then(
      () => assert.unreachable('a live unix endpoint is not taken over'),
      (e: Error) => assert.match(e.message, /another process/),
    );
    await a.close();
    assert.not.ok(existsSync(path), 'close removes the socket');
  },
);

P('host-local usage: per range of each set, IPv4 and IPv6, only canonical address names counted', () => {
  const dataDir = pbox.dir('usage');
  const net = hostLocalNetwork({
    name: 'dual',
    cniVersion: '1.0.0',
    ipam: {
      type: 'host-local',
      dataDir,
      ranges: [
        [{ subnet: '10.200.230.128/30' }, { subnet: '10.200.230.136/30', gateway: '10.200.230.138' }],
        [{ subnet: 'fd00:200:230::/120', rangeStart: 'fd00:200:230::10', rangeEnd: 'fd00:200:230::1f' }],
      ],
    },
  });
  const dir = join(dataDir, 'dual');
  mkdirSync(dir);
  const files: Record<string, string> = {
    '10.200.230.130': 'a\r\neth0',
    '10.200.230.137': 'b\r\neth0',
    '10.200.230.139': '', // outside every range (broadcast): listed, not counted
    'fd00:200:230::11': 'c\r\neth0',
    'fd00:200:230::0011': 'not canonical',
    '010.200.230.130': 'leading zero',
    '10.200.230.256': 'not an address',
    lock: '',
    'last_reserved_ip.0': '10.200.230.130',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const u = networkUsage(net, { readFiles: true });
  assert.equal(
    u.ranges.map((r) => [r.rangeSet, r.range, r.size, r.allocated]),
    [
      [0, '10.200.230.129-10.200.230.130', 1, 1],
      [0, '10.200.230.137-10.200.230.138', 1, 1],
      [1, 'fd00:200:230::10-fd00:200:230::1f', 16, 1],
    ],
    'sizes leave the gateways out (.129 by default, .138 as configured)',
  );
  assert.equal(u.reservations.map((r) => [r.ip, r.bytes, r.containerId, r.ifName]).sort(), [
    ['10.200.230.130', 7, 'a', 'eth0'],
    ['10.200.230.137', 7, 'b', 'eth0'],
    ['10.200.230.139', 0, undefined, undefined],
    ['fd00:200:230::11', 7, 'c', 'eth0'],
  ]);
  assert.is(networkUsage(net, { limit: 2 }).truncated, true);
});

P('IPAM gauges: a directory is listed again only when it changed since the last scrape', () => {
  const dataDir = pbox.dir('ipam');
  const dir = join(dataDir, 'scan-net');
  mkdirSync(dir);
  const conf = {
    name: 'scan-net',
    cniVersion: '1.0.0',
    ipam: { type: 'host-local', dataDir, subnet: '10.200.230.64/28' },
  };
  const past = new Date(Date.now() - 60_000);
  const reserve = (ip: string) => {
    writeFileSync(join(dir, ip), 'c\r\neth0');
    utimesSync(dir, past, new Date(Date.now() - 60_000 + Math.random() * 1000)); // a quiet directory, stamp moved
  };
  reserve('10.200.230.66');
  const scanner = new IpamScanner();
  const first = scanner.scan(conf);
  assert.is(first.usage.ranges[0]!.allocated, 1);
  assert.is(scanner.scan(conf), first, 'unchanged: the listing is reused');
  reserve('10.200.230.67');
  assert.is(scanner.scan(conf).usage.ranges[0]!.allocated, 2, 'changed: listed again');
  writeFileSync(join(dir, '10.200.230.68'), 'c\r\neth0'); // changed just now: never served from the cache
  assert.is(scanner.scan(conf).usage.ranges[0]!.allocated, 3);
});

P.run();

// ---- a real daemon, real plugins through the executables ----------------------------------------------------

const box = new Sandbox();
const R = suite('daemon metrics: scraped around real plugin calls');
const cli = ['--import', 'tsx', join(projectRoot, 'host', 'cli', 'main.ts')];
let socket = '';
let metricsSock = '';
let ipamDir = '';
let daemon: ChildProcess | undefined;
let daemonLog = '';
let pods: TestNetns[] = [];
let bridgeName = '';

const netconf = () =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: `${box.prefix}-net`,
    type: 'bridge',
    bridge: bridgeName,
    isGateway: true,
    ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.200.230.0/28' }]] },
  });

async function plugin(name: string, command: string, pod: TestNetns, input: string, ifName = 'eth0') {
  return run(join(cniBinDir, name), [], {
    input,
    timeoutMs: 30_000,
    env: {
      WASM_CNI_SOCKET: socket,
      CNI_COMMAND: command,
      CNI_CONTAINERID: `${box.prefix}-${pod.name}`,
      CNI_NETNS: pod.path,
      CNI_IFNAME: ifName,
      CNI_PATH: cniBinDir,
    },
  });
}

async function scrape(): Promise<ParsedFamily[]> {
  const r = await httpGet({ socketPath: metricsSock }, '/metrics');
  assert.is(r.status, 200);
  return parseExposition(r.body);
}

R.before(async () => {
  const dir = box.dir('real');
  socket = join(dir, 'run', 'wasm-cni.sock');
  metricsSock = join(dir, 'run', 'metrics.sock');
  ipamDir = join(dir, 'ipam');
  bridgeName = box.name('br');
  pods = [await box.netns('a'), await box.netns('b')];
  daemon = spawn(process.execPath, [...cli, 'daemon', '--socket', socket, '--metrics-address', `unix:${metricsSock}`], {
    env: cleanEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  daemon.stderr!.on('data', (b) => {
    daemonLog += b;
  });
  for (let i = 0; i < 200 && !(/metrics-listening/.test(daemonLog) && /"event":"listening"/.test(daemonLog)); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(metricsSock) && existsSync(socket), `daemon and metrics sockets did not appear: ${daemonLog}`);
});

R.after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
  }
  await run('ip', ['link', 'delete', bridgeName]);
  await box.cleanup();
});

R('counters move by exactly the calls made; errors carry the CNI code; IPAM counts the reservations', async () => {
  const before = await scrape();
  const lo = JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' });
  for (const pod of pods) assert.is((await plugin('loopback', 'ADD', pod, lo, 'lo')).code, 0);
  for (const pod of pods) {
    const r = await plugin('bridge', 'ADD', pod, netconf());
    assert.is(r.code, 0, r.stdout + r.stderr);
  }
  const badConf = { ...JSON.parse(netconf()), ipam: { type: 'host-local', dataDir: ipamDir, subnet: 'nope' } };
  const bad = await plugin('bridge', 'ADD', pods[0]!, JSON.stringify(badConf), 'eth1');
  assert.is(bad.code, 1);
  const badCode = String(JSON.parse(bad.stdout).code);
  const version = await exchange(socket, encodeFrame(Kind.Status, Buffer.alloc(0), WIRE_VERSION + 1));
  assert.is(version.header.kind, Kind.Reject);

  const mid = await scrape();
  const delta = (name: string, labels: Record<string, string>) =>
    seriesValue(mid, name, labels) - seriesValue(before, name, labels);
  const calls = (plugin: string, command: string) => delta('wasm_cni_daemon_calls_total', { plugin, command });
  assert.is(calls('loopback', 'ADD'), 2);
  assert.is(calls('bridge', 'ADD'), 3);
  assert.is(calls('bridge', 'DEL'), 0);
  const total = (fams: ParsedFamily[]) =>
    fams.find((f) => f.name === 'wasm_cni_daemon_calls_total')!.samples.reduce((n, s) => n + s.value, 0);
  assert.is(total(mid) - total(before), 5, 'no other call was counted');
  assert.is(delta('wasm_cni_daemon_call_errors_total', { plugin: 'bridge', command: 'ADD', code: badCode }), 1);
  assert.is(delta('wasm_cni_daemon_call_errors_total', { plugin: 'loopback', command: 'ADD', code: badCode }), 0);
  assert.is(delta('wasm_cni_daemon_call_duration_seconds_count', { plugin: 'bridge', command: 'ADD' }), 3);
  assert.is(
    delta('wasm_cni_daemon_call_duration_seconds_bucket', { plugin: 'loopback', command: 'ADD', le: '+Inf' }),
    2,
  );
  assert.ok(delta('wasm_cni_daemon_call_duration_seconds_sum', { plugin: 'bridge', command: 'ADD' }) > 0);
  assert.is(delta('wasm_cni_daemon_rejected_calls_total', { reason: 'version' }), 1);
  assert.is(seriesValue(mid, 'wasm_cni_daemon_calls_in_flight'), 0);
  const range = {
    network: `${box.prefix}-net`,
    data_dir: ipamDir,
    range_set: '0',
    range: '10.200.230.1-10.200.230.14',
  };
  assert.is(seriesValue(mid, 'wasm_cni_ipam_range_size_addresses', range), 13, '.1-.14 without the gateway .1');
  assert.is(seriesValue(mid, 'wasm_cni_ipam_range_allocated_addresses', range), 2);
  assert.is(seriesValue(mid, 'wasm_cni_ipam_range_utilization_ratio', range), 2 / 13);

  for (const pod of pods) assert.is((await plugin('bridge', 'DEL', pod, netconf())).code, 0);
  const after = await scrape();
  assert.is(
    seriesValue(after, 'wasm_cni_daemon_calls_total', { plugin: 'bridge', command: 'DEL' }) -
      seriesValue(mid, 'wasm_cni_daemon_calls_total', { plugin: 'bridge', command: 'DEL' }),
    2,
  );
  assert.is(seriesValue(after, 'wasm_cni_ipam_range_allocated_addresses', range), 0);
});

R('SIGTERM stops the daemon and removes the metrics socket', async () => {
  const exited = new Promise<number | null>((r) => daemon!.once('exit', (code) => r(code)));
  daemon!.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.not.ok(existsSync(metricsSock));
  assert.not.ok(existsSync(socket));
});

R.run();

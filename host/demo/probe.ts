// What the demo measures between pods: reachability (ping, or a TCP exchange when ping is not installed),
// a hostPort reached from the host, and throughput with iperf3 (to see a shaped pod run at its limit).
import { connect } from 'node:net';
import { mustRun, runCmd, startInNetns, which, type NetnsServer } from './proc.ts';

/** A tiny TCP server: answers every connection with one line naming the pod, then closes. */
const ECHO_SERVER = `
const [port, tag] = process.argv.slice(1);
require('node:net').createServer((s) => {
  s.on('error', () => {});
  s.end('hello from ' + tag + ' (' + s.localAddress.replace('::ffff:', '') + '), you are ' + s.remoteAddress.replace('::ffff:', '') + '\\n');
}).listen(Number(port), '0.0.0.0', () => console.log('ready'));
`;

/** One TCP request; prints the answer line (or "error <code>") and exits. */
const TCP_CLIENT = `
const [host, port] = process.argv.slice(1);
const s = require('node:net').connect(Number(port), host);
let data = '';
const t = setTimeout(() => { console.log('error timeout'); process.exit(1); }, 2000);
s.on('data', (b) => { data += b; });
s.on('end', () => { clearTimeout(t); console.log(data.trim()); });
s.on('error', (e) => { clearTimeout(t); console.log('error ' + (e.code || e.message)); process.exit(1); });
`;

export function startEchoServer(ns: string, port: number, tag: string): Promise<NetnsServer> {
  return startInNetns(ns, process.execPath, ['-e', ECHO_SERVER, String(port), tag], 'ready');
}

export interface Reach {
  ok: boolean;
  how: 'ping' | 'tcp';
  detail: string;
}

/** From inside netns `ns` to `ip`: one ICMP echo when ping is installed (or `how` says so), else one TCP exchange with the echo server. */
export async function reach(
  ns: string,
  ip: string,
  echoPort: number,
  how: Reach['how'] = which('ping') ? 'ping' : 'tcp',
): Promise<Reach> {
  if (how === 'ping') {
    const r = await runCmd('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', '2', ip], 5000);
    const rtt = /time=([\d.]+) ms/.exec(r.stdout)?.[1];
    return {
      ok: r.code === 0,
      how: 'ping',
      detail: r.code === 0 ? `ping ${rtt ?? '?'} ms` : ((r.stdout + r.stderr).trim().split('\n').pop() ?? 'no reply'),
    };
  }
  const r = await runCmd('ip', ['netns', 'exec', ns, process.execPath, '-e', TCP_CLIENT, ip, String(echoPort)], 5000);
  const line = r.stdout.trim();
  return { ok: r.code === 0 && line.startsWith('hello'), how: 'tcp', detail: line ? `tcp: ${line}` : r.stderr.trim() };
}

/** One TCP request from this process (the host's namespace): the answer line or "error …". */
export function askFromHost(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let data = '';
    const done = (v: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done('error timeout'), timeoutMs);
    sock.on('data', (b) => {
      data += b.toString();
    });
    sock.on('end', () => done(data.trim()));
    sock.on('error', (e: NodeJS.ErrnoException) => done(`error ${e.code ?? e.message}`));
  });
}

export interface Throughput {
  bitsPerSecond: number;
  seconds: number;
}

function iperfReceived(json: string): Throughput {
  const doc = JSON.parse(json) as {
    error?: string;
    end?: { sum_received?: { bits_per_second?: number; seconds?: number } };
  };
  const recv = doc.end?.sum_received;
  if (!recv?.bits_per_second) throw new Error(`iperf3 reported no received bytes${doc.error ? `: ${doc.error}` : ''}`);
  return { bitsPerSecond: recv.bits_per_second, seconds: recv.seconds ?? 0 };
}

/**
 * Bulk TCP from `fromNs` to `toIp` (an iperf3 server started in `toNs`) for `seconds`; the rate is what the
 * receiver counted. With `drainBytes`, that many bytes are sent first (timed, not counted): a token bucket
 * starts full, and a big bucket would pass a short test at line speed.
 */
export async function measureThroughput(
  fromNs: string,
  toNs: string,
  toIp: string,
  port: number,
  seconds: number,
  drainBytes = 0,
): Promise<Throughput & { drainSeconds?: number }> {
  if (!which('iperf3')) throw new Error('iperf3 is not installed (bash scripts/setup.sh installs it)');
  const server = await startInNetns(toNs, 'iperf3', ['-s', '--forceflush', '-p', String(port)], 'Server listening');
  // Between tests the server stays busy until the previous test's data has arrived ("busy", "connection
  // reset"): retry the connect for a while.
  const client = async (args: string[], timeoutMs: number): Promise<string> => {
    const deadline = performance.now() + 30_000;
    for (;;) {
      const r = await runCmd(
        'ip',
        ['netns', 'exec', fromNs, 'iperf3', '-c', toIp, '-p', String(port), '-J', ...args],
        timeoutMs,
      );
      let why = '';
      try {
        why = (JSON.parse(r.stdout) as { error?: string }).error ?? '';
      } catch {
        why = r.stderr.trim() || `exit ${r.code}`;
      }
      if (r.code === 0 && !why) return r.stdout;
      if (performance.now() < deadline && /unable to connect|busy|reset/i.test(why)) {
        await new Promise((res) => setTimeout(res, 200));
        continue;
      }
      throw new Error(`iperf3 to ${toIp}: ${why || `exit ${r.code}`}`);
    }
  };
  try {
    let drainSeconds: number | undefined;
    if (drainBytes > 0) {
      const t0 = performance.now();
      await client(['-n', String(drainBytes)], 120_000);
      drainSeconds = (performance.now() - t0) / 1000;
    }
    return { ...iperfReceived(await client(['-t', String(seconds)], (seconds + 10) * 1000)), drainSeconds };
  } finally {
    await server.stop();
  }
}

/** The token-bucket (tbf) qdiscs on the given links: link name → {rate bytes/s, burst bytes}. */
export async function tbfQdiscs(links: string[]): Promise<Map<string, { rate: number; burst: number }>> {
  const out = new Map<string, { rate: number; burst: number }>();
  for (const dev of links) {
    const r = await runCmd('tc', ['-j', 'qdisc', 'show', 'dev', dev]);
    if (r.code !== 0) continue;
    const qs = JSON.parse(r.stdout || '[]') as Array<{ kind: string; options?: { rate?: number; burst?: number } }>;
    const tbf = qs.find((q) => q.kind === 'tbf');
    if (tbf?.options?.rate !== undefined && tbf.options.burst !== undefined)
      out.set(dev, { rate: tbf.options.rate, burst: tbf.options.burst });
  }
  return out;
}

/** The host-side peer of a pod's eth0 (its veth on the bridge). */
export async function hostVethOf(ns: string, ifName = 'eth0'): Promise<string> {
  const pod = JSON.parse(await mustRun('ip', ['-j', '-n', ns, 'link', 'show', ifName])) as Array<{
    link_index?: number;
  }>;
  const index = pod[0]?.link_index;
  if (!index) throw new Error(`${ifName} in ${ns} has no peer`);
  const links = JSON.parse(await mustRun('ip', ['-j', 'link', 'show'])) as Array<{ ifindex: number; ifname: string }>;
  const peer = links.find((l) => l.ifindex === index);
  if (!peer) throw new Error(`no host link with index ${index}`);
  return peer.ifname;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

export function formatRate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${(bps / 1e3).toFixed(0)} kbit/s`;
}

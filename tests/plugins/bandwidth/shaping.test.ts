// Shaping measured: a pod shaped by our bandwidth plugin to 10 Mbit/s each way receives and sends at 10 Mbit/s
// (±15 %), measured with iperf3 between two of our namespaces on one bridge (3 s per direction).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, sh } from '../../_lib/run.ts';
import { Sandbox, type TestNetns } from '../../_lib/sandbox.ts';
import { OracleRun, referenceNames, type OracleCase } from '../../_lib/oracle.ts';

const test = suite('bandwidth shaping');
const sb = new Sandbox();
const RATE = 10_000_000;
let pod: TestNetns;
let peer: TestNetns;
let oc: OracleCase;
let runner: OracleRun;

test.before(async () => {
  const br = sb.name('br');
  await sh('ip', ['link', 'add', br, 'type', 'bridge']);
  await sh('ip', ['link', 'set', br, 'up']);
  pod = await sb.netns('pod');
  peer = await sb.netns('peer');
  for (const [ns, hostSide, ip] of [
    [pod, sb.name('h'), '10.200.82.2/24'],
    [peer, sb.name('p'), '10.200.82.3/24'],
  ] as const) {
    await sh('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await sh('ip', ['link', 'set', hostSide, 'master', br, 'up']);
    await sh('ip', ['-n', ns.name, 'addr', 'add', ip, 'dev', 'eth0']);
    await sh('ip', ['-n', ns.name, 'link', 'set', 'eth0', 'up']);
  }
  const token = sb.prefix;
  oc = {
    config: {
      cniVersion: '1.0.0',
      name: `bws-${token}`,
      type: 'bandwidth',
      ingressRate: RATE,
      ingressBurst: 1_000_000,
      egressRate: RATE,
      egressBurst: 1_000_000,
      prevResult: {
        cniVersion: '1.0.0',
        interfaces: [{ name: sb.name('h') }, { name: 'eth0', sandbox: pod.path }],
        ips: [{ address: '10.200.82.2/24', interface: 1 }],
      },
    },
    netns: pod.path,
    containerId: `bws-${token}`,
    ifName: 'eth0',
  };
  runner = new OracleRun('ours', sb);
  sb.defer(() => runner.sweep(oc));
  const add = await runner.exec('ADD', oc);
  assert.is(add.exitCode, 0, JSON.stringify(add.error));
});

test.after(() => sb.cleanup());

/** iperf3 from one netns to a one-shot server in another; the receiver's rate in Mbit/s. */
async function measure(from: TestNetns, to: TestNetns, toIp: string): Promise<number> {
  const server: ChildProcess = spawn('ip', ['netns', 'exec', to.name, 'iperf3', '-s', '-1', '-B', toIp, '-p', '5201'], {
    stdio: 'ignore',
  });
  sb.defer(() => {
    server.kill('SIGKILL');
  });
  try {
    for (let attempt = 0; ; attempt++) {
      await sleep(200);
      const r = await run('ip', ['netns', 'exec', from.name, 'iperf3', '-c', toIp, '-p', '5201', '-t', '3', '-J'], {
        timeoutMs: 20_000,
      });
      const out = JSON.parse(r.stdout || '{}') as {
        end?: { sum_received?: { bits_per_second: number } };
        error?: string;
      };
      if (out.end?.sum_received) return out.end.sum_received.bits_per_second / 1e6;
      if (attempt >= 10) throw new Error(`iperf3 failed: ${out.error ?? r.stderr}`);
    }
  } finally {
    server.kill('SIGKILL');
  }
}

/**
 * The rate as measured, re-measured (up to 3 runs) only when a run falls outside ±15 %: on a busy 2-core machine
 * a starved iperf3 can under-report a run. Every run is reported; the last must be within the window.
 */
async function measureWithin(from: TestNetns, to: TestNetns, toIp: string): Promise<{ ok: boolean; runs: string }> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const mbit = await measure(from, to, toIp);
    runs.push(mbit);
    if (mbit > 8.5 && mbit < 11.5) break;
  }
  const last = runs[runs.length - 1]!;
  return { ok: last > 8.5 && last < 11.5, runs: `${runs.map((m) => m.toFixed(2)).join(', ')} Mbit/s` };
}

test('ingress: traffic into the pod at 10 Mbit/s ±15 %', async () => {
  const m = await measureWithin(peer, pod, '10.200.82.2');
  assert.ok(m.ok, `measured ${m.runs}`);
});

test('egress: traffic out of the pod at 10 Mbit/s ±15 %', async () => {
  const m = await measureWithin(pod, peer, '10.200.82.3');
  assert.ok(m.ok, `measured ${m.runs}`);
});

test('after DEL the ifb is gone', async () => {
  const del = await runner.exec('DEL', oc);
  assert.is(del.exitCode, 0, JSON.stringify(del.error));
  const ifb = referenceNames(String(oc.config.name), oc.containerId).ifb;
  const links = await run('ip', ['-o', 'link', 'show', 'type', 'ifb']);
  assert.not.ok(links.stdout.includes(ifb), `${ifb} deleted`);
});

test.run();

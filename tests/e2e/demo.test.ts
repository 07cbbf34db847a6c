// `wasm-cni demo` as a black box (from sources): a full run passes and leaves nothing; it refuses a pod CIDR
// that is in use on the machine without touching anything; Ctrl-C mid-run still cleans up.
// Pod CIDRs 10.200.131.0/24 and 10.200.132.0/24; bridge and namespaces carry the sandbox prefix.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../_lib/firewall.ts';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../_lib/sandbox.ts';
import { cleanEnv, run, sh } from '../_lib/run.ts';

const test = suite('e2e: wasm-cni demo');
const MAIN = fileURLToPath(new URL('../../host/cli/main.ts', import.meta.url));

let sb: Sandbox;

function demoArgs(bridge: string, podCidr: string, hostPort: number): string[] {
  return [
    '--import',
    'tsx',
    MAIN,
    'demo',
    '--bridge',
    bridge,
    '--pod-cidr',
    podCidr,
    '--host-port',
    String(hostPort),
    '--shape-seconds',
    '1',
  ];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour sequences start with ESC; matching it is the point.
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Everything a demo with this bridge could have left: netns, links, nat lines, state dirs. */
async function traces(bridge: string, addrPrefix: string): Promise<string[]> {
  const out: string[] = [];
  out.push(...(await sh('ip', ['netns', 'list'])).split('\n').filter((l) => l.startsWith(`${bridge}-`)));
  const link = await run('ip', ['link', 'show', bridge]);
  if (link.code === 0) out.push(`link ${bridge}`);
  out.push(
    ...(await sh('iptables-save', ['-t', 'nat']))
      .split('\n')
      .filter((l) => l.includes(addrPrefix) || l.includes(`${bridge}-`)),
  );
  return out;
}

test.before(() => {
  sb = new Sandbox();
});
test.after(async () => {
  await sb.cleanup();
});

test('a full run passes, shows every section, and leaves nothing behind', async () => {
  const bridge = sb.name('d0');
  const r = await run(process.execPath, demoArgs(bridge, '10.200.131.0/24', await freePort()), { timeoutMs: 110_000 });
  const out = plain(r.stdout);
  assert.is(r.code, 0, out + r.stderr);
  for (const s of [
    '1. Node',
    '2. Pods',
    '3. Pod to pod',
    '4. hostPort',
    '5. Traffic shaping',
    '6. wasm-cni pod status',
    '7. Teardown',
  ]) {
    assert.ok(out.includes(s), `section "${s}" missing:\n${out}`);
  }
  assert.match(out, /hello from web \(10\.200\.131\.\d+\)/);
  assert.match(out, /nothing left/);
  assert.match(out, /demo passed in/);
  const state = /state in (\S+)/.exec(out)?.[1];
  assert.ok(state && !existsSync(state), `state dir ${state} removed`);
  assert.equal(await traces(bridge, '10.200.131.'), []);
});

test('refuses a pod CIDR already routed on this machine, and changes nothing', async () => {
  const dummy = sb.name('dm');
  await sh('ip', ['link', 'add', dummy, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', '10.200.132.1/24', 'dev', dummy]);
  await sh('ip', ['link', 'set', dummy, 'up']);
  const bridge = sb.name('d1');
  const r = await run(process.execPath, demoArgs(bridge, '10.200.132.0/25', await freePort()), { timeoutMs: 30_000 });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /overlaps networks on this machine \(10\.200\.132\.0\/24\)/);
  assert.equal(await traces(bridge, '10.200.132.'), []);
  await sh('ip', ['link', 'delete', dummy]);
});

test('bad options are usage errors (exit 2)', async () => {
  for (const args of [
    ['--pod-cidr', 'nonsense'],
    ['--host-port', '70000'],
    ['--frobnicate'],
    ['--bridge', 'a-name-far-too-long-for-a-link'],
  ]) {
    const r = await run(process.execPath, ['--import', 'tsx', MAIN, 'demo', ...args], { timeoutMs: 30_000 });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
});

/** The demo's processes still running: command lines naming its namespaces or its pod CIDR. */
function demoProcesses(bridge: string, addrPrefix: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (cmd.includes(`${bridge}-`) || (cmd.includes(addrPrefix) && !cmd.includes('--pod-cidr')))
      out.push(`${pid} ${cmd}`);
  }
  return out;
}

// Ctrl-C at each step: the demo says it was interrupted (not "demo FAILED"), exits 130, and leaves nothing —
// no namespace, link, rule or process (an interrupted iperf3 once kept spinning in a deleted namespace).
const sections = [
  '1. Node',
  '2. Pods',
  '3. Pod to pod',
  '4. hostPort',
  '5. Traffic shaping',
  '6. wasm-cni pod status',
  '7. Teardown',
];
for (const [i, section] of sections.entries()) {
  test(`SIGINT at "${section}": interrupted, exit 130, nothing left (processes included)`, async () => {
    const bridge = sb.name(`i${i}`);
    const child = spawn(process.execPath, demoArgs(bridge, '10.200.131.0/24', await freePort()), {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number>((res) => child.on('close', (code, sig) => res(code ?? (sig ? 128 : 1))));
    try {
      for (let t = 0; t < 900 && !plain(out).includes(section) && child.exitCode === null; t++)
        await new Promise((r) => setTimeout(r, 100));
      assert.ok(plain(out).includes(section), `demo did not get to "${section}":\n${out}`);
      // in the traffic sections, wait until the probes run (iperf3 is what used to be left behind)
      if (section.startsWith('5.')) await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGINT');
      const code = await exited;
      if (!plain(out).includes('demo passed')) {
        assert.is(code, 130, out);
        assert.match(plain(out), /SIGINT: demo interrupted/);
        assert.match(plain(out), /demo interrupted \(SIGINT\)/);
        assert.not.match(plain(out), /demo FAILED/);
      }
      assert.equal(await traces(bridge, '10.200.131.'), []);
      assert.equal(demoProcesses(bridge, '10.200.131.'), []);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
}

test.run();

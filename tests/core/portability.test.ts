// The same build/core.wasm answers the shared vector file identically under Node, Bun and Deno, and the
// WASI build of the core runs under a WASI host.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../host/paths.ts';
import { run } from '../_lib/run.ts';
import { Sandbox } from '../_lib/sandbox.ts';
import { Cidr, parseIP, parseQuantity, Allocator, RangeSet } from '../../host/core/index.ts';

const runner = join(projectRoot, 'tests/vectors/core-runner.mjs');
const bin = (name: string) => join(projectRoot, 'node_modules/.bin', name);
const vectors: Array<{ op: string; out: unknown }> = JSON.parse(
  readFileSync(join(projectRoot, 'tests/vectors/core.json'), 'utf8'),
).vectors;
const results: Record<string, unknown[]> = {};

const runtimes: Array<[string, string, string[]]> = [
  ['node', process.execPath, [runner]],
  ['bun', bin('bun'), [runner]],
  ['deno', bin('deno'), ['run', '--allow-read', '--no-prompt', runner]],
];

const p = suite('core: portability of build/core.wasm');
for (const [name, cmd, args] of runtimes) {
  p(`${name} runs the vector file`, async () => {
    const r = await run(cmd, args, { timeoutMs: 60_000, env: { NO_COLOR: '1' } });
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.is(out.length, vectors.length);
    results[name] = out;
  });
}
p('node, bun and deno give identical answers', () => {
  assert.equal(results.bun, results.node);
  assert.equal(results.deno, results.node);
});
p('the answers are the expected ones', () => {
  for (const [i, v] of vectors.entries()) assert.equal(results.node[i], v.out, `vector ${i}: ${JSON.stringify(v)}`);
});
p('the vector file covers every kind of operation', () => {
  const ops = new Set(vectors.map((v) => v.op));
  for (const op of ['ip', 'cidr', 'contains', 'range', 'alloc', 'quantity', 'tbf', 'mtu', 'nodecidr'])
    assert.ok(ops.has(op), op);
  assert.ok(vectors.length >= 100);
});

const w = suite('core: WASI build (build/core.wasi.wasm)');
const wasi = (...args: string[]) =>
  run(process.execPath, ['--no-warnings', join(projectRoot, 'tests/vectors/wasi-runner.mjs'), ...args], {
    timeoutMs: 30_000,
  });
w('ip: same canonical text as the host API', async () => {
  const inputs = ['2001:DB8::1', '::ffff:1.2.3.4', '10.1.2.3', '1:0:0:2:0:0:0:3'];
  const r = await wasi('ip', ...inputs, '1.2.3.04');
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), [...inputs.map((t) => parseIP(t).text), 'error -3']);
});
w('cidr: network and last address', async () => {
  const r = await wasi('cidr', '10.1.2.3/24', '2001:db8::/65', '10.0.0.0/33');
  const c = Cidr.parse('2001:db8::/65');
  assert.equal(r.stdout.trim().split('\n'), ['10.1.2.0/24 10.1.2.255', `${c} ${c.broadcast}`, 'error -8']);
});
w('quantity', async () => {
  const r = await wasi('quantity', '1Mi', '0.1Ki', '10E', '1K');
  assert.equal(r.stdout.trim().split('\n'), [String(parseQuantity('1Mi')), '103', '9223372036854775807', 'error 2']);
});
w('alloc: the host-local order, then exhaustion', async () => {
  const r = await wasi('alloc', '10.0.0.0/29', '7');
  const a = new Allocator(RangeSet.parse([{ subnet: '10.0.0.0/29' }]));
  const want = a.allocateMany(10);
  a.dispose();
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', 'exhausted']);
  assert.is(lines[want.count - 1], want.last);
});
w('the WASI build imports only wasi_snapshot_preview1', () => {
  const m = new WebAssembly.Module(readFileSync(join(projectRoot, 'build/core.wasi.wasm')));
  assert.ok(WebAssembly.Module.imports(m).every((i) => i.module === 'wasi_snapshot_preview1'));
});
const sandbox = new Sandbox();
w.after(() => sandbox.cleanup());
w('as a component (jco new --wasi-command, jco run) it gives the same answers', async () => {
  const component = join(sandbox.dir('component'), 'core.component.wasm');
  const made = await run(
    bin('jco'),
    ['new', join(projectRoot, 'build/core.wasi.wasm'), '--wasi-command', '-o', component],
    { timeoutMs: 60_000 },
  );
  assert.is(made.code, 0, made.stderr);
  const r = await run(bin('jco'), ['run', component, 'cidr', '2001:DB8:1::1/64', '10.0.0.0/33'], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n'), ['2001:db8:1::/64 2001:db8:1:0:ffff:ffff:ffff:ffff', 'error -8']);
});
w('build/core.wasm imports at most env.abort', () => {
  const m = new WebAssembly.Module(readFileSync(join(projectRoot, 'build/core.wasm')));
  assert.equal(
    WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}`),
    ['env.abort'],
  );
});

p.run();
w.run();

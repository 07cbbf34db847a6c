// The core's own heap (assembly/mem.ts): blocks are zeroed, never overlap, and freed memory is reused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { core } from '../../host/core/wasm.ts';

const s = suite('core: Wasm heap');
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

s('random alloc/free: zeroed, 16-aligned, disjoint blocks; memory stops growing once warm', () => {
  const c = core();
  const r = rng(21);
  const live = new Map<number, { size: number; tag: number }>();
  const round = () => {
    for (let i = 0; i < 2000; i++) {
      if (live.size > 0 && r() % 3 === 0) {
        const keys = [...live.keys()];
        const p = keys[r() % keys.length];
        const { size, tag } = live.get(p)!;
        const mem = new Uint8Array(c.memory.buffer);
        for (let k = 0; k < size; k++) assert.is(mem[p + k], tag, 'block content intact');
        c.mem_free(p);
        live.delete(p);
      } else {
        const size = 1 + (r() % (r() % 8 === 0 ? 200_000 : 300));
        const p = c.mem_alloc(size);
        assert.is(p % 16, 0);
        const mem = new Uint8Array(c.memory.buffer);
        for (let k = 0; k < size; k++) assert.is(mem[p + k], 0, 'zeroed');
        for (const [q, b] of live) assert.ok(p + size <= q || q + b.size <= p, 'disjoint');
        const tag = 1 + (r() % 255);
        mem.fill(tag, p, p + size);
        live.set(p, { size, tag });
      }
    }
    for (const p of live.keys()) c.mem_free(p);
    live.clear();
  };
  round();
  const warm = c.memory.buffer.byteLength;
  round();
  round();
  assert.ok(c.memory.buffer.byteLength <= warm * 1.5, `memory ${c.memory.buffer.byteLength} vs ${warm}`);
});
s('a freed block is handed out again', () => {
  const c = core();
  const p = c.mem_alloc(1000);
  c.mem_free(p);
  const q = c.mem_alloc(1000);
  assert.is(q, p);
  c.mem_free(q);
});
s('the scratch buffer is stable and 64 KiB of it is usable', () => {
  const c = core();
  const a = c.scratch();
  assert.is(c.scratch(), a);
  const probe = c.mem_alloc(16);
  assert.ok(probe >= a + 65536 || probe + 16 <= a);
  c.mem_free(probe);
});

s.run();

// A small first-fit allocator with an address-ordered free list, so allocator bitmaps can be freed and
// reused in a long-lived process. Chunks come from the runtime heap (heap.alloc), which keeps this
// compatible with the stub runtime and with a WASI build that also allocates strings.
const HDR: usize = 16;          // block header: payload size (u32) at +0, next free block at +4
const CHUNK: usize = 65536;
const MIN_SPLIT: usize = 64;

let freeHead: usize = 0;

function align16(n: usize): usize { return (n + 15) & ~(<usize>15); }

function insertFree(b: usize): void {
  // keep the list sorted by address and merge neighbours that touch
  let prev: usize = 0;
  let cur = freeHead;
  while (cur != 0 && cur < b) { prev = cur; cur = load<u32>(cur, 4); }
  store<u32>(b, <u32>cur, 4);
  if (prev == 0) freeHead = b; else store<u32>(prev, <u32>b, 4);
  if (cur != 0 && b + HDR + <usize>load<u32>(b) == cur) {
    store<u32>(b, load<u32>(b) + <u32>HDR + load<u32>(cur));
    store<u32>(b, load<u32>(cur, 4), 4);
  }
  if (prev != 0 && prev + HDR + <usize>load<u32>(prev) == b) {
    store<u32>(prev, load<u32>(prev) + <u32>HDR + load<u32>(b));
    store<u32>(prev, load<u32>(b, 4), 4);
  }
}

/** Zeroed memory of at least `size` bytes, 16-byte aligned. */
export function memAlloc(size: usize): usize {
  size = size == 0 ? 16 : align16(size);
  for (let round = 0; round < 2; round++) {
    let prev: usize = 0;
    let b = freeHead;
    while (b != 0) {
      const bs = <usize>load<u32>(b);
      const next = <usize>load<u32>(b, 4);
      if (bs >= size) {
        let replacement = next;
        if (bs - size >= MIN_SPLIT) {
          const rest = b + HDR + size;
          store<u32>(rest, <u32>(bs - size - HDR));
          store<u32>(rest, <u32>next, 4);
          store<u32>(b, <u32>size);
          replacement = rest;
        }
        if (prev == 0) freeHead = replacement; else store<u32>(prev, <u32>replacement, 4);
        memory.fill(b + HDR, 0, <usize>load<u32>(b));
        return b + HDR;
      }
      prev = b;
      b = next;
    }
    const want = size + HDR > CHUNK ? size + HDR : CHUNK;
    const chunk = align16(heap.alloc(want + 16));
    store<u32>(chunk, <u32>(want - HDR));
    insertFree(chunk);
  }
  unreachable();
  return 0;
}

export function memFree(p: usize): void {
  if (p == 0) return;
  insertFree(p - HDR);
}

export function memSize(p: usize): usize { return <usize>load<u32>(p - HDR); }

let scratchPtr: usize = 0;
export const SCRATCH_SIZE: usize = 65536;
export function scratch(): usize {
  if (scratchPtr == 0) scratchPtr = memAlloc(SCRATCH_SIZE);
  return scratchPtr;
}

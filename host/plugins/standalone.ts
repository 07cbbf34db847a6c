// The cold path: `node build/js/cni-plugin.mjs <plugin>` runs one CNI call in this process, like a Go plugin
// binary would (the native executable execs this when no daemon answers). Environment and stdin in,
// the handler's stdout/stderr out, its exit code as ours.
import { readFileSync, writeSync } from 'node:fs';
import { callPlugin } from './dispatch.ts';

function readStdin(): Uint8Array {
  try {
    return readFileSync(0);
  } catch {
    return new Uint8Array(0); // stdin closed or not readable: the handler reports the missing config
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return; // reader gone: nothing left to tell
    }
  }
}

const name = process.argv[2] ?? '';
const res = await callPlugin(name, { env: { ...process.env }, stdin: readStdin() });
writeAll(1, res.stdout);
writeAll(2, res.stderr);
process.exit(res.exitCode);

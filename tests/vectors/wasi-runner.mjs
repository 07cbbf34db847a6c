// Runs build/core.wasi.wasm (the WASI command build of the core) with Node's WASI preview1 host.
// Usage: node wasi-runner.mjs <op> <arg>...   (arguments are passed through to the command)
import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';

const wasmPath = new URL('../../build/core.wasi.wasm', import.meta.url);
const wasi = new WASI({
  version: 'preview1',
  args: ['core.wasi.wasm', ...process.argv.slice(2)],
  env: {},
  returnOnExit: true,
});
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), wasi.getImportObject());
process.exitCode = wasi.start(instance);

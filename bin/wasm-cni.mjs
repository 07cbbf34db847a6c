#!/usr/bin/env node
// The package's command: runs the bundled CLI (build.sh makes it; `npm ci` runs build.sh).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
const entry = fileURLToPath(new URL('../build/js/wasm-cni.mjs', import.meta.url));
if (!existsSync(entry)) {
  console.error('wasm-cni: not built yet; run `npm run build`');
  process.exit(1);
}
await import(pathToFileURL(entry).href);

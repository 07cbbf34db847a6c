// The opt-in metrics endpoint: plain HTTP, GET /metrics, on a TCP address (`127.0.0.1:9617`, `[::1]:9617`,
// `:9617` for every address) or a unix socket (`unix:/run/wasm-cni/metrics.sock`). Separate from the call
// socket: a scrape never competes with the protocol, and the call socket stays root-only.
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { CONTENT_TYPE } from './prometheus.ts';

export type MetricsAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseMetricsAddress(text: string): MetricsAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (!path.startsWith('/')) throw new Error(`--metrics-address ${text}: a unix socket needs an absolute path`);
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new Error(`--metrics-address ${text}: expected HOST:PORT, [IPv6]:PORT, :PORT or unix:/PATH`);
  return { kind: 'tcp', host: m[1] ?? m[2] ?? '', port };
}

export interface MetricsEndpoint {
  /** Where it listens: `host:port` (the bound port) or `unix:/path`. */
  readonly address: string;
  close(): Promise<void>;
}

/** A unix socket nobody answers on is left over from a previous run. */
function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve();
    throw e;
  }
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      reject(new Error(`${path}: another process serves metrics there`));
    });
    s.once('error', () => {
      unlinkSync(path);
      resolve();
    });
  });
}

/** Serves `render()` at /metrics until closed. */
export async function startMetricsEndpoint(address: string, renderText: () => string): Promise<MetricsEndpoint> {
  const at = parseMetricsAddress(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    let body: string;
    try {
      body = renderText();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 5000;
  if (at.kind === 'unix') {
    mkdirSync(dirname(at.path), { recursive: true, mode: 0o700 }); // like the daemon's own socket directory
    await removeStaleSocket(at.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (at.kind === 'unix') server.listen(at.path, done);
    else server.listen(at.port, at.host || undefined, done);
  });
  const bound = server.address();
  const shown =
    at.kind === 'unix'
      ? `unix:${at.path}`
      : typeof bound === 'object' && bound
        ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
        : address;
  return {
    address: shown,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// The result cache, in libcni's on-disk format so that libcni-based runtimes and we read each other's entries:
// <cacheDir>/results/<network>-<containerID>-<ifName>, JSON of kind "cniCacheV1" (config as base64),
// directory 0700, file 0600. Legacy entries holding just a result are still read.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson, isPlainObject } from '../cni/decode.ts';
import { sortKeys } from '../cni/result.ts';

export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND = 'cniCacheV1';

export interface CacheEntry {
  containerId: string;
  /** The network configuration list bytes the attachment was made with. */
  config: Uint8Array;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: Record<string, unknown>;
  /** The final ADD result as JSON (whatever version the last plugin printed). */
  result?: Record<string, unknown>;
}

export function resultsDir(cacheDir: string): string {
  return join(cacheDir, 'results');
}

export function cacheFilePath(cacheDir: string, network: string, containerId: string, ifName: string): string {
  if (network === '' || containerId === '' || ifName === '') {
    throw new Error(
      `cache file path requires network name (${JSON.stringify(network)}), container ID (${JSON.stringify(containerId)}), and interface name (${JSON.stringify(ifName)})`,
    );
  }
  return join(resultsDir(cacheDir), `${network}-${containerId}-${ifName}`);
}

/** The file's JSON text, with libcni's field order. */
export function encodeCacheEntry(e: CacheEntry): string {
  const o: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: e.containerId,
    config: Buffer.from(e.config).toString('base64'),
    ifName: e.ifName,
    networkName: e.networkName,
  };
  if (e.netns) o.netns = e.netns;
  if (e.cniArgs && e.cniArgs.length > 0) o.cniArgs = e.cniArgs;
  if (e.capabilityArgs && Object.keys(e.capabilityArgs).length > 0) o.capabilityArgs = sortKeys(e.capabilityArgs);
  if (e.result && Object.keys(e.result).length > 0) o.result = sortKeys(e.result);
  return JSON.stringify(o);
}

/** Reads a cniCacheV1 document; undefined when it is something else (legacy raw result, or garbage). */
export function decodeCacheEntry(text: string | Uint8Array): CacheEntry | undefined {
  let v: unknown;
  try {
    v = parseJson(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(v) || v.kind !== CACHE_KIND) return undefined;
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  const e: CacheEntry = {
    containerId: str(v.containerId),
    config: typeof v.config === 'string' ? new Uint8Array(Buffer.from(v.config, 'base64')) : new Uint8Array(0),
    ifName: str(v.ifName),
    networkName: str(v.networkName),
  };
  if (typeof v.netns === 'string' && v.netns) e.netns = v.netns;
  if (Array.isArray(v.cniArgs)) {
    e.cniArgs = v.cniArgs.filter(
      (p): p is [string, string] => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'),
    );
  }
  if (isPlainObject(v.capabilityArgs)) e.capabilityArgs = v.capabilityArgs;
  if (isPlainObject(v.result)) e.result = v.result;
  return e;
}

/** Write an entry atomically (temp file + rename), creating the results directory. */
export function writeCacheEntry(cacheDir: string, e: CacheEntry): string {
  const file = cacheFilePath(cacheDir, e.networkName, e.containerId, e.ifName);
  mkdirSync(resultsDir(cacheDir), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, encodeCacheEntry(e), { mode: 0o600 });
  renameSync(tmp, file);
  return file;
}

/** The raw file bytes, or undefined when there is no entry. */
export function readCacheFile(
  cacheDir: string,
  network: string,
  containerId: string,
  ifName: string,
): Uint8Array | undefined {
  try {
    return readFileSync(cacheFilePath(cacheDir, network, containerId, ifName));
  } catch {
    return undefined;
  }
}

export function deleteCacheEntry(cacheDir: string, network: string, containerId: string, ifName: string): void {
  try {
    rmSync(cacheFilePath(cacheDir, network, containerId, ifName), { force: true });
  } catch {
    /* nothing to delete */
  }
}

/** Every cniCacheV1 attachment in the cache (optionally of one container), sorted by file name (libcni GetCachedAttachments). */
export function listCachedAttachments(cacheDir: string, containerId = ''): CacheEntry[] {
  let names: string[];
  try {
    names = readdirSync(resultsDir(cacheDir)).sort();
  } catch {
    return [];
  }
  const out: CacheEntry[] = [];
  for (const name of names) {
    if (containerId) {
      const part = `-${containerId}-`;
      const pos = name.indexOf(part);
      if (pos <= 0 || pos + part.length >= name.length) continue;
    }
    let text: Uint8Array;
    try {
      text = readFileSync(join(resultsDir(cacheDir), name));
    } catch {
      continue;
    }
    const e = decodeCacheEntry(text);
    if (!e) continue;
    if (containerId && e.containerId !== containerId) continue;
    if (!e.ifName || !e.networkName) continue;
    out.push(e);
  }
  return out;
}

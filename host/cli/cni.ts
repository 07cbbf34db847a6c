// `wasm-cni cni add|check|del|gc|status <network-name> <netns-path>`: cnitool's command line on our runtime.
// Same environment as cnitool (CNI_PATH, NETCONFPATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS), same container id
// (cnitool- + 20 hex of sha512(absolute netns path)), same output (the result JSON for add).
import { annotate, errorMessage } from '../errors.ts';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { formatResult } from '../cni/result.ts';
import { cniErrorText } from '../cni/errors.ts';
import { isPlainObject, parseJson } from '../cni/decode.ts';
import type { GCAttachment } from '../cni/types.ts';
import { loadNetworkByName } from '../runtime/config.ts';
import { DEFAULT_CACHE_DIR } from '../runtime/cache.ts';
import { CniRuntime, type RuntimeConf } from '../runtime/runtime.ts';

const SUBCOMMANDS = ['add', 'check', 'del', 'gc', 'status'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

const HELP = `usage: wasm-cni cni <add|check|del|gc|status> <network-name> <netns-path> [options]

Runs the network configuration called <network-name> against a network namespace, like cnitool:
  add     ADD every plugin of the list in order; prints the result
  check   CHECK the attachment against the cached result
  del     DEL every plugin in reverse order; removes the cached result
  gc      DEL cached attachments of the network not kept with --keep, then GC every plugin (1.1.0 lists)
  status  STATUS of every plugin (1.1.0 lists)

options:
  -i, --ifname NAME     interface name in the namespace (default: $CNI_IFNAME or eth0)
  --cache-dir DIR       result cache directory (default: $WASM_CNI_CACHE_DIR or ${DEFAULT_CACHE_DIR}; entries in DIR/results)
  --keep CID/IFNAME     (gc) an attachment to keep; repeatable
  -h, --help            this text

environment:
  CNI_PATH      plugin directories, ':'-separated (required)
  NETCONFPATH   configuration directory (default /etc/cni/net.d)
  CNI_IFNAME    interface name (default eth0)
  CNI_ARGS      K=V;K2=V2 passed to plugins
  CAP_ARGS      JSON object of capability arguments (portMappings, bandwidth, ipRanges, ...)

The container id is cnitool's: "cnitool-" + the first 20 hex digits of sha512(absolute netns path).
`;

interface Parsed {
  sub: Sub;
  network: string;
  netns: string;
  ifName?: string;
  cacheDir?: string;
  keep: GCAttachment[];
}

class UsageError extends Error {}

function parseArgv(argv: string[]): Parsed | 'help' {
  const positional: string[] = [];
  let ifName: string | undefined;
  let cacheDir: string | undefined;
  const keep: GCAttachment[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '-i' || a === '--ifname') ifName = value();
    else if (a.startsWith('--ifname=')) ifName = a.slice(9);
    else if (a === '--cache-dir') cacheDir = value();
    else if (a.startsWith('--cache-dir=')) cacheDir = a.slice(12);
    else if (a === '--keep' || a.startsWith('--keep=')) {
      const v = a === '--keep' ? value() : a.slice(7);
      const slash = v.lastIndexOf('/');
      if (slash <= 0 || slash === v.length - 1) throw new UsageError(`--keep wants CONTAINERID/IFNAME, got "${v}"`);
      keep.push({ containerID: v.slice(0, slash), ifname: v.slice(slash + 1) });
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  const [sub, network, netns, ...extra] = positional;
  if (sub === undefined) throw new UsageError('missing command (add, check, del, gc or status)');
  if (!SUBCOMMANDS.includes(sub as Sub))
    throw new UsageError(`unknown command "${sub}" (add, check, del, gc or status)`);
  if (network === undefined || netns === undefined) throw new UsageError('network name and namespace are required');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return { sub: sub as Sub, network, netns, ifName, cacheDir, keep };
}

/** cnitool's CNI_ARGS parsing: every piece must be K=V with both sides non-empty. */
function parseCnitoolArgs(raw: string): Array<[string, string]> {
  if (raw === '') return [];
  return raw.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2 || kv[0] === '' || kv[1] === '')
      throw new Error(`invalid CNI_ARGS pair ${JSON.stringify(pair)}`);
    return [kv[0]!, kv[1]!];
  });
}

function parseCapArgs(raw: string): Record<string, unknown> | undefined {
  if (raw === '') return undefined;
  let v: unknown;
  try {
    v = parseJson(raw);
  } catch (e) {
    throw annotate(e, 'CAP_ARGS');
  }
  if (v === null) return undefined;
  if (!isPlainObject(v))
    throw new Error(
      'CAP_ARGS: json: cannot unmarshal into Go value of type map[string]interface {} (want a JSON object)',
    );
  return v;
}

export function cnitoolContainerId(absNetns: string): string {
  return `cnitool-${createHash('sha512').update(absNetns).digest('hex').slice(0, 20)}`;
}

/** One line, whatever went wrong (CNI errors keep their "msg; details" form). */
function oneLine(e: unknown): string {
  const text = cniErrorText(e);
  return text.replace(/\s*\n\s*/g, '; ');
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed: Parsed | 'help';
  try {
    parsed = parseArgv(argv);
  } catch (e) {
    process.stderr.write(`wasm-cni cni: ${errorMessage(e)} (see 'wasm-cni cni --help')\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    const confDir = env.NETCONFPATH || '/etc/cni/net.d';
    const list = loadNetworkByName(confDir, parsed.network);
    const netns = resolve(parsed.netns);
    const rt: RuntimeConf = {
      containerId: cnitoolContainerId(netns),
      netns,
      ifName: parsed.ifName || env.CNI_IFNAME || 'eth0',
      args: parseCnitoolArgs(env.CNI_ARGS ?? ''),
      capabilityArgs: parseCapArgs(env.CAP_ARGS ?? ''),
    };
    const runtime = new CniRuntime({
      path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
      cacheDir: parsed.cacheDir || env.WASM_CNI_CACHE_DIR || DEFAULT_CACHE_DIR,
      env,
    });
    switch (parsed.sub) {
      case 'add': {
        const { result } = await runtime.addNetworkList(list, rt);
        process.stdout.write(`${formatResult(result, result.cniVersion)}\n`);
        break;
      }
      case 'check':
        await runtime.checkNetworkList(list, rt);
        break;
      case 'del':
        await runtime.delNetworkList(list, rt);
        break;
      case 'gc':
        await runtime.gcNetworkList(list, parsed.keep.length > 0 ? parsed.keep : undefined);
        break;
      case 'status':
        await runtime.statusNetworkList(list);
        break;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`wasm-cni cni ${parsed.sub}: ${oneLine(e)}\n`);
    return 1;
  }
}

// The shared differential harness: run one CNI scenario against the reference plugins (/usr/lib/cni) and
// against ours, the way libcni does, and compare what each leaves on the machine.
//
//   const cmp = await compareWithReference({
//     prepare: async ({ sb, token }) => {                 // called once per implementation, in a fresh Sandbox
//       const pod = await sb.netns('pod');
//       return { config: myConflist(`net-${token}`, sb), netns: pod.path, containerId: `cid-${token}`,
//                ifName: 'eth0', capabilityArgs: {...}, scope: { dataDir, sysctls: ['net/ipv4/ip_forward'] } };
//     },
//     steps: ['ADD', 'CHECK', 'DEL'],                     // the default
//   });
//   assert.is(cmp.diff, '', cmp.diff);                    // '' when both runs left the same state
//
// Keep the network name and container ID identical in both runs (use `token`), so that generated names
// (CNI-<hash>, CNI-DN-<hash>, bwp<hash>) are equal; use sb.name()/sb.netns()/sb.dir() for everything else —
// the sandbox prefix is replaced by `<sb>` in snapshots.
//
// Pieces, usable on their own:
//   new OracleRun(impl, sb)         impl 'reference' (CNI_PATH=/usr/lib/cni) or 'ours'.
//     .exec(command, case)          one libcni-style call of a .conf or .conflist: name/cniVersion injected into every
//                                   plugin, runtimeConfig = declared capabilities ∩ capabilityArgs, ADD in order
//                                   with prevResult chaining, result cached in a private cache dir; DEL in reverse
//                                   with the cached result (cniVersion ≥ 0.4.0), stops at the first failure;
//                                   CHECK in order with the cached result. → Outcome {exitCode, result?, error?, calls}
//     .snapshot(case, outcome?)     the normalized state → Snapshot (see below)
//     .step(step, case)             exec + snapshot → StepRecord
//     .sweep(case)                  remove firewall rules/chains and the bwp ifb this case may have left
//   renderSnapshot(s), diffSnapshots(a, b) → '' or a readable line diff (`-` reference, `+` ours).
//
// "ours" resolves per plugin type: build/cni/<type> when it exists and build/js/cni-plugin.mjs is newer than every
// file under host/ (so edits are never tested through a stale bundle), else the registry handler in-process
// (host/plugins/dispatch.ts). Force one with ORACLE_OURS=exec|in-process.
//
// A Snapshot holds: the outcome (result JSON, an empty 1.x `dns` dropped (Debian 1.1.1 prints it, v1.9.1 not); MACs → <mac1>…, veth<8 hex> → <veth1>…, fe80:: host addresses →
// <link-local>), and for the host (restricted to the scenario's links: sandbox-prefixed names, result interfaces
// without a sandbox, bwp<hash>, ports of those bridges, host peers of the pod's veths) and for each pod netns (all
// links): `ip -d link` (a stable subset of fields), addresses and routes (without IPv6 link-scope state and the
// local/anycast routes of IPv6 addresses, which appear asynchronously), `bridge vlan`, `tc qdisc` and `tc filter` per qdisc (actions after a stolen mirred
// redirect dropped: the reference installs an unreachable duplicate), chosen sysctls; `iptables-save`/`ip6tables-save` lines of nat and filter that mention a marker (network
// name, container ID, CNI-/CNI-DN- chain names, scope.markers); `nft -j` objects of tables named cni* (or
// scope.nftTables) that mention a marker (base chains always); every file of scope.dataDir (path, mode with Debian's 0644 read as v1.9.1's 0600, content).
import { goMarshalIndent } from '../../host/cni/gojson.ts';
import { sortKeys } from '../../host/cni/result.ts';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlesFresh, cniBinDir } from '../../host/paths.ts';
import { cleanEnv, run, type RunOptions, type RunResult } from './run.ts';
import { Sandbox } from './sandbox.ts';

export type Impl = 'reference' | 'ours';
export type Command = 'ADD' | 'CHECK' | 'DEL';
export const referenceCniPath = '/usr/lib/cni';
/** The same libcni call semantics written independently in bash + jq, to check this harness and our runtime. */
export const cniExecScript = fileURLToPath(new URL('./cni-exec.sh', import.meta.url));

/** run() of run.ts under the name other harnesses already import from here. */
export function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(cmd, args, opts);
}

export interface SnapshotScope {
  /** Extra host links to include (the automatic set is described at the top of this file). */
  hostLinks?: string[];
  /** Extra pod netns paths to snapshot besides the case's own. */
  netns?: string[];
  /** Host sysctl keys (`net/ipv4/ip_forward`); a `*` path element expands to each scoped host link. */
  sysctls?: string[];
  /** Sysctl keys read inside each pod netns; `*` expands to each of its links. */
  podSysctls?: string[];
  /** Extra strings that identify this case's firewall rules (e.g. a pod IP). */
  markers?: string[];
  /** nft tables to list, as `family name`; default: every table whose name starts with `cni`. */
  nftTables?: string[];
  /** A host-local dataDir: every file under it is part of the snapshot. */
  dataDir?: string;
}

export interface OracleCase {
  /** A single-plugin .conf or a .conflist ({name, cniVersion, plugins}) object. */
  config: Record<string, unknown>;
  /** Absolute netns path, or '' for none. */
  netns: string;
  containerId: string;
  ifName: string;
  capabilityArgs?: Record<string, unknown>;
  cniArgs?: string;
  scope?: SnapshotScope;
}

export interface CniErrorJson {
  code: number;
  msg: string;
  details?: string;
}

export interface PluginCall {
  type: string;
  command: string;
  via: 'exec' | 'in-process';
  stdin: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Outcome {
  command: Command;
  /** 0, or the exit status of the failing plugin. */
  exitCode: number;
  /** The final ADD result (parsed). */
  result?: unknown;
  /** The final ADD result as printed (compared as text: key order and escaping are part of the answer). */
  text?: string;
  /** The failing plugin's error JSON; {code: -1, msg} when it printed none (e.g. a Go panic). */
  error?: CniErrorJson;
  calls: PluginCall[];
}

export type Step =
  | Command
  | {
      command: Command;
      label?: string;
      /** Runs before the call (e.g. delete the netns to test DEL of a vanished pod). */
      before?: (ctx: { sb: Sandbox; run: OracleRun; case: OracleCase }) => Promise<void>;
      /** Changes the case for this call only (e.g. other capability args). */
      change?: (c: OracleCase) => OracleCase;
    };

export interface StepRecord {
  label: string;
  outcome: Outcome;
  snapshot: Snapshot;
}

export type Snapshot = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// Names the reference derives from sha512(networkName + containerID).

export function referenceNames(
  network: string,
  containerId: string,
): { masqChain: string; dnatChain: string; ifb: string } {
  const h = createHash('sha512')
    .update(network + containerId)
    .digest('hex');
  return { masqChain: `CNI-${h.slice(0, 24)}`, dnatChain: `CNI-DN-${h.slice(0, 21)}`, ifb: `bwp${h.slice(0, 12)}` };
}

function networkName(config: Record<string, unknown>): string {
  return String(config.name ?? '');
}

// ---------------------------------------------------------------------------------------------------------------
// Running plugins the way libcni does.

function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0,
      y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

let oursModeMemo: 'exec' | 'in-process' | undefined;
/** How "ours" runs: the built executables when they are at least as new as the sources, else in-process. */
export function oursMode(): 'exec' | 'in-process' {
  const forced = process.env.ORACLE_OURS;
  if (forced === 'exec' || forced === 'in-process') return forced;
  if (!oursModeMemo) {
    const fresh = bundlesFresh() && existsSync(join(cniBinDir, 'bridge'));
    oursModeMemo = fresh ? 'exec' : 'in-process';
  }
  return oursModeMemo;
}

type Dispatch = (
  name: string,
  req: { env: Record<string, string | undefined>; stdin: Uint8Array },
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
let dispatchMemo: Promise<Dispatch> | undefined;
function inProcessDispatch(): Promise<Dispatch> {
  // A computed specifier keeps this file independent of the registry's import graph at type-check time.
  const spec = new URL('../../host/plugins/dispatch.ts', import.meta.url).href;
  dispatchMemo ??= import(spec).then((m: { callPlugin: Dispatch }) => m.callPlugin);
  return dispatchMemo;
}

function parseError(stdout: string, exitCode: number, stderr: string): CniErrorJson {
  try {
    const e = JSON.parse(stdout) as CniErrorJson;
    if (typeof e === 'object' && e && typeof e.msg === 'string') {
      const out: CniErrorJson = { code: e.code, msg: e.msg };
      if (e.details) out.details = e.details;
      return out;
    }
  } catch {
    /* not JSON */
  }
  const firstLine = stderr.trim().split('\n')[0] ?? '';
  return { code: -1, msg: `exit status ${exitCode} without error JSON${firstLine ? `: ${firstLine}` : ''}` };
}

export class OracleRun {
  readonly cacheDir: string;
  private lastResults = new Map<string, unknown>();

  /** opts.cniPath: exec the binaries of this directory instead (for testing the harness itself). */
  constructor(
    readonly impl: Impl,
    readonly sb: Sandbox,
    private opts: { cniPath?: string } = {},
  ) {
    this.cacheDir = sb.dir('cache');
  }

  get cniPath(): string {
    return this.opts.cniPath ?? (this.impl === 'reference' ? referenceCniPath : cniBinDir);
  }

  private async callPlugin(
    type: string,
    command: string,
    conf: Record<string, unknown>,
    c: OracleCase,
  ): Promise<PluginCall> {
    const stdin = JSON.stringify(conf);
    const cniEnv: Record<string, string> = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: c.containerId,
      CNI_NETNS: c.netns,
      CNI_IFNAME: c.ifName,
      CNI_PATH: this.cniPath,
      CNI_ARGS: c.cniArgs ?? '',
    };
    const t0 = performance.now();
    const bin = join(this.cniPath, type);
    if (this.impl === 'ours' && !this.opts.cniPath && oursMode() === 'in-process') {
      const dispatch = await inProcessDispatch();
      const r = await dispatch(type, { env: { ...cleanEnv(), ...cniEnv }, stdin: new TextEncoder().encode(stdin) });
      return {
        type,
        command,
        via: 'in-process',
        stdin,
        exitCode: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        ms: performance.now() - t0,
      };
    }
    if (!existsSync(bin)) {
      const msg = `failed to find plugin "${type}" in path [${this.cniPath}]`;
      return {
        type,
        command,
        via: 'exec',
        stdin,
        exitCode: 1,
        stdout: JSON.stringify({ code: -1, msg }),
        stderr: '',
        ms: 0,
      };
    }
    const r = await run(bin, [], { input: stdin, env: cniEnv, timeoutMs: 120_000 });
    return {
      type,
      command,
      via: 'exec',
      stdin,
      exitCode: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      ms: performance.now() - t0,
    };
  }

  /** Where the case's result is cached (libcni layout: <net>-<cid>-<ifname>). */
  cacheFile(c: OracleCase): string {
    return join(this.cacheDir, `${networkName(c.config)}-${c.containerId}-${c.ifName}`);
  }

  /** One libcni-style call of the case's .conf/.conflist (the semantics of tests/_lib/cni-exec.sh). */
  async exec(command: Command, c: OracleCase): Promise<Outcome> {
    const cfg = c.config;
    const name = networkName(cfg);
    const version = typeof cfg.cniVersion === 'string' ? cfg.cniVersion : '0.1.0';
    const list = Array.isArray(cfg.plugins) ? (cfg.plugins as Record<string, unknown>[]) : [cfg];
    const caps = c.capabilityArgs ?? {};
    const build = (p: Record<string, unknown>, prev: unknown): Record<string, unknown> => {
      const conf: Record<string, unknown> = { ...p, name, cniVersion: version };
      if (prev != null) conf.prevResult = prev;
      const declared = (p.capabilities ?? {}) as Record<string, unknown>;
      const rc: Record<string, unknown> = {};
      for (const [k, on] of Object.entries(declared)) if (on === true && caps[k] != null) rc[k] = caps[k];
      if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
      return conf;
    };
    const calls: PluginCall[] = [];
    const fail = (call: PluginCall): Outcome => ({
      command,
      exitCode: call.exitCode,
      error: parseError(call.stdout, call.exitCode, call.stderr),
      calls,
    });
    const cached = (): unknown => {
      const f = this.cacheFile(c);
      if (!existsSync(f)) return undefined;
      return (JSON.parse(readFileSync(f, 'utf8')) as { result?: unknown }).result;
    };

    if (command === 'ADD') {
      let prev: unknown = null;
      let text = '';
      for (const p of list) {
        const call = await this.callPlugin(String(p.type), 'ADD', build(p, prev), c);
        calls.push(call);
        if (call.exitCode !== 0) return fail(call);
        prev = JSON.parse(call.stdout);
        text = call.stdout;
      }
      mkdirSync(this.cacheDir, { recursive: true });
      writeFileSync(
        this.cacheFile(c),
        JSON.stringify({
          kind: 'cniCacheV1',
          containerId: c.containerId,
          config: Buffer.from(JSON.stringify(cfg)).toString('base64'),
          ifName: c.ifName,
          networkName: name,
          cniArgs: c.cniArgs ?? '',
          capabilityArgs: caps,
          result: prev,
        }),
      );
      this.lastResults.set(this.cacheFile(c), prev);
      return { command, exitCode: 0, result: prev, text, calls };
    }
    if (command === 'DEL') {
      const prev = versionAtLeast(version, '0.4.0') ? (cached() ?? null) : null;
      for (const p of [...list].reverse()) {
        const call = await this.callPlugin(String(p.type), 'DEL', build(p, prev), c);
        calls.push(call);
        if (call.exitCode !== 0) return fail(call);
      }
      rmSync(this.cacheFile(c), { force: true });
      return { command, exitCode: 0, calls };
    }
    if (!versionAtLeast(version, '0.4.0')) {
      return {
        command,
        exitCode: 1,
        error: { code: -1, msg: `configuration version "${version}" does not support the CHECK command` },
        calls,
      };
    }
    const prev = cached();
    if (prev === undefined)
      return {
        command,
        exitCode: 1,
        error: { code: -1, msg: `no cached result for ${name}/${c.containerId}/${c.ifName}` },
        calls,
      };
    for (const p of list) {
      const call = await this.callPlugin(String(p.type), 'CHECK', build(p, prev), c);
      calls.push(call);
      if (call.exitCode !== 0) return fail(call);
    }
    return { command, exitCode: 0, calls };
  }

  async step(step: Step, c: OracleCase): Promise<StepRecord> {
    const s = typeof step === 'string' ? { command: step } : step;
    if ('before' in s && s.before) await s.before({ sb: this.sb, run: this, case: c });
    const cc = 'change' in s && s.change ? s.change(c) : c;
    const outcome = await this.exec(s.command, cc);
    const snapshot = await this.snapshot(cc, outcome);
    return { label: ('label' in s && s.label) || s.command, outcome, snapshot };
  }

  /** The normalized state of everything the case can touch (see the top of this file). */
  async snapshot(c: OracleCase, outcome?: Outcome): Promise<Snapshot> {
    const scope = c.scope ?? {};
    const net = networkName(c.config);
    const names = referenceNames(net, c.containerId);
    const lastResult = this.lastResults.get(this.cacheFile(c));
    const resultHostLinks = hostInterfaceNames(lastResult);

    const podPaths = [c.netns, ...(scope.netns ?? [])].filter((p) => p && existsSync(p));
    const pods: Record<string, NsView> = {};
    for (const p of podPaths) pods[p] = await readNs(p);

    const hostAll = await readNs('');
    const wanted = new Set<string>([...(scope.hostLinks ?? []), ...resultHostLinks, names.ifb]);
    for (const l of hostAll.links) if (l.ifname.startsWith(this.sb.prefix)) wanted.add(l.ifname);
    for (const pod of Object.values(pods))
      for (const l of pod.links) {
        if (l.link_netnsid !== undefined && l.link_index !== undefined) {
          const peer = hostAll.links.find((h) => h.ifindex === l.link_index);
          if (peer) {
            wanted.add(peer.ifname);
            l.peer = peer.ifname;
          }
        }
      }
    for (const l of hostAll.links) if (l.master && wanted.has(l.master)) wanted.add(l.ifname);
    const host = restrictNs(hostAll, wanted);

    const snap: Snapshot = {
      outcome: outcome ? outcomeView(outcome, this.impl) : undefined,
      host: await nsView(host, '', scope.sysctls ?? []),
      pods: Object.fromEntries(
        await Promise.all(Object.entries(pods).map(async ([p, v]) => [p, await nsView(v, p, scope.podSysctls ?? [])])),
      ),
      iptables: await iptablesView(
        [net, c.containerId, names.masqChain, names.dnatChain, ...(scope.markers ?? [])].filter(Boolean),
      ),
      nft: await nftView([net, c.containerId, ...(scope.markers ?? [])].filter(Boolean), scope.nftTables),
      state: scope.dataDir ? stateView(scope.dataDir) : undefined,
    };
    return normalize(snap, this.sb.prefix, resultHostLinks, hostAll);
  }

  /** Removes firewall rules/chains and the ifb the case may have left behind (call from sb.defer or suite.after). */
  async sweep(c: OracleCase): Promise<void> {
    const net = networkName(c.config);
    const names = referenceNames(net, c.containerId);
    await run('ip', ['link', 'delete', names.ifb]);
    const markers = [
      names.masqChain,
      names.dnatChain,
      `name: \\"${net}\\" id: \\"${c.containerId}\\"`,
      ...(c.scope?.markers ?? []),
    ];
    for (const [save, restore] of [
      ['iptables-save', 'iptables-restore'],
      ['ip6tables-save', 'ip6tables-restore'],
    ]) {
      for (const table of ['nat', 'filter']) {
        const text = (await run(save!, ['-t', table])).stdout;
        const lines = text.split('\n');
        const dels = lines
          .filter((l) => l.startsWith('-A ') && markers.some((m) => l.includes(m)))
          .map((l) => `-D${l.slice(2)}`);
        const chains = lines
          .filter((l) => l.startsWith(':'))
          .map((l) => l.slice(1).split(' ')[0]!)
          .filter((ch) => ch === names.masqChain || ch === names.dnatChain);
        if (dels.length === 0 && chains.length === 0) continue;
        const input = [
          `*${table}`,
          ...dels,
          ...chains.map((ch) => `-F ${ch}`),
          ...chains.map((ch) => `-X ${ch}`),
          'COMMIT',
          '',
        ].join('\n');
        await run(restore!, ['--noflush', '--wait'], { input });
      }
    }
    const nftMarkers = [net, c.containerId, ...(c.scope?.markers ?? [])].filter(Boolean);
    for (const t of await nftTables(c.scope?.nftTables)) {
      const items = await nftList(t);
      const cmds: string[] = [];
      for (const it of items) {
        if (it.rule && nftMarkers.some((m) => JSON.stringify(it.rule).includes(m))) {
          const r = it.rule as { family: string; table: string; chain: string; handle: number };
          cmds.push(`delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`);
        }
      }
      for (const it of items) {
        const ch = it.chain as { family: string; table: string; name: string } | undefined;
        if (ch && nftMarkers.some((m) => ch.name.includes(m)))
          cmds.push(`delete chain ${ch.family} ${ch.table} ${ch.name}`);
      }
      if (cmds.length) await run('nft', ['-f', '-'], { input: `${cmds.join('\n')}\n` });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the machine.

interface RawLink {
  ifindex: number;
  ifname: string;
  link_index?: number;
  link_netnsid?: number;
  master?: string;
  peer?: string;
  [k: string]: unknown;
}
interface NsView {
  links: RawLink[];
  addrs: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  vlans: Record<string, unknown>[];
}

async function inNs(nsPath: string, cmd: string, args: string[]): Promise<string> {
  const r = nsPath ? await run('nsenter', [`--net=${nsPath}`, cmd, ...args]) : await run(cmd, args);
  return r.code === 0 ? r.stdout : '';
}
async function json<T>(nsPath: string, cmd: string, args: string[]): Promise<T[]> {
  const out = (await inNs(nsPath, cmd, args)).trim();
  if (!out) return [];
  try {
    return JSON.parse(out) as T[];
  } catch {
    return [];
  }
}

async function readNs(nsPath: string): Promise<NsView> {
  const [links, addrs, routes4, routes6, vlans] = await Promise.all([
    json<RawLink>(nsPath, 'ip', ['-j', '-d', 'link', 'show']),
    json<Record<string, unknown>>(nsPath, 'ip', ['-j', 'addr', 'show']),
    json<Record<string, unknown>>(nsPath, 'ip', ['-j', '-4', 'route', 'show', 'table', 'all']),
    json<Record<string, unknown>>(nsPath, 'ip', ['-j', '-6', 'route', 'show', 'table', 'all']),
    json<Record<string, unknown>>(nsPath, 'bridge', ['-j', 'vlan', 'show']),
  ]);
  return { links, addrs, routes: [...routes4, ...routes6], vlans };
}

function restrictNs(v: NsView, wanted: Set<string>): NsView {
  return {
    links: v.links.filter((l) => wanted.has(l.ifname)),
    addrs: v.addrs.filter((a) => wanted.has(String(a.ifname))),
    routes: v.routes.filter((r) => wanted.has(String(r.dev))),
    vlans: v.vlans.filter((x) => wanted.has(String(x.ifname))),
  };
}

function hostInterfaceNames(result: unknown): string[] {
  const ifs = (result as { interfaces?: { name?: string; sandbox?: string }[] } | undefined)?.interfaces ?? [];
  return ifs.filter((i) => i.name && !i.sandbox).map((i) => i.name!);
}

const LINK_FLAGS_IGNORED = new Set(['LOWER_UP', 'NO-CARRIER', 'M-DOWN']);
const BRIDGE_FIELDS = ['stp_state', 'vlan_filtering', 'vlan_protocol', 'vlan_default_pvid', 'mcast_snooping'];
const BRPORT_FIELDS = ['hairpin', 'learning', 'isolated', 'guard', 'proxy_arp', 'flood', 'neigh_suppress'];
const ADDR_FIELDS = [
  'family',
  'local',
  'prefixlen',
  'broadcast',
  'scope',
  'noprefixroute',
  'nodad',
  'dadfailed',
  'home',
  'mngtmpaddr',
];
const ROUTE_FIELDS = [
  'type',
  'dst',
  'gateway',
  'dev',
  'protocol',
  'scope',
  'prefsrc',
  'metric',
  'table',
  'flags',
  'mtu',
  'advmss',
  'via',
];

function pick(o: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!o) return out;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function linkView(l: RawLink): Record<string, unknown> {
  const info = (l.linkinfo ?? {}) as Record<string, unknown>;
  const v: Record<string, unknown> = {
    ifname: l.ifname,
    kind: info.info_kind,
    slaveKind: info.info_slave_kind,
    mtu: l.mtu,
    txqlen: l.txqlen ?? 0,
    flags: ((l.flags as string[] | undefined) ?? []).filter((f) => !LINK_FLAGS_IGNORED.has(f)).sort(),
    address: l.address,
    promiscuity: l.promiscuity,
    master: l.master,
    peer: l.peer,
  };
  if (info.info_kind === 'bridge') v.bridge = pick(info.info_data as Record<string, unknown>, BRIDGE_FIELDS);
  if (info.info_slave_kind === 'bridge') v.port = pick(info.info_slave_data as Record<string, unknown>, BRPORT_FIELDS);
  if (info.info_kind === 'vlan') v.vlan = pick(info.info_data as Record<string, unknown>, ['protocol', 'id']);
  return v;
}

function dropKeys(x: unknown, keys: Set<string>): unknown {
  if (Array.isArray(x)) return x.map((e) => dropKeys(e, keys));
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (!keys.has(k)) out[k] = dropKeys(v, keys);
    return out;
  }
  return x;
}

const TC_VOLATILE = new Set([
  'refcnt',
  'index',
  'ref',
  'bind',
  'installed',
  'last_used',
  'expires',
  'first_used',
  'stats',
  'stats64',
]);

/**
 * The reference's u32 filter carries its mirred redirect twice (vishvananda/netlink adds one for `RedirIndex` and
 * one from `Actions`): "redirect … stolen" then an identical "redirect … pass" that no packet ever reaches. Actions
 * after a stolen mirred redirect are unreachable, so they are dropped before comparing.
 */
function withoutUnreachableMirred(f: Record<string, unknown>): Record<string, unknown> {
  const opts = f.options as { actions?: Array<Record<string, unknown>> } | undefined;
  const acts = opts?.actions;
  if (!acts) return f;
  const stop = acts.findIndex(
    (a) =>
      a.kind === 'mirred' &&
      a.mirred_action === 'redirect' &&
      (a.control_action as { type?: string } | undefined)?.type === 'stolen',
  );
  if (stop < 0 || stop === acts.length - 1) return f;
  return { ...f, options: { ...opts, actions: acts.slice(0, stop + 1) } };
}

async function tcView(nsPath: string, dev: string): Promise<Record<string, unknown>> {
  const qdiscs = await json<Record<string, unknown>>(nsPath, 'tc', ['-j', 'qdisc', 'show', 'dev', dev]);
  const filters: Record<string, unknown> = {};
  for (const q of qdiscs) {
    const h = String(q.handle ?? '');
    if (!h || h === '0:') continue;
    const fs = await json<Record<string, unknown>>(nsPath, 'tc', ['-j', 'filter', 'show', 'dev', dev, 'parent', h]);
    if (fs.length) filters[h] = (dropKeys(fs, TC_VOLATILE) as Record<string, unknown>[]).map(withoutUnreachableMirred);
  }
  return { qdiscs: dropKeys(qdiscs, TC_VOLATILE), filters };
}

async function sysctlView(nsPath: string, keys: string[], linkNames: string[]): Promise<Record<string, string>> {
  const expanded = keys.flatMap((k) =>
    k.split('/').includes('*')
      ? linkNames.map((n) =>
          k
            .split('/')
            .map((p) => (p === '*' ? n : p))
            .join('/'),
        )
      : [k],
  );
  if (!expanded.length) return {};
  const script = 'for f; do printf "%s\\t" "$f"; cat "/proc/sys/$f" 2>/dev/null || echo "<absent>"; done';
  const out = await inNs(nsPath, 'sh', ['-c', script, 'sh', ...expanded]);
  const res: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('\t');
    if (i > 0) res[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return res;
}

/**
 * IPv6 link-scope state (fe80:: addresses, the fe80::/64 and ff00::/8 routes, their local-table entries) appears
 * asynchronously once a link has carrier, so it is left out: it would make snapshots of the same run differ.
 */
function isIpv6LinkScope(a: Record<string, unknown>): boolean {
  return a.family === 'inet6' && a.scope === 'link';
}
function isIpv6LinkScopeRoute(r: Record<string, unknown>): boolean {
  const dst = String(r.dst ?? '');
  return dst === 'fe80::/64' || dst === 'ff00::/8' || (r.type === 'local' && LINK_LOCAL_RE.test(dst));
}
/** IPv6 local/anycast routes of an address appear only when its DAD completes; the address list has them. */
function isIpv6AddressRoute(r: Record<string, unknown>): boolean {
  return r.table === 'local' && (r.type === 'local' || r.type === 'anycast') && String(r.dst ?? '').includes(':');
}

async function nsView(v: NsView, nsPath: string, sysctls: string[]): Promise<Record<string, unknown>> {
  const tc: Record<string, unknown> = {};
  for (const l of v.links) tc[l.ifname] = await tcView(nsPath, l.ifname);
  return {
    links: v.links.map(linkView),
    addrs: v.addrs.map((a) => ({
      ifname: a.ifname,
      addrs: ((a.addr_info as Record<string, unknown>[] | undefined) ?? [])
        .filter((x) => !isIpv6LinkScope(x))
        .map((x) => pick(x, ADDR_FIELDS)),
    })),
    routes: v.routes
      .filter((r) => !isIpv6LinkScopeRoute(r) && !isIpv6AddressRoute(r))
      .map((r) => {
        const out = pick(r, ROUTE_FIELDS);
        if (Array.isArray(out.flags)) out.flags = (out.flags as string[]).filter((f) => f !== 'linkdown'); // carrier timing
        return out;
      }),
    vlans: v.vlans,
    tc,
    sysctls: await sysctlView(
      nsPath,
      sysctls,
      v.links.map((l) => l.ifname),
    ),
  };
}

async function iptablesView(markers: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const save of ['iptables-save', 'ip6tables-save']) {
    for (const table of ['nat', 'filter']) {
      const text = (await run(save, ['-t', table])).stdout;
      out[`${save} -t ${table}`] = text
        .split('\n')
        .filter((l) => (l.startsWith(':') || l.startsWith('-A ')) && markers.some((m) => l.includes(m)))
        .map((l) => (l.startsWith(':') ? l.replace(/ \[\d+:\d+\]$/, '') : l));
    }
  }
  return out;
}

async function nftTables(only?: string[]): Promise<string[]> {
  if (only) return only;
  const items = (await nftJson(['list', 'tables'])) as { table?: { family: string; name: string } }[];
  return items.filter((i) => i.table?.name.startsWith('cni')).map((i) => `${i.table!.family} ${i.table!.name}`);
}
async function nftJson(args: string[]): Promise<Record<string, unknown>[]> {
  const r = await run('nft', ['-j', ...args]);
  if (r.code !== 0) return [];
  try {
    return (JSON.parse(r.stdout) as { nftables?: Record<string, unknown>[] }).nftables ?? [];
  } catch {
    return [];
  }
}
async function nftList(table: string): Promise<Record<string, unknown>[]> {
  return nftJson(['list', 'table', ...table.split(' ')]);
}

async function nftView(markers: string[], only?: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  const handles = new Set(['handle']);
  for (const t of await nftTables(only)) {
    const kept: unknown[] = [];
    for (const it of await nftList(t)) {
      if (it.metainfo) continue;
      const text = JSON.stringify(it);
      const chain = it.chain as { hook?: string; name: string } | undefined;
      if (
        it.table ||
        (chain && (chain.hook || markers.some((m) => chain.name.includes(m)))) ||
        markers.some((m) => text.includes(m))
      ) {
        kept.push(dropKeys(it, handles));
      }
    }
    if (kept.length) out[t] = kept;
  }
  return out;
}

function stateView(dir: string): Record<string, { mode: string; content: string }> {
  const out: Record<string, { mode: string; content: string }> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      // Debian 1.1.1 host-local writes reservations and last_reserved_ip.* with 0644, v1.9.1 (which we follow) 0600.
      let mode = (statSync(p).mode & 0o7777).toString(8);
      if (mode === '644' && e.name !== 'lock') mode = '600';
      out[relative(dir, p)] = { mode, content: readFileSync(p, 'utf8') };
    }
  };
  walk(dir);
  return out;
}

/**
 * Debian 1.1.1 prints an empty `"dns": {}` in 1.x results; v1.9.1 (which we follow) omits it. Both are the same
 * result to a runtime, so an empty dns of a 1.x result is dropped before comparing.
 */
function withoutEmptyDns1x(result: unknown): unknown {
  const r = result as { cniVersion?: string; dns?: Record<string, unknown> } | undefined;
  if (!r || typeof r !== 'object' || !r.cniVersion?.startsWith('1.') || !r.dns || Object.keys(r.dns).length > 0)
    return result;
  const { dns: _empty, ...rest } = r;
  return rest;
}

/**
 * The reference's result text as v1.9.1 prints it. Debian 1.1.1 prints a 1.x result in Go struct order with
 * `"dns": {}`; v1.9.1 (containernetworking/cni v1.2+ types100.Result.MarshalJSON, which we follow) goes through
 * a map: keys sorted at every level, an empty dns omitted. 0.x results are the same in both: compared as printed.
 */
function referenceTextAsV191(text: string): string {
  const r = JSON.parse(text) as { cniVersion?: string };
  if (!r || typeof r !== 'object' || !r.cniVersion?.startsWith('1.')) return text;
  return goMarshalIndent(sortKeys(withoutEmptyDns1x(r)));
}

function outcomeView(o: Outcome, impl: Impl): Record<string, unknown> {
  const text = o.text === undefined ? undefined : impl === 'reference' ? referenceTextAsV191(o.text) : o.text;
  return { exitCode: o.exitCode, result: withoutEmptyDns1x(o.result), text, error: o.error };
}

// ---------------------------------------------------------------------------------------------------------------
// Normalization and rendering.

const MAC_RE = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi;
const VETH_RE = /\bveth[0-9a-f]{8}\b/g;
const LINK_LOCAL_RE = /^fe80::(?=.*[1-9a-f])[0-9a-f:]+$/i;

function mapStrings(x: unknown, f: (s: string) => string): unknown {
  if (typeof x === 'string') return f(x);
  if (Array.isArray(x)) return x.map((e) => mapStrings(e, f));
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[f(k)] = mapStrings(v, f);
    return out;
  }
  return x;
}

function placeholders(kind: string): (raw: string) => string {
  const seen = new Map<string, string>();
  return (raw) => {
    const key = raw.toLowerCase();
    let p = seen.get(key);
    if (!p) {
      p = `<${kind}${seen.size + 1}>`;
      seen.set(key, p);
    }
    return p;
  };
}

function sortByName(arr: unknown, key: string): void {
  if (Array.isArray(arr))
    arr.sort((a, b) =>
      String((a as Record<string, unknown>)[key]).localeCompare(String((b as Record<string, unknown>)[key])),
    );
}

function normalize(snap: Snapshot, prefix: string, resultHostLinks: string[], host: NsView): Snapshot {
  // 1. names: sandbox prefix, private dirs, random veth names (numbered by result order, then creation order).
  const veth = placeholders('veth');
  for (const n of resultHostLinks) if (n.match(VETH_RE)) veth(n);
  for (const l of [...host.links].sort((a, b) => a.ifindex - b.ifindex)) if (l.ifname.match(VETH_RE)) veth(l.ifname);
  const dirRe = new RegExp(`${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${prefix}-([\\w]+)-\\w{6}`, 'g');
  let s = mapStrings(snap, (str) =>
    str
      .replace(dirRe, '<dir:$1>')
      .split(prefix)
      .join('<sb>')
      .replace(VETH_RE, (m) => veth(m)),
  ) as Snapshot;
  // 2. stable order of unordered collections, by (normalized) name.
  for (const ns of [s.host, ...Object.values((s.pods ?? {}) as Record<string, unknown>)] as Record<string, unknown>[]) {
    sortByName(ns.links, 'ifname');
    sortByName(ns.addrs, 'ifname');
    sortByName(ns.vlans, 'ifname');
  }
  // 3. MACs and IPv6 link-local addresses (derived from MACs), in traversal order: result first.
  const mac = placeholders('mac');
  s = mapStrings(s, (str) =>
    LINK_LOCAL_RE.test(str)
      ? '<link-local>'
      : str.replace(MAC_RE, (m) => (m === '00:00:00:00:00:00' || m.toLowerCase() === 'ff:ff:ff:ff:ff:ff' ? m : mac(m))),
  ) as Snapshot;
  return s;
}

function stableStringify(x: unknown, indent = ''): string {
  if (x === undefined) return 'undefined';
  if (x === null || typeof x !== 'object') return JSON.stringify(x);
  const next = `${indent}  `;
  if (Array.isArray(x)) {
    if (x.length === 0) return '[]';
    return `[\n${x.map((e) => next + stableStringify(e, next)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(x)
    .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
    .sort();
  if (keys.length === 0) return '{}';
  return (
    '{\n' +
    keys
      .map((k) => `${next}${JSON.stringify(k)}: ${stableStringify((x as Record<string, unknown>)[k], next)}`)
      .join(',\n') +
    '\n' +
    indent +
    '}'
  );
}

/** A snapshot (or a list of step records) as stable, key-sorted text. */
export function renderSnapshot(s: Snapshot | StepRecord[]): string {
  if (Array.isArray(s))
    return s.map((r, i) => `== step ${i + 1}: ${r.label} ==\n${stableStringify(r.snapshot)}`).join('\n');
  return stableStringify(s);
}

/** '' when equal; else a line diff with 3 lines of context (`-` = a, `+` = b). */
export function diffSnapshots(
  a: Snapshot | StepRecord[],
  b: Snapshot | StepRecord[],
  labels: [string, string] = ['reference', 'ours'],
): string {
  const x = renderSnapshot(a).split('\n');
  const y = renderSnapshot(b).split('\n');
  if (x.join('\n') === y.join('\n')) return '';
  // LCS table (snapshots are a few thousand lines at most).
  const n = x.length,
    m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  const ops: { t: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0,
    j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      ops.push({ t: ' ', line: x[i]! });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      ops.push({ t: '+', line: y[j]! });
      j++;
    } else {
      ops.push({ t: '-', line: x[i]! });
      i++;
    }
  }
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  const ctx = 3;
  let lastPrinted = -1;
  for (let k = 0; k < ops.length; k++) {
    if (ops[k]!.t === ' ') continue;
    const from = Math.max(k - ctx, lastPrinted + 1);
    if (from > lastPrinted + 1 && lastPrinted >= 0) out.push('...');
    // nearest section header above, for orientation
    for (let h = k; h >= 0; h--)
      if (ops[h]!.line.startsWith('== step')) {
        if (h < from && h > lastPrinted) out.push(`@ ${ops[h]!.line}`);
        break;
      }
    let end = k;
    while (
      end + 1 < ops.length &&
      (ops[end + 1]!.t !== ' ' || ops.slice(end + 1, end + 1 + 2 * ctx + 1).some((o) => o.t !== ' '))
    )
      end++;
    const to = Math.min(ops.length - 1, end + ctx);
    for (let q = from; q <= to; q++) out.push(`${ops[q]!.t} ${ops[q]!.line}`);
    lastPrinted = to;
    k = to;
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Reference then ours, each in a fresh sandbox.

export interface CompareOptions {
  /** Builds the case in a fresh sandbox (netns, pre-existing links, private dirs); same network name/cid via token. */
  prepare(ctx: { sb: Sandbox; impl: Impl; token: string }): Promise<OracleCase>;
  steps?: Step[];
  impls?: [Impl, Impl];
}

export interface Comparison {
  records: Record<Impl, StepRecord[]>;
  diff: string;
  token: string;
}

export async function runScenario(impl: Impl, token: string, opts: CompareOptions): Promise<StepRecord[]> {
  const sb = new Sandbox();
  const records: StepRecord[] = [];
  let c: OracleCase | undefined;
  let runner: OracleRun | undefined;
  try {
    c = await opts.prepare({ sb, impl, token });
    runner = new OracleRun(impl, sb);
    for (const step of opts.steps ?? ['ADD', 'CHECK', 'DEL']) records.push(await runner.step(step, c));
  } finally {
    if (runner && c) {
      // DEL whatever is still attached (best effort), then sweep what the case's names identify.
      if (existsSync(runner.cacheFile(c))) await runner.exec('DEL', c).catch(() => undefined);
      await runner.sweep(c).catch(() => undefined);
    }
    await sb.cleanup();
  }
  return records;
}

export async function compareWithReference(opts: CompareOptions): Promise<Comparison> {
  const token = randomBytes(3).toString('hex');
  const [a, b] = opts.impls ?? ['reference', 'ours'];
  const ra = await runScenario(a, token, opts);
  const rb = await runScenario(b, token, opts);
  return { records: { [a]: ra, [b]: rb } as Record<Impl, StepRecord[]>, diff: diffSnapshots(ra, rb, [a, b]), token };
}

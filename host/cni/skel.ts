// The plugin entry ("skel"): turns a plugin's add/del/check(/gc/status) into a PluginHandler with the
// reference's protocol behaviour — environment validation in the reference's order and wording, VERSION,
// the JSON syntax and network name checks, cniVersion extraction and version negotiation, result conversion to
// the config's version, and every failure as error JSON on stdout with exit 1.
// Like the reference's skel it reads nothing else of the config: each plugin decodes its own struct from
// `conf` (its config.ts, with netconf.ts for the shared types.NetConf fields and prevResult), so errors carry
// the plugin's wording and fields a plugin does not have are ignored.
import { errorMessage } from '../errors.ts';
import { statSync } from 'node:fs';
import type { PluginHandler, PluginLookup, PluginRequest, PluginResponse } from './handler.ts';
import { callerContext, runAsCaller, type CallerContext } from './caller.ts';
import { CniError, ErrCode, errorResponse } from './errors.ts';
import { jsonTypeName, parseJson, typeError, type Decoder } from './decode.ts';
import { readNetConf } from './netconf.ts';
import { checkStdinSize } from './limits.ts';
import { formatResult } from './result.ts';
import { CURRENT_VERSION, WASM_CNI_VERSION, versionAtLeast } from './version.ts';
import type { NetConf, Result } from './types.ts';

export interface CmdArgs {
  command: string;
  containerId: string;
  netns: string;
  ifName: string;
  /** Raw CNI_ARGS; parse with args.ts. */
  args: string;
  /** CNI_PATH split on ':'. */
  path: string[];
  stdin: Uint8Array;
  /** The parsed stdin JSON object, untouched (plugins decode their own fields from it with decode.ts). */
  conf: Record<string, unknown>;
  /** The config's cniVersion as negotiated ('0.1.0' when absent): the version to print the result in. */
  cniVersion: string;
  /** The network name (present and valid: skel checked it). */
  name: string;
  /**
   * The config decoded as plain types.NetConf on first read (netconf.ts readNetConf: a wrong type throws with
   * types.NetConf's wording; prevResult is parsed when read). For plugins that have not moved to decoding their
   * own struct; new code uses `cniVersion`/`name` and netconf.ts (`netConfFields`, `prevResultOf`).
   */
  readonly netconf: NetConf;
  /** The caller's whole environment (delegation passes it on). */
  env: Readonly<Record<string, string | undefined>>;
  /** The plugins this process runs itself (PluginRequest.plugins), for delegate.ts. */
  plugins?: PluginLookup;
  /** Whose world the call acts in: every path named above goes through `caller.resolve`, and the host side
   * is `caller.netns` (caller.ts). The identity context on the cold path. */
  caller: CallerContext;
}

export interface PluginSpec {
  name: string;
  versions: string[];
  add(a: CmdArgs): Promise<Result>;
  del(a: CmdArgs): Promise<void>;
  check(a: CmdArgs): Promise<void>;
  gc?(a: CmdArgs): Promise<void>;
  status?(a: CmdArgs): Promise<void>;
}

/** Names allowed for container ids and networks. */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrCode.UnknownContainer, 'missing containerID');
  if (!VALID_NAME.test(id)) throw new CniError(ErrCode.InvalidEnv, 'invalid characters in containerID', id);
}

export function validateNetworkName(name: string): void {
  if (name === '') throw new CniError(ErrCode.InvalidNetworkConfig, 'missing network name:');
  if (!VALID_NAME.test(name))
    throw new CniError(ErrCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
}

export function validateInterfaceName(name: string): void {
  if (name.length === 0) throw new CniError(ErrCode.InvalidEnv, 'interface name is empty');
  if (Buffer.byteLength(name) > 15)
    throw new CniError(
      ErrCode.InvalidEnv,
      'interface name is too long',
      'interface name should be less than 16 characters',
    );
  if (name === '.' || name === '..') throw new CniError(ErrCode.InvalidEnv, 'interface name is . or ..');
  // '/', ':' and what Go's unicode.IsSpace calls whitespace.
  if (/[/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name))
    throw new CniError(ErrCode.InvalidEnv, 'interface name contains / or : or whitespace characters');
}

type Command = 'ADD' | 'CHECK' | 'DEL' | 'GC' | 'STATUS';

/** The reference's table: which variables each command requires, in reporting order. */
const ENV_VARS: Array<{ name: string; requiredFor: Command[]; validate?: (v: string) => void }> = [
  { name: 'CNI_COMMAND', requiredFor: ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS'] },
  { name: 'CNI_CONTAINERID', requiredFor: ['ADD', 'CHECK', 'DEL'], validate: validateContainerId },
  { name: 'CNI_NETNS', requiredFor: ['ADD', 'CHECK'] },
  { name: 'CNI_IFNAME', requiredFor: ['ADD', 'CHECK', 'DEL'], validate: validateInterfaceName },
  { name: 'CNI_ARGS', requiredFor: [] },
  { name: 'CNI_PATH', requiredFor: ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS'] },
];

/** The skel's own look at the config: `{name string}` / `{cniVersion string}` in anonymous Go structs. */
function anonString(field: string): Decoder<string> {
  const goType = `struct { ${field === 'name' ? 'Name' : 'CNIVersion'} string "json:\\"${field}\\"" }`;
  return {
    goType,
    decode: (v, at) =>
      typeof v === 'string' ? v : typeError(jsonTypeName(v), 'string', { struct: '', path: [...at.path, field] }),
  };
}

function readTopString(conf: unknown, field: 'name' | 'cniVersion'): string {
  const d = anonString(field);
  if (conf === null) return '';
  if (typeof conf !== 'object' || Array.isArray(conf)) return typeError(jsonTypeName(conf), d.goType, { path: [] });
  let value: unknown;
  for (const [k, v] of Object.entries(conf as Record<string, unknown>)) {
    if (k.toLowerCase() === field.toLowerCase() && v !== null) value = d.decode(v, { path: [] }); // last one wins, like Go
  }
  return typeof value === 'string' ? value : '';
}

function ok(stdout = '', stderr = ''): PluginResponse {
  return { exitCode: 0, stdout, stderr };
}

export function makeHandler(spec: PluginSpec): PluginHandler {
  const about = `CNI ${spec.name} plugin wasm-cni v${WASM_CNI_VERSION}\nCNI protocol versions supported: ${spec.versions.join(', ')}\n`;

  return async (req: PluginRequest): Promise<PluginResponse> => {
    try {
      return await dispatch(spec, about, req);
    } catch (e) {
      return errorResponse(e);
    }
  };
}

/** The protocol steps in the reference's order; a step that fails throws, and makeHandler's boundary prints it. */
async function dispatch(spec: PluginSpec, about: string, req: PluginRequest): Promise<PluginResponse> {
  const env = readEnv(req.env);
  if (!env) return ok('', about); // no CNI_COMMAND: the plugin says what it is, on stderr
  if (env.command === 'VERSION') {
    return ok(`${JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: spec.versions })}\n`);
  }
  checkStdinSize(req.stdin);
  // The config must be JSON with a valid name before anything else (even an unknown command).
  const { conf, name } = decodeConfig(req.stdin);
  const command = knownCommand(env.command);
  const cniVersion = negotiateVersion(spec, command, conf);
  const caller = callerContext(req.caller);
  if (command === 'ADD' || command === 'DEL') refuseOwnNetns(req.env, env.values.CNI_NETNS!, caller);

  const verb = verbOf(spec, command);
  if (!verb) return ok(); // a 1.1.0 plugin without GC/STATUS work succeeds
  return callVerb(verb, command, cmdArgs(req, env.values, command, conf, name, cniVersion, caller));
}

interface EnvReading {
  command: string;
  /** Every variable of ENV_VARS, '' when unset. */
  values: Record<string, string>;
}

/**
 * The CNI_* variables in the reference's order: each required one that is set is validated as it is read, then
 * the missing ones are reported together. Undefined when CNI_COMMAND itself is missing (the "about" answer).
 */
function readEnv(env: PluginRequest['env']): EnvReading | undefined {
  const command = env.CNI_COMMAND ?? '';
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const v of ENV_VARS) {
    const value = env[v.name] ?? '';
    values[v.name] = value;
    const required = v.name === 'CNI_COMMAND' || v.requiredFor.includes(command as Command);
    if (value === '') {
      if (required) missing.push(v.name);
    } else if (required && v.validate) {
      v.validate(value);
    }
  }
  if (missing.length > 0) {
    if (command === '') return undefined;
    throw new CniError(ErrCode.InvalidEnv, `required env variables [${missing.join(',')}] missing`);
  }
  return { command, values };
}

/** stdin as JSON with a present, valid network name. */
function decodeConfig(stdin: Uint8Array): { conf: unknown; name: string } {
  let conf: unknown;
  let name: string;
  try {
    conf = parseJson(stdin);
    name = readTopString(conf, 'name');
  } catch (e) {
    throw new CniError(ErrCode.DecodeFailure, `error unmarshall network config: ${errorMessage(e)}`);
  }
  if (name === '') throw new CniError(ErrCode.InvalidNetworkConfig, 'missing network name');
  validateNetworkName(name);
  return { conf, name };
}

const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'];

function knownCommand(cmd: string): Command {
  if (!COMMANDS.includes(cmd as Command)) throw new CniError(ErrCode.InvalidEnv, `unknown CNI_COMMAND: ${cmd}`);
  return cmd as Command;
}

/**
 * The config's cniVersion ('0.1.0' when absent), checked against what the command needs (CHECK ≥ 0.4.0,
 * GC/STATUS ≥ 1.1.0) and what the plugin supports. Returns the version to print the result in.
 */
function negotiateVersion(spec: PluginSpec, command: Command, conf: unknown): string {
  let confVersion: string;
  try {
    confVersion = readTopString(conf, 'cniVersion') || '0.1.0';
  } catch (e) {
    throw new CniError(ErrCode.DecodeFailure, `decoding version from network config: ${errorMessage(e)}`);
  }
  const minimum = command === 'CHECK' ? '0.4.0' : command === 'GC' || command === 'STATUS' ? '1.1.0' : undefined;
  if (minimum) {
    if (!atLeast(confVersion, minimum))
      throw new CniError(ErrCode.IncompatibleVersion, `config version does not allow ${command}`);
    if (!spec.versions.some((pv) => atLeast(pv, confVersion))) {
      throw new CniError(ErrCode.IncompatibleVersion, `plugin version does not allow ${command}`);
    }
  }
  if (!spec.versions.includes(confVersion)) {
    throw new CniError(
      ErrCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is "${confVersion}", plugin supports [${spec.versions.map((v) => `"${v}"`).join(' ')}]`,
    );
  }
  return confVersion;
}

function atLeast(v: string, min: string): boolean {
  try {
    return versionAtLeast(v, min);
  } catch (e) {
    throw new CniError(ErrCode.DecodeFailure, errorMessage(e));
  }
}

/** Whether `netns` names the namespace the caller runs in (the reference refuses ADD/DEL there). */
function isOwnNetns(netns: string, caller: CallerContext): boolean {
  if (!netns) return false;
  try {
    const a = statSync(caller.resolve(netns));
    const b = statSync(caller.netns ?? '/proc/self/ns/net');
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** ADD and DEL refuse the plugin's own namespace unless CNI_NETNS_OVERRIDE is 1/true. */
function refuseOwnNetns(env: PluginRequest['env'], netns: string, caller: CallerContext): void {
  const override = (env.CNI_NETNS_OVERRIDE ?? '').toLowerCase();
  if (override !== '1' && override !== 'true' && isOwnNetns(netns, caller)) {
    throw new CniError(ErrCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

type Verb = (a: CmdArgs) => Promise<unknown>;

/** The plugin's function for `command`; undefined for a GC/STATUS the plugin does not implement. */
function verbOf(spec: PluginSpec, command: Command): Verb | undefined {
  switch (command) {
    case 'ADD':
      return spec.add.bind(spec);
    case 'DEL':
      return spec.del.bind(spec);
    case 'CHECK':
      return spec.check.bind(spec);
    case 'GC':
      return spec.gc?.bind(spec);
    case 'STATUS':
      return spec.status?.bind(spec);
  }
}

function cmdArgs(
  req: PluginRequest,
  values: Record<string, string>,
  command: Command,
  conf: unknown,
  name: string,
  cniVersion: string,
  caller: CallerContext,
): CmdArgs {
  let netconf: NetConf | undefined;
  return {
    command,
    containerId: values.CNI_CONTAINERID!,
    netns: values.CNI_NETNS!,
    ifName: values.CNI_IFNAME!,
    args: values.CNI_ARGS!,
    path: values.CNI_PATH!.split(':').filter((p) => p !== ''),
    stdin: req.stdin,
    conf: conf as Record<string, unknown>,
    cniVersion,
    name,
    get netconf() {
      netconf ??= readNetConf(this);
      return netconf;
    },
    env: req.env,
    plugins: req.plugins,
    caller,
  };
}

/** Runs the verb; ADD prints its result in the config's version, the others print nothing. */
async function callVerb(verb: Verb, command: Command, args: CmdArgs): Promise<PluginResponse> {
  const out = await runAsCaller(args.caller, () => verb(args));
  return command === 'ADD' ? ok(formatResult(out as Result, args.cniVersion)) : ok();
}

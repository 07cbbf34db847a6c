// `wasm-cni pod up|down|status`: one pod's network through the kubelet network-plugin layer (host/kubelet),
// the way dockershim drives it, from the command line. What `down` needs later is recorded in a state dir.
import { errorMessage } from '../errors.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createNamedNetns, removeNamedNetns } from '../native/netns.ts';
import { withFileLock } from '../native/flock.ts';
import {
  FLAG_HELP,
  FlagError,
  POD_UID_OPTION,
  SandboxTable,
  createNetworkStack,
  formatNetworkFlags,
  parseNetworkFlags,
  parsePortSpec,
  podFullName,
  type NetworkFlags,
  type PortMapping,
} from '../kubelet/index.ts';
import {
  DEFAULT_STATE_DIR,
  deletePodRecord,
  formatStatusTable,
  listPodRecords,
  podStatus,
  readPodRecord,
  writePodRecord,
  type PodRecord,
} from '../kubelet/pods.ts';

const HELP = `usage: wasm-cni pod up     --namespace NS --name NAME [--netns PATH] [--port [HOSTIP:]HOST:CONTAINER[/PROTO]]...
                           [--annotation K=V]... [--sandbox-id ID] [--uid UID] [options] [kubelet flags]
       wasm-cni pod down   --namespace NS --name NAME [options] [kubelet flags]
       wasm-cni pod status [--namespace NS --name NAME] [--json] [options]

up      sets up the pod's network (loopback + the plugin's network) in --netns, or in a new named netns
        wasm-cni-NS-NAME when --netns is not given; prints the pod's IPs. Ports are hostPorts (default tcp);
        annotations include kubernetes.io/ingress-bandwidth and kubernetes.io/egress-bandwidth (bits/s).
down    tears it down with the flags it was set up with (flags given here override them), removes a netns
        that \`up\` created, and forgets the pod.
status  IPs, interfaces, host veth, shaping and ports of one pod, or of every recorded pod.

options:
  --state-dir DIR        where pods are recorded (default ${DEFAULT_STATE_DIR})
  --bridge NAME          kubenet: the node bridge (default cbr0)
  --ipam-dir DIR         kubenet: host-local's store (default /var/lib/cni/networks)
  --json                 status as JSON (an array of pods)
  -h, --help             this text

${FLAG_HELP}
exit codes: 0 ok, 1 the operation failed, 2 bad usage.
`;

class UsageError extends Error {}

interface PodArgs {
  namespace?: string;
  name?: string;
  netns?: string;
  ports: PortMapping[];
  annotations: Record<string, string>;
  sandboxId?: string;
  uid?: string;
  stateDir: string;
  bridge?: string;
  ipamDir?: string;
  json: boolean;
  help: boolean;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

function parsePodArgs(argv: string[]): PodArgs {
  const o: PodArgs = { ports: [], annotations: {}, stateDir: DEFAULT_STATE_DIR, json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '-n':
      case '--namespace':
        o.namespace = value();
        break;
      case '--name':
        o.name = value();
        break;
      case '--netns':
        o.netns = value();
        break;
      case '--sandbox-id':
        o.sandboxId = value();
        break;
      case '--uid':
        o.uid = value();
        break;
      case '--state-dir':
        o.stateDir = value();
        break;
      case '--bridge':
        o.bridge = value();
        break;
      case '--ipam-dir':
        o.ipamDir = value();
        break;
      case '-p':
      case '--port':
        try {
          o.ports.push(parsePortSpec(value()));
        } catch (e) {
          throw new UsageError(errorMessage(e));
        }
        break;
      case '--annotation': {
        const kv = value();
        const at = kv.indexOf('=');
        if (at <= 0) throw new UsageError(`invalid annotation "${kv}": want KEY=VALUE`);
        o.annotations[kv.slice(0, at)] = kv.slice(at + 1);
        break;
      }
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }
  for (const [what, v] of [
    ['--namespace', o.namespace],
    ['--name', o.name],
  ] as const) {
    if (v !== undefined && !NAME_RE.test(v))
      throw new UsageError(`${what} "${v}" must be a DNS label (lower-case letters, digits, '-', '.')`);
  }
  if (o.sandboxId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(o.sandboxId))
    throw new UsageError(`--sandbox-id "${o.sandboxId}" may contain only letters, digits, '_', '.', '-'`);
  return o;
}

function requirePod(o: PodArgs): { namespace: string; name: string } {
  if (!o.namespace || !o.name) throw new UsageError('--namespace and --name are required');
  return { namespace: o.namespace, name: o.name };
}

/** The network stack for a pod's flags; kubelet-style log lines go to stderr only with WASM_CNI_DEBUG. */
async function stackFor(flags: NetworkFlags, host: SandboxTable, bridge?: string, ipamDir?: string) {
  const log = process.env.WASM_CNI_DEBUG ? (m: string) => process.stderr.write(`wasm-cni pod: ${m}\n`) : undefined;
  return createNetworkStack({ flags, host, bridge, dataDir: ipamDir, log });
}

function hint(message: string): string {
  if (message.includes('could not locate'))
    return `${message}\n(hint: pass --cni-bin-dir with our plugins, e.g. the build/cni dir, or run \`wasm-cni install --bin-dir /opt/cni/bin\`)`;
  return message;
}

async function podLock<T>(stateDir: string, namespace: string, name: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return withFileLock(join(stateDir, `.${podFullName(namespace, name)}.lock`), fn, { timeoutMs: 300_000 });
}

async function up(o: PodArgs, flags: NetworkFlags): Promise<number> {
  const { namespace, name } = requirePod(o);
  return podLock(o.stateDir, namespace, name, async () => {
    if (readPodRecord(o.stateDir, namespace, name)) {
      process.stderr.write(
        `wasm-cni pod up: pod ${namespace}/${name} is already up (see \`wasm-cni pod status\`; \`pod down\` first)\n`,
      );
      return 1;
    }
    const sandboxId = o.sandboxId ?? randomBytes(16).toString('hex');
    let netns = o.netns;
    let createdNetns: string | undefined;
    if (!netns) {
      createdNetns = `wasm-cni-${namespace}-${name}`;
      netns = createNamedNetns(createdNetns);
    }
    const host = new SandboxTable().set(sandboxId, { netns, ports: o.ports });
    const record: PodRecord = {
      namespace,
      name,
      uid: o.uid,
      sandboxId,
      netns,
      createdNetns,
      ports: o.ports,
      annotations: o.annotations,
      flags: formatNetworkFlags(flags),
      bridge: o.bridge,
      ipamDataDir: o.ipamDir,
      createdAt: new Date().toISOString(),
    };
    try {
      const stack = await stackFor(flags, host, o.bridge, o.ipamDir);
      try {
        await stack.manager.setUpPod(
          namespace,
          name,
          sandboxId,
          o.annotations,
          o.uid ? { [POD_UID_OPTION]: o.uid } : {},
        );
      } catch (e) {
        // dockershim tears a failed sandbox down at once
        await stack.manager.tearDownPod(namespace, name, sandboxId).catch(() => {});
        throw e;
      }
      writePodRecord(o.stateDir, record);
      const st = await stack.manager.getPodNetworkStatus(namespace, name, sandboxId).catch(() => null);
      process.stdout.write(
        `pod ${namespace}/${name} up (${stack.plugin.name()}, sandbox ${sandboxId}, netns ${netns})${st ? `: ${st.ips.join(' ')}` : ''}\n`,
      );
      return 0;
    } catch (e) {
      if (createdNetns) {
        try {
          removeNamedNetns(createdNetns);
        } catch {
          /* best effort */
        }
      }
      process.stderr.write(`wasm-cni pod up: ${hint(errorMessage(e))}\n`);
      return 1;
    }
  });
}

async function down(o: PodArgs, argv: string[]): Promise<number> {
  const { namespace, name } = requirePod(o);
  return podLock(o.stateDir, namespace, name, async () => {
    const r = readPodRecord(o.stateDir, namespace, name);
    if (!r) {
      process.stderr.write(`wasm-cni pod down: no pod ${namespace}/${name} in ${o.stateDir}\n`);
      return 1;
    }
    const flags = parseNetworkFlags(argv, parseNetworkFlags(r.flags).flags).flags;
    const host = new SandboxTable().set(r.sandboxId, { netns: r.netns, ports: r.ports });
    try {
      const stack = await stackFor(flags, host, o.bridge ?? r.bridge, o.ipamDir ?? r.ipamDataDir);
      await stack.manager.tearDownPod(namespace, name, r.sandboxId);
    } catch (e) {
      process.stderr.write(`wasm-cni pod down: ${hint(errorMessage(e))}\n`);
      return 1;
    }
    if (r.createdNetns) {
      try {
        removeNamedNetns(r.createdNetns);
      } catch {
        /* already gone */
      }
    }
    deletePodRecord(o.stateDir, namespace, name);
    rmSync(join(o.stateDir, `.${podFullName(namespace, name)}.lock`), { force: true });
    process.stdout.write(`pod ${namespace}/${name} down\n`);
    return 0;
  });
}

async function status(o: PodArgs): Promise<number> {
  let records: PodRecord[];
  if (o.namespace || o.name) {
    const { namespace, name } = requirePod(o);
    const r = readPodRecord(o.stateDir, namespace, name);
    if (!r) {
      process.stderr.write(`wasm-cni pod status: no pod ${namespace}/${name} in ${o.stateDir}\n`);
      return 1;
    }
    records = [r];
  } else {
    records = listPodRecords(o.stateDir);
  }
  const statuses = await Promise.all(records.map(podStatus));
  if (o.json) process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
  else process.stdout.write(statuses.length ? formatStatusTable(statuses) : `no pods in ${o.stateDir}\n`);
  return statuses.some((s) => s.error) ? 1 : 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  let flags: NetworkFlags;
  let o: PodArgs;
  try {
    const parsed = parseNetworkFlags(rest);
    flags = parsed.flags;
    o = parsePodArgs(parsed.rest);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof FlagError)) throw e;
    process.stderr.write(`wasm-cni pod: ${e.message}\n(see 'wasm-cni pod --help')\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    switch (sub) {
      case 'up':
        return await up(o, flags);
      case 'down':
        return await down(o, rest);
      case 'status':
        return await status(o);
      default:
        process.stderr.write(`wasm-cni pod: unknown subcommand "${sub}" (up, down, status)\n`);
        return 2;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`wasm-cni pod: ${e.message}\n(see 'wasm-cni pod --help')\n`);
    return 2;
  }
}

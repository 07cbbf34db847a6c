// A private containerd (Debian's 1.6, unmodified) for tests: its own config, root, state, socket and runc root
// under one temp dir, the CRI plugin pointed at a given CNI bin and conf dir, and its own mount namespace in
// which /run and /var/lib/cni are private (the runc shim keeps its sockets under the fixed /run/containerd/s,
// containerd its netns bind mounts under /run/netns, libcni its result cache under /var/lib/cni): nothing of it
// shows on the host, and the system's containerd paths are never touched. The host's /run/xtables.lock is
// bound into that /run so iptables calls still serialise with everyone else's.
// Optionally Node.js is hidden in that namespace (empty files bound over it), as on a node without it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, sh } from '../run.ts';

export const CONTAINERD = '/usr/bin/containerd';
export const CTR = '/usr/bin/ctr';
export const RUNC = '/usr/sbin/runc';
const NODE_PATHS = ['/usr/bin/node', '/usr/bin/nodejs', '/usr/local/bin/node'];
const K8S_NAMESPACE = 'k8s.io';

export interface PrivateContainerdOptions {
  /** A private directory for everything containerd writes. */
  dir: string;
  cniBinDir: string;
  cniConfDir: string;
  sandboxImage: string;
  /** Host directories bound at the same path inside containerd's private /run (e.g. /run/wasm-cni). */
  runBinds?: Record<string, string>;
  /** Bind an empty file over every node executable in containerd's mount namespace. */
  hideNode?: boolean;
  /** PATH for containerd and everything it starts (CNI plugins included). */
  path?: string;
}

function toml(o: PrivateContainerdOptions, socket: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = "${join(o.dir, 'root')}"`,
    `state = "${join(o.dir, 'state')}"`,
    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",',
    '  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",',
    '  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[debug]',
    '  address = ""',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(o.dir, 'opt')}"`,
    `[${cri}]`,
    `  sandbox_image = "${o.sandboxImage}"`,
    '  disable_apparmor = true',
    '  enable_selinux = false',
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    `[${cri}.containerd]`,
    '  snapshotter = "native"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    `  BinaryName = "${RUNC}"`,
    `  Root = "${join(o.dir, 'runc')}"`,
    '  SystemdCgroup = false',
    `[${cri}.cni]`,
    `  bin_dir = "${o.cniBinDir}"`,
    `  conf_dir = "${o.cniConfDir}"`,
    '  max_conf_num = 1',
    '',
  ].join('\n');
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class PrivateContainerd {
  readonly socket: string;
  private child: ChildProcess | null = null;
  private log = '';

  constructor(readonly opts: PrivateContainerdOptions) {
    this.socket = join(opts.dir, 'containerd.sock');
  }

  /** containerd's pid (also its mount namespace: /proc/<pid>/root is its view of files). */
  get pid(): number {
    if (!this.child?.pid) throw new Error('containerd not running');
    return this.child.pid;
  }

  /** A path as containerd sees it, readable from the host through its root. */
  inView(path: string): string {
    return `/proc/${this.pid}/root${path}`;
  }

  async start(): Promise<void> {
    const o = this.opts;
    for (const d of ['root', 'state', 'opt', 'runc', 'run/netns', 'run/containerd', 'var-lib-cni']) {
      mkdirSync(join(o.dir, d), { recursive: true });
    }
    writeFileSync(join(o.dir, 'config.toml'), toml(o, this.socket));
    const privateRun = join(o.dir, 'run');
    const script = ['set -e'];
    // Bound onto files inside the private /run before it covers the host's, so --rbind carries them along.
    if (!existsSync('/run/xtables.lock')) closeSync(openSync('/run/xtables.lock', 'a'));
    closeSync(openSync(join(privateRun, 'xtables.lock'), 'a'));
    script.push(`mount --bind /run/xtables.lock ${quote(join(privateRun, 'xtables.lock'))}`);
    for (const [at, from] of Object.entries(o.runBinds ?? {})) {
      if (!at.startsWith('/run/')) throw new Error(`runBinds: ${at} is not under /run`);
      mkdirSync(join(privateRun, at.slice('/run/'.length)), { recursive: true });
      script.push(`mount --bind ${quote(from)} ${quote(join(privateRun, at.slice('/run/'.length)))}`);
    }
    script.push(`mount --rbind ${quote(privateRun)} /run`);
    // An empty /var/lib/cni is all the host may get (libcni would create it anyway); its contents stay private.
    script.push('mkdir -p /var/lib/cni', `mount --bind ${quote(join(o.dir, 'var-lib-cni'))} /var/lib/cni`);
    if (o.hideNode) {
      const empty = join(o.dir, 'no-node');
      writeFileSync(empty, '', { mode: 0o644 });
      for (const n of NODE_PATHS) if (existsSync(n)) script.push(`mount --bind ${quote(empty)} ${n}`);
    }
    script.push(`exec ${CONTAINERD} --config ${quote(join(o.dir, 'config.toml'))}`);
    const env: Record<string, string> = {
      PATH: o.path ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    };
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script.join('\n')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (b: Buffer) => {
      this.log = (this.log + b.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (existsSync(this.socket)) {
        const r = await run(CTR, ['-a', this.socket, 'version'], { timeoutMs: 5000 });
        if (r.code === 0) return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const log = this.log;
    await this.stop();
    throw new Error(`containerd did not start:\n${log.slice(-4000)}`);
  }

  recentLog(): string {
    return this.log;
  }

  /** `ctr images import` into the k8s.io namespace (where the CRI plugin looks), unpacked for its snapshotter. */
  async importImage(tarball: string): Promise<void> {
    await sh(CTR, ['-a', this.socket, '-n', K8S_NAMESPACE, 'images', 'import', '--snapshotter', 'native', tarball], {
      timeoutMs: 60_000,
    });
  }

  /** Stops containerd, then whatever it left: runc containers under its runc root and shims serving its socket. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    this.child = null;
    const runcRoot = join(this.opts.dir, 'runc', K8S_NAMESPACE);
    if (existsSync(runcRoot)) {
      for (const id of readdirSync(runcRoot)) {
        await run(RUNC, ['--root', runcRoot, 'kill', '--all', id, 'KILL']);
        await run(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
      }
    }
    for (const pid of shimPids(this.socket)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/** Pids of containerd-shim processes started for the containerd listening on `socket`. */
export function shimPids(socket: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.includes('containerd-shim')) continue;
    const i = argv.indexOf('-address');
    if (i >= 0 && argv[i + 1] === socket) pids.push(Number(d));
  }
  return pids;
}

/** Why a private containerd cannot run here, or null. */
export async function containerdMissing(): Promise<string | null> {
  const missing: string[] = [];
  for (const tool of [CONTAINERD, CTR, RUNC, 'unshare', 'nsenter']) {
    const r = await run(tool, ['--version']).catch(() => null);
    if (r?.code !== 0) missing.push(tool);
  }
  return missing.length ? `daemonset e2e needs ${missing.join(', ')}: run \`bash scripts/setup.sh\`` : null;
}

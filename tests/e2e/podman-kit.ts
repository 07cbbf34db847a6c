// A private podman for tests: Debian's podman, unmodified, pointed at our build/cni/ through its CNI backend.
// Settings (docs/reference-notes.md §3): runc (crun fails on hosts with hybrid cgroups), pinned ulimits
// (no CAP_SYS_RESOURCE), cgroupfs, vfs storage, private CONTAINERS_CONF / CONTAINERS_STORAGE_CONF, and an image
// made from busybox-static with `podman import` (no registry).
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../_lib/run.ts';

export const BUSYBOX = '/usr/bin/busybox';
const APPLETS = ['sh', 'nc', 'ip', 'ping', 'sleep', 'cat', 'echo', 'hostname'];

export interface PodmanNetwork {
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  ipamDir: string;
}

export class PrivatePodman {
  readonly confDir: string;
  readonly env: Record<string, string>;
  readonly image: string;

  constructor(
    readonly dir: string,
    readonly pluginDir: string,
    readonly prefix: string,
    hardNofile: number,
  ) {
    this.confDir = join(dir, 'net.d');
    this.image = `localhost/${prefix}-box:latest`;
    for (const d of ['net.d', 'graph', 'run', 'tmp', 'ipam']) mkdirSync(join(dir, d), { recursive: true });
    const containersConf = join(dir, 'containers.conf');
    const storageConf = join(dir, 'storage.conf');
    writeFileSync(
      containersConf,
      [
        '[containers]',
        `default_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=32768:32768"]`,
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${join(dir, 'events.log')}"`,
        `tmp_dir = "${join(dir, 'tmp')}"`,
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${pluginDir}"]`,
        `network_config_dir = "${this.confDir}"`,
        // Never let podman create its built-in cni-podman0 / 10.88.0.0/16.
        `default_network = "${prefix}-default"`,
        'default_subnet = "10.200.141.0/24"',
        '',
      ].join('\n'),
    );
    writeFileSync(
      storageConf,
      [
        '[storage]',
        'driver = "vfs"',
        `graphroot = "${join(dir, 'graph')}"`,
        `runroot = "${join(dir, 'run')}"`,
        '',
      ].join('\n'),
    );
    this.env = { CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
  }

  podman(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('podman', args, { env: this.env, timeoutMs });
  }

  async podmanOk(args: string[]): Promise<string> {
    const r = await this.podman(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** busybox-static + applet symlinks → tar → `podman import`. */
  async importImage(): Promise<void> {
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
    const tar = join(this.dir, 'rootfs.tar');
    const t = await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    if (t.code !== 0) throw new Error(`tar: ${t.stderr.trim()}`);
    await this.podmanOk(['import', tar, this.image]);
  }

  /** Our own conflist (bridge + portmap): `podman network create` would add firewall/tuning, which we do not ship. */
  writeNetwork(net: PodmanNetwork): void {
    const conflist = {
      cniVersion: '1.0.0',
      name: net.name,
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: net.ipamDir,
            routes: [{ dst: '0.0.0.0/0' }],
            ranges: [[{ subnet: net.subnet, gateway: net.gateway }]],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    };
    writeFileSync(join(this.confDir, `${net.name}.conflist`), JSON.stringify(conflist, null, 2));
  }

  /** Removes every container and image of this private store (best effort; the dir itself goes with the sandbox). */
  async removeAll(): Promise<void> {
    await this.podman(['rm', '-a', '-f', '-t', '0']);
    await this.podman(['rmi', '-a', '-f']);
  }
}

/** Why podman cannot run here, or null when the tools are present. */
export async function podmanMissing(): Promise<string | null> {
  const missing: string[] = [];
  for (const [tool, args] of [
    ['podman', ['--version']],
    ['runc', ['--version']],
    [BUSYBOX, ['true']],
  ] as const) {
    const r = await run(tool, [...args]).catch(() => null);
    if (r?.code !== 0) missing.push(tool);
  }
  return missing.length
    ? `podman e2e needs ${missing.join(', ')}: run \`bash scripts/setup.sh\` (installs podman, runc, busybox-static)`
    : null;
}

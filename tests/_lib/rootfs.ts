// Container root filesystems and images without a registry: copy an executable with the shared libraries `ldd`
// lists, follow a Dockerfile's COPY/WORKDIR/ENV/ENTRYPOINT over a local tree, and pack a directory as an OCI
// image layout tarball (`ctr images import` reads it).
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { sh } from './run.ts';

/** Copies `exe` to `dest` inside `root`, with every shared library (and the loader) `ldd` names, at their paths. */
export async function copyWithLibraries(root: string, exe: string, dest: string): Promise<string[]> {
  const out = await sh('ldd', [exe]);
  const libs = out
    .split('\n')
    .map((l) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p);
  for (const lib of libs) {
    mkdirSync(join(root, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(root, lib));
    chmodSync(join(root, lib), statSync(lib).mode & 0o777);
  }
  mkdirSync(join(root, dirname(dest)), { recursive: true });
  copyFileSync(exe, join(root, dest));
  chmodSync(join(root, dest), 0o755);
  return libs;
}

/** The mount points and files a runtime expects to find (it bind-mounts /etc/hosts, resolv.conf, hostname). */
export function skeleton(root: string): void {
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'etc', 'var/run']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  for (const f of ['etc/hosts', 'etc/resolv.conf', 'etc/hostname']) writeFileSync(join(root, f), '');
}

export interface Dockerfile {
  from: string;
  workdir: string;
  copies: Array<{ src: string; dest: string }>;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
}

/** The instructions of a simple Dockerfile (one instruction a line; exec-form ENTRYPOINT/CMD). */
export function readDockerfile(path: string): Dockerfile {
  const df: Dockerfile = { from: '', workdir: '/', copies: [], env: {}, entrypoint: [], cmd: [] };
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const arg = line.slice(op!.length).trim();
    switch (op!.toUpperCase()) {
      case 'FROM':
        df.from = rest[0]!;
        break;
      case 'WORKDIR':
        df.workdir = posix.resolve(df.workdir, arg);
        break;
      case 'COPY': {
        if (rest.length !== 2 || rest[0]!.startsWith('--')) throw new Error(`Dockerfile: unsupported COPY: ${line}`);
        const dest = posix.resolve(df.workdir, rest[1]!) + (rest[1]!.endsWith('/') ? '/' : '');
        df.copies.push({ src: rest[0]!, dest });
        break;
      }
      case 'ENV':
        for (const kv of rest) {
          const eq = kv.indexOf('=');
          if (eq < 0) throw new Error(`Dockerfile: ENV wants KEY=VALUE pairs: ${line}`);
          df.env[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        break;
      case 'ENTRYPOINT':
        df.entrypoint = JSON.parse(arg) as string[];
        break;
      case 'CMD':
        df.cmd = JSON.parse(arg) as string[];
        break;
      case 'RUN':
        throw new Error(`Dockerfile: RUN cannot be followed without the base image: ${line}`);
      default:
        throw new Error(`Dockerfile: unsupported instruction: ${line}`);
    }
  }
  return df;
}

/** Applies the Dockerfile's COPY lines from `context` into `root` (directories recursively). */
export function applyCopies(root: string, context: string, df: Dockerfile): void {
  for (const { src, dest } of df.copies) {
    const from = isAbsolute(src) ? src : join(context, src);
    const to = join(root, dest);
    if (statSync(from).isDirectory()) cpSync(from, to, { recursive: true });
    else {
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, dest.endsWith('/') ? join(to, posix.basename(src)) : to);
    }
  }
}

const OCI_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Packs `rootfs` as a one-layer OCI image layout tarball named `ref` (e.g. localhost/x-pause:1) whose entrypoint
 * is `entrypoint`; returns the tarball path.
 */
export async function ociImageTarball(dir: string, rootfs: string, ref: string, entrypoint: string[]): Promise<string> {
  const layout = join(dir, 'oci-layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layerTar = join(dir, 'layer.tar');
  await sh('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', layerTar, '.']);
  const layer = readFileSync(layerTar);
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const hex = sha256(data);
    writeFileSync(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
  };
  const layerDesc = blob(layer);
  const config = JSON.stringify({
    architecture: OCI_ARCH[process.arch] ?? process.arch,
    os: 'linux',
    config: { Entrypoint: entrypoint, WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
  });
  const configDesc = blob(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configDesc },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerDesc }],
  });
  const manifestDesc = blob(manifest);
  const tag = ref.slice(ref.lastIndexOf(':') + 1);
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifestDesc,
          platform: { architecture: OCI_ARCH[process.arch] ?? process.arch, os: 'linux' },
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const tarball = join(dir, 'image.tar');
  await sh('tar', ['-C', layout, '-cf', tarball, '.']);
  return tarball;
}

// `npm run dist`: the release tarball dist/wasm-cni-linux-<arch>.tgz (or --out DIR). Laid out like the reference's
// cni-plugins-linux-<arch>-<version>.tgz, to unpack into /opt/cni/bin: one executable per plugin name at the top,
// plus `wasm-cni` (the CLI), the kit (.wasm-cni/: bundles, core.wasm, addon, the bun runtime, REVISION, the
// systemd units) and README.md. Nothing else is needed on the target: no compiler, no npm, no Node.js.
// The same placeKit() as `wasm-cni install` lays it out. Run build.sh first (the npm script does).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readRevision } from '../host/build-identity.ts';
import { WASM_CNI_VERSION } from '../host/cni/version.ts';
import { kitDirName, placeKit, settingsFileName } from '../host/daemon/kit.ts';
import { plugins } from '../host/plugins/registry.ts';
import { buildDir, projectRoot } from '../host/paths.ts';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

function readme(arch: string, revision: string): string {
  return `# wasm-cni ${WASM_CNI_VERSION} (linux/${arch}, revision ${revision})

CNI plugins ${Object.keys(plugins).sort().join(', ')}, drop-in for the reference plugins (same names,
fields, results, state files and rule layouts). Each executable hands the call to the wasm-cni daemon; with
none running it starts one on demand, or runs the call itself on the JavaScript runtime shipped in
\`${kitDirName}/\` (bun). Nothing else is needed on the node: no Node.js, no npm, no compiler. Needs glibc.

## Install (as root)

    mkdir -p /opt/cni/bin
    tar -xzf wasm-cni-linux-${arch}.tgz -C /opt/cni/bin
    /opt/cni/bin/wasm-cni version        # version, CNI spec versions, revision
    /opt/cni/bin/wasm-cni install --bin-dir /opt/cni/bin   # optional: checks the kit runs here, writes ${settingsFileName}

Then write your network config in /etc/cni/net.d as for the reference plugins.

## Which way the daemon runs

- Nothing more to do: the first call starts a daemon on demand (detached, in its own systemd scope where
  systemd runs, log in /run/wasm-cni/wasm-cni.sock.log); it exits after 60 idle seconds.
- Always on: \`cp ${kitDirName}/deploy/wasm-cni.service /etc/systemd/system/ && systemctl enable --now wasm-cni\`
- Socket activation: also copy \`${kitDirName}/deploy/wasm-cni.socket\` and \`systemctl enable --now wasm-cni.socket\`.
- \`/opt/cni/bin/${settingsFileName}\` (optional; \`wasm-cni install\` writes a commented one):
  \`on-demand = false\` keeps calls without a daemon on the cold path; \`idle-exit = SECONDS\`; \`socket = PATH\`.

\`/opt/cni/bin/wasm-cni daemon status\` shows calls, latency and how the daemon was started.
`;
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const arch = ARCH[process.arch];
  if (!arch) throw new Error(`no release layout for ${process.arch}`);
  const outDir = resolve(values.out ?? join(projectRoot, 'dist'));
  const revision = readRevision();
  const stage = mkdtempSync(join(tmpdir(), 'wasm-cni-dist-'));
  try {
    chmodSync(stage, 0o755); // the archive's "./": unpacking applies it to the target directory
    placeKit(stage, buildDir, undefined, false);
    mkdirSync(join(stage, kitDirName, 'deploy'), { recursive: true });
    for (const unit of ['wasm-cni.service', 'wasm-cni.socket'])
      copyFileSync(join(projectRoot, 'deploy', unit), join(stage, kitDirName, 'deploy', unit));
    writeFileSync(join(stage, 'README.md'), readme(arch, revision));
    mkdirSync(outDir, { recursive: true });
    const tarball = join(outDir, `wasm-cni-linux-${arch}.tgz`);
    const tmp = `${tarball}.${process.pid}.tmp`;
    const tar = spawnSync('tar', ['-czf', tmp, '--owner=0', '--group=0', '-C', stage, '.'], { stdio: 'inherit' });
    if (tar.status !== 0) throw new Error(`tar exited ${tar.status}`);
    spawnSync('mv', ['-f', tmp, tarball]);
    process.stdout.write(`${tarball} (wasm-cni ${WASM_CNI_VERSION}, revision ${revision})\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

main();

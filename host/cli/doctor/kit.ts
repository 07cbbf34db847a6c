// The cold-path kit next to the executables (<bin-dir>/.wasm-cni/, placed by `wasm-cni install`): present,
// with any JavaScript runtime it bundles, and working — one of our executables is run for CNI VERSION with the
// daemon socket pointed at nothing and starting one on demand turned off, so it takes the cold path exactly as
// it would with the daemon down.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kitDirName } from '../../daemon/install.ts';
import type { Executable } from './executables.ts';
import type { Report } from './findings.ts';
import type { NodeProbes } from './probes.ts';

const KIT_ENTRY = 'build/js/cni-plugin.mjs';

/** Executable files in the kit's runtime/ (or bin/) directories: a JavaScript runtime it carries. */
function bundledRuntimes(kit: string): string[] {
  const out: string[] = [];
  for (const dir of [join(kit, 'build', 'runtime'), join(kit, 'runtime'), join(kit, 'bin')]) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        const st = statSync(join(dir, n));
        if (st.isFile() && (st.mode & 0o111) !== 0) out.push(join(dir, n));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

export async function checkKit(
  report: Report,
  binDir: string,
  executables: Executable[],
  daemonUp: boolean,
  probes: NodeProbes,
): Promise<void> {
  const kit = join(binDir, kitDirName);
  const fixInstall = `wasm-cni install --bin-dir ${binDir}`;
  // Without a working cold path calls fail whenever the daemon is not running: an error only if it is not.
  const broken = daemonUp ? 'warn' : 'fail';
  if (!existsSync(join(kit, KIT_ENTRY))) {
    report.add(
      'kit',
      broken,
      `no kit (${kit}/${KIT_ENTRY} missing): the executables work only through the daemon`,
      fixInstall,
    );
    return;
  }
  const runtimes = bundledRuntimes(kit);
  report.add(
    'kit',
    'info',
    `kit at ${kit}; ${runtimes.length ? `bundled runtime: ${runtimes.join(', ')}` : 'no bundled runtime (the cold path uses node from PATH)'}`,
  );
  const probe = executables.find((e) => e.ours && e.name === 'loopback') ?? executables.find((e) => e.ours);
  if (!probe) return;
  const t0 = performance.now();
  const r = await probes.run(probe.path, [], {
    env: {
      CNI_COMMAND: 'VERSION',
      WASM_CNI_ON_DEMAND: 'false', // run the call itself: never leave a daemon behind
      WASM_CNI_SOCKET: join(tmpdir(), `wasm-cni-doctor-${process.pid}-absent`, 'none.sock'),
    },
    input: '{"cniVersion":"1.0.0"}',
    timeoutMs: 30_000,
  });
  const ms = Math.round(performance.now() - t0);
  let versions: string[] | undefined;
  try {
    versions =
      r && r.code === 0 ? (JSON.parse(r.stdout) as { supportedVersions?: string[] }).supportedVersions : undefined;
  } catch {
    versions = undefined;
  }
  if (versions?.length) {
    report.add('kit', 'ok', `cold path works: ${probe.name} VERSION answered in ${ms} ms (${versions.join(', ')})`);
  } else {
    const why = r ? `exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 300)}` : 'did not finish in 30 s';
    report.add('kit', broken, `cold path fails: ${probe.path} VERSION with no daemon: ${why}`, fixInstall);
  }
}

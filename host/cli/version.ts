// `wasm-cni version`: our release, the CNI spec versions we speak, the build's git revision (build/REVISION,
// written by build.sh and carried in the kit) and the JavaScript runtime running us.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CURRENT_VERSION, SPEC_VERSIONS, WASM_CNI_VERSION } from '../cni/version.ts';
import { buildDir } from '../paths.ts';

function revision(): string {
  try {
    return readFileSync(join(buildDir, 'REVISION'), 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

function runtime(): string {
  const bun = (process.versions as Record<string, string | undefined>).bun;
  return bun ? `bun ${bun}` : `node ${process.versions.node}`;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: wasm-cni version [--json]\n\nPrints the wasm-cni version and the CNI spec versions it supports.\n',
    );
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`wasm-cni version: unexpected argument "${unknown[0]}"\n`);
    return 2;
  }
  if (argv.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({
        version: WASM_CNI_VERSION,
        cniVersion: CURRENT_VERSION,
        supportedVersions: SPEC_VERSIONS,
        revision: revision(),
        runtime: runtime(),
      })}\n`,
    );
  } else {
    process.stdout.write(
      `wasm-cni ${WASM_CNI_VERSION}\nCNI spec ${CURRENT_VERSION} (supports ${SPEC_VERSIONS.join(', ')})\n` +
        `revision ${revision()}, runtime ${runtime()}\n`,
    );
  }
  return 0;
}

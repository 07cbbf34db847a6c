// `wasm-cni version`: our release, the CNI spec versions we speak, the build's git revision (build/REVISION,
// written by build.sh and carried in the kit), the daemon protocol it speaks and the JavaScript runtime running us.
// doctor reads the --json form from a bin dir's kit to learn the executables' build.
import { ownBuild } from '../build-identity.ts';
import { CURRENT_VERSION, SPEC_VERSIONS } from '../cni/version.ts';
import { WIRE_VERSION } from '../daemon/wire.ts';

/** What `wasm-cni version --json` prints. */
export interface VersionReport {
  version: string;
  cniVersion: string;
  supportedVersions: readonly string[];
  revision: string;
  /** The shim <-> daemon wire protocol of this build (absent from builds before it was reported). */
  protocolVersion?: number;
  runtime: string;
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
  const { version, revision } = ownBuild();
  if (argv.includes('--json')) {
    const report: VersionReport = {
      version,
      cniVersion: CURRENT_VERSION,
      supportedVersions: SPEC_VERSIONS,
      revision,
      protocolVersion: WIRE_VERSION,
      runtime: runtime(),
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    process.stdout.write(
      `wasm-cni ${version}\nCNI spec ${CURRENT_VERSION} (supports ${SPEC_VERSIONS.join(', ')})\n` +
        `revision ${revision}, runtime ${runtime()}\n`,
    );
  }
  return 0;
}

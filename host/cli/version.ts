// `wasm-cni version`: our release and the CNI spec versions we speak.
import { CURRENT_VERSION, SPEC_VERSIONS, WASM_CNI_VERSION } from '../cni/version.ts';

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
      JSON.stringify({ version: WASM_CNI_VERSION, cniVersion: CURRENT_VERSION, supportedVersions: SPEC_VERSIONS }) +
        '\n',
    );
  } else {
    process.stdout.write(
      `wasm-cni ${WASM_CNI_VERSION}\nCNI spec ${CURRENT_VERSION} (supports ${SPEC_VERSIONS.join(', ')})\n`,
    );
  }
  return 0;
}

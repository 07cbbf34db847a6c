// `wasm-cni install --bin-dir DIR`: the install-cni step (also what a DaemonSet's init container runs).
// Puts the executables and the kit (host/daemon/kit.ts) into DIR, then runs what it placed and says whether
// the cold path works on this host.
import { errorMessage } from '../errors.ts';
import { parseArgs } from 'node:util';
import { buildDir } from '../paths.ts';
import { checkKit, kitDirName, type KitPlacement, placeKit, settingsFileName } from './kit.ts';

export { kitDirName };

/** Installs from this tree's build/ (programmatic form of the command, without the check). */
export function install(binDir: string, only?: string[]): KitPlacement {
  return placeKit(binDir, buildDir, only);
}

const usage = `usage: wasm-cni install --bin-dir DIR [--plugins NAME,...] [--no-check]

Copies the CNI executables (one per plugin name, plus the wasm-cni command) and the kit the cold path and the
daemon need (${kitDirName}/: bundles, core.wasm, addon, a JavaScript runtime) into DIR, writes ${settingsFileName}
when absent, and checks that the placed executables run here (exit 1 when they do not).`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'bin-dir': { type: 'string' },
        plugins: { type: 'string' },
        'no-check': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`${errorMessage(e)}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!values['bin-dir']) {
    process.stderr.write(`--bin-dir is required\n${usage}\n`);
    return 2;
  }
  const r = placeKit(values['bin-dir'], buildDir, values.plugins?.split(',').filter(Boolean));
  process.stdout.write(
    `installed ${r.plugins.join(', ')} and wasm-cni into ${r.binDir} (kit: ${kitDirName}/build/{${r.kit.join(',')}})\n` +
      (r.settingsWritten
        ? `wrote ${settingsFileName} (on-demand start on)\n`
        : `kept the existing ${settingsFileName}\n`),
  );
  if (values['no-check']) return 0;
  const check = checkKit(r.binDir);
  if (check.ok) {
    process.stdout.write(`check: ${check.detail}\n`);
    return 0;
  }
  process.stderr.write(
    `install: CHECK FAILED: ${check.detail}\n` +
      'Calls will still be served by a running daemon; without one they fail with CNI error 11 (try again later).\n',
  );
  return 1;
}

// Which build this is: our release and the git revision build.sh records in build/REVISION (install and dist
// carry it in the kit). `wasm-cni version` prints it, the daemon reports it in its status, doctor compares them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASM_CNI_VERSION } from './cni/version.ts';
import { buildDir } from './paths.ts';

export interface BuildIdentity {
  version: string;
  /** The git revision (12 hex digits, `-dirty` when built from a modified tree), or 'unknown'. */
  revision: string;
}

/** The revision recorded in a build/ directory (this process's by default); 'unknown' when none is. */
export function readRevision(dir = buildDir): string {
  try {
    return readFileSync(join(dir, 'REVISION'), 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** This process's build. Read it once at start-up: an upgrade replaces REVISION under a running process. */
export function ownBuild(): BuildIdentity {
  return { version: WASM_CNI_VERSION, revision: readRevision() };
}

export function describeBuild(b: BuildIdentity | undefined): string {
  return b ? `${b.version} (revision ${b.revision})` : 'unknown build';
}

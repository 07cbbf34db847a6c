// The settings file the CNI executables read beside themselves (<bin-dir>/wasm-cni.conf: `key = value` lines,
// `#` comments): whether a call with no daemon starts one on demand, its idle exit, and the daemon socket.
// Absent keys keep the executables' defaults (on-demand true, idle-exit 60 s, the default socket).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SETTINGS_FILE = 'wasm-cni.conf';

export interface ShimSettings {
  /** The file, when there is one. */
  file?: string;
  onDemand: boolean;
  idleExitSeconds: number;
  socket?: string;
}

export function readShimSettings(binDir: string): ShimSettings {
  const s: ShimSettings = { onDemand: true, idleExitSeconds: 60 };
  const file = join(binDir, SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return s;
  }
  s.file = file;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'on-demand') s.onDemand = ['true', 'yes', 'on', '1'].includes(value);
    else if (key === 'idle-exit' && /^\d+$/.test(value)) s.idleExitSeconds = Number(value);
    else if (key === 'socket' && value) s.socket = value;
  }
  return s;
}

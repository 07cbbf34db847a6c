// Exit when idle: a daemon started on demand stops by itself after a period with no call in flight and none
// arriving (status requests do not count). Read from the daemon's own status, so the server needs no hook.
import type { DaemonStatus } from './server.ts';

export interface IdleWatch {
  stop(): void;
}

export function watchIdle(
  status: () => Pick<DaemonStatus, 'inFlight' | 'served' | 'rejected'>,
  idleMs: number,
  onIdle: () => void,
  tickMs = Math.min(1000, Math.max(50, idleMs / 10)),
): IdleWatch {
  let last = '';
  let quietSince = Date.now();
  const timer = setInterval(() => {
    const s = status();
    const now = `${s.inFlight}/${s.served}/${s.rejected}`;
    if (now !== last || s.inFlight > 0) {
      last = now;
      quietSince = Date.now();
      return;
    }
    if (Date.now() - quietSince >= idleMs) {
      clearInterval(timer);
      onIdle();
    }
  }, tickMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

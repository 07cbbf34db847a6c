// Serving one decoded call: pin the caller and judge its authority, run the plugin in the caller's world
// (for one container at a time), record it, and send the result frame.
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ownWorld } from '../cni/caller.ts';
import { CniError, ErrCode } from '../cni/errors.ts';
import { errorResponse } from '../plugins/dispatch.ts';
import { lackOfAuthority } from './authority.ts';
import type { LogSink } from './log.ts';
import type { Metrics } from './metrics.ts';
import { socketFd } from './peer.ts';
import { pinCaller, type PinnedCaller } from './pin.ts';
import type { CallRunner } from './runner.ts';
import type { KeyedSerializer } from './serialize.ts';
import { type Call, encodeResult, HEADER_LEN, MAX_PAYLOAD, RejectReason } from './wire.ts';

export interface CallServer {
  runner: CallRunner;
  serializer: KeyedSerializer;
  metrics: Metrics;
  log: LogSink;
  allowUids: ReadonlySet<number>;
  /** False without the addon: no pinning, calls run in the daemon's own world (socket mode protects it). */
  pinCallers: boolean;
  reject(sock: Socket, reason: number, message: string, fields?: Record<string, unknown>): void;
  /** Called around each call that runs (in-flight accounting). */
  started(): void;
  finished(served: boolean): void;
}

/** Pins and judges the caller; undefined when the call was rejected (the reply is on its way). */
export function admit(
  s: CallServer,
  sock: Socket,
  peer: { pid?: number; uid?: number },
): { pinned?: PinnedCaller } | undefined {
  if (!s.pinCallers) return {};
  const fd = socketFd(sock);
  if (fd === undefined) return undefined; // the caller hung up already
  const pin = pinCaller(fd, peer.pid, peer.uid ?? -1);
  if (!pin.ok) {
    s.reject(sock, RejectReason.OtherNamespace, pin.reason, { peerPid: peer.pid });
    return undefined;
  }
  const lack = lackOfAuthority(pin.caller, s.allowUids);
  if (lack) {
    pin.caller.release();
    s.reject(sock, RejectReason.Denied, lack, { peerPid: peer.pid, peerUid: peer.uid });
    return undefined;
  }
  return { pinned: pin.caller };
}

export async function serveCall(
  s: CallServer,
  sock: Socket,
  call: Call,
  pinned: PinnedCaller | undefined,
): Promise<void> {
  s.started();
  const command = call.env.CNI_COMMAND ?? '';
  const containerId = call.env.CNI_CONTAINERID ?? '';
  const caller = pinned?.data ?? ownWorld;
  const t0 = performance.now();
  let served = false;
  try {
    let res = await s.serializer.run(containerId, () =>
      s.runner.run(call.plugin, { env: call.env, stdin: call.stdin, caller }),
    );
    const ms = performance.now() - t0;
    served = true;
    s.metrics.record(call, ms, res);
    s.log(res.exitCode === 0 ? 'info' : 'warn', 'call', {
      plugin: call.plugin,
      command,
      containerId,
      ifName: call.env.CNI_IFNAME,
      exitCode: res.exitCode,
      ms: Math.round(ms * 100) / 100,
      peerPid: pinned?.pid,
      ...(caller.root !== '/' || caller.netns ? { callerWorld: 'other' } : {}),
      ...(res.exitCode !== 0 ? { stdout: res.stdout.slice(0, 500) } : {}),
    });
    let frame = encodeResult(res);
    if (frame.length - HEADER_LEN > MAX_PAYLOAD) {
      res = errorResponse(
        new CniError(
          ErrCode.Internal,
          `plugin ${call.plugin} produced ${frame.length - HEADER_LEN} bytes of output (limit ${MAX_PAYLOAD})`,
        ),
      );
      frame = encodeResult(res);
    }
    if (sock.destroyed || !sock.writable) s.log('warn', 'caller-gone', { plugin: call.plugin, command, containerId });
    else sock.end(frame, () => sock.destroy());
  } finally {
    pinned?.release();
    s.finished(served);
  }
}

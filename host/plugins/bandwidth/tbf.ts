// The tbf parameters for one direction, computed by the Wasm core exactly as the reference does
// (plugins/meta/bandwidth/ifb_creator.go v1.9.1), with the tick factor of this kernel (/proc/net/psched).
import { readFileSync } from 'node:fs';
import { tbf, tickInUsecFromPsched, type Tbf } from '../../core/index.ts';
import type { TbfParams } from '../../net/index.ts';

let tickMemo: number | undefined;

/** Ticks per microsecond of the packet scheduler; 0 when /proc/net/psched is unreadable (the buffer is then 0, as in Go). */
export function tickInUsec(): number {
  if (tickMemo !== undefined) return tickMemo;
  let text = '';
  try {
    text = readFileSync('/proc/net/psched', 'utf8');
  } catch {
    /* leave 0 */
  }
  const tick: number = text ? tickInUsecFromPsched(text) : 0;
  tickMemo = tick;
  return tick;
}

/** The qdisc parameters for a rate (bits/s) and burst (bits); throws `invalid rate: <bits>` below 8 bits/s. */
export function tbfFor(rateBits: number, burstBits: number): TbfParams {
  const t: Tbf = tbf({ rateBits, burstBits, tickInUsec: tickInUsec() });
  return { rate: t.rateBytes, buffer: t.bufferTicks, limit: t.limitBytes };
}

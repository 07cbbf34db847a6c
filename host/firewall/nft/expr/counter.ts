// counter: packets and bytes through the rule (sent without initial values; the kernel starts at zero).
import { readBe64, type Attrs, type PayloadWriter } from '../encode.ts';

const BYTES = 1;
const PACKETS = 2;

export interface CounterExpr {
  type: 'counter';
  bytes?: bigint;
  packets?: bigint;
}

export function encodeCounter(_w: PayloadWriter, _e: CounterExpr): void {}

export function decodeCounter(a: Attrs): CounterExpr {
  return { type: 'counter', bytes: readBe64(a, BYTES) ?? 0n, packets: readBe64(a, PACKETS) ?? 0n };
}

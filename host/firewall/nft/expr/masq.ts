// masq: masquerade (snat to the outgoing interface's address).
import { be32, readBe32, type Attrs, type PayloadWriter } from '../encode.ts';

const FLAGS = 1;

export interface MasqExpr {
  type: 'masq';
  flags?: number;
}

export function encodeMasq(w: PayloadWriter, e: MasqExpr): void {
  if (e.flags) w.attr(FLAGS, be32(e.flags));
}

export function decodeMasq(a: Attrs): MasqExpr {
  const flags = readBe32(a, FLAGS);
  return flags ? { type: 'masq', flags } : { type: 'masq' };
}

// tc handles ("1:", "ffff:", "1:1", "root", "ingress") to and from their 32-bit form.
import { TC_H_INGRESS, TC_H_ROOT } from './nl/constants.ts';

export type TcHandle = number | string;

/** "1:" → 0x00010000, "1:1" → 0x00010001, "root", "ingress", "none"; numbers pass through. */
export function parseTcHandle(h: TcHandle): number {
  if (typeof h === 'number') return h >>> 0;
  if (h === 'root') return TC_H_ROOT;
  if (h === 'ingress') return TC_H_INGRESS;
  if (h === 'none' || h === '') return 0;
  const m = /^([0-9a-fA-F]{0,4}):([0-9a-fA-F]{0,4})$/.exec(h);
  if (!m) throw new Error(`invalid tc handle "${h}"`);
  return ((parseInt(m[1] || '0', 16) << 16) | parseInt(m[2] || '0', 16)) >>> 0;
}

/** 0x00010000 → "1:", 0x00010001 → "1:1", as tc prints them. */
export function formatTcHandle(h: number): string {
  if (h === TC_H_ROOT) return 'root';
  if (h === TC_H_INGRESS) return 'ingress';
  if (h === 0) return 'none';
  const major = (h >>> 16).toString(16);
  const minor = h & 0xffff;
  return minor ? `${major}:${minor.toString(16)}` : `${major}:`;
}

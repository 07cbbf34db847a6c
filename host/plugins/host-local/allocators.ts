// One Wasm Allocator (the range set's bitmap of taken addresses) per (state directory, range set), kept for the
// life of the process and in step with the directory's reservation view, so that an ADD in a warm process
// neither re-reads the directory nor rebuilds the bitmap.
import { Allocator, type RangeSet } from '../../core/index.ts';
import type { ReservationView } from './view.ts';

interface Entry {
  allocator: Allocator;
  /** The view it follows: a view dropped and made anew (view.ts keeps a bounded number) means a new allocator. */
  view: ReservationView;
  unsubscribe: () => void;
}

/** Enough for every network of a node; the least recently used allocator is dropped beyond it. */
const maxAllocators = 32;
const entries = new Map<string, Entry>();

function setKey(dirKey: string, set: RangeSet): string {
  return `${dirKey}\0${set.ranges.map((r) => `${r.subnet.written}|${r.rangeStart}|${r.rangeEnd}|${r.gateway}`).join(',')}`;
}

/** The allocator for `set` in the directory behind `view`, loaded with the view's reservations. */
export function allocatorFor(view: ReservationView, set: RangeSet): Allocator {
  const key = setKey(view.key, set);
  const found = entries.get(key);
  if (found && found.view !== view) {
    entries.delete(key);
    found.unsubscribe();
    found.allocator.dispose();
  } else if (found) {
    entries.delete(key);
    entries.set(key, found); // most recently used last
    return found.allocator;
  }
  const allocator = new Allocator(set);
  allocator.loadReserved(view.owners.keys());
  const unsubscribe = view.subscribe((ip, taken) => {
    if (taken) allocator.reserve(ip);
    else allocator.release(ip);
  });
  entries.set(key, { allocator, view, unsubscribe });
  while (entries.size > maxAllocators) {
    const [oldKey, old] = entries.entries().next().value as [string, Entry];
    entries.delete(oldKey);
    old.unsubscribe();
    old.allocator.dispose();
  }
  return allocator;
}

// Which state of a binding is its effective one (order 2, order.ts), as states arrive
// and go: the tables keep every source's latest state; these functions keep the winner
// in the columns and the others packed.
import type { LinkInfo } from './links.js';
import { compareAcrossSources } from './order.js';
import { pack, unpack, type SourceState } from './state.js';
import type { LeaseTables } from './tables.js';

/**
 * Stores source `s.source`'s new state `s` for binding b (-1: a new binding) and makes
 * the newest state by order 2 the effective one. The orders differ (order 1 uses the
 * server's clock), so a source's newer report can still lose to another source's.
 * `others` and `mine`: b's other states and the index of this source's previous one,
 * when the caller already unpacked them.
 */
export function storeState(t: LeaseTables, b: number, s: SourceState, link: LinkInfo, others: string[] | undefined, mine: number, now: number): void {
  if (b < 0) {
    t.setWinner(t.createBinding(s.blob, link), s);
    return;
  }
  const list = others ?? t.othersOf(b);
  if (mine >= 0) list.splice(mine, 1);
  if (t.source[b] !== s.source) {
    if (compareAcrossSources(s, t.winnerKey(b), t.sources) > 0) {
      list.push(t.packWinner(b)); // the previous winner keeps its state, not winning
      t.setOthers(b, list);
      t.setWinner(b, s);
    } else {
      list.push(pack(s));
      t.setOthers(b, list);
    }
    return;
  }
  // The winning source reported again: it stays ahead unless another source's state is newer.
  const best = newestOf(t, list);
  if (best < 0 || compareAcrossSources(s, unpack(list[best]), t.sources) > 0) {
    t.setWinner(b, s);
    return;
  }
  const promoted = live(unpack(list[best]), now);
  list.splice(best, 1);
  list.push(pack(s));
  t.setWinner(b, promoted);
  t.setOthers(b, list);
}

/**
 * Makes the newest of b's other states the effective one (its winner was retired), or
 * deletes b when it has no other state. `others` are b's other states to keep.
 */
export function promoteNext(t: LeaseTables, b: number, others: string[], now: number): void {
  if (others.length === 0) {
    t.deleteBinding(b);
    return;
  }
  const best = newestOf(t, others);
  // Winner first: it takes its own reference to the template before the list drops one.
  t.setWinner(b, live(unpack(others[best]), now));
  others.splice(best, 1);
  t.setOthers(b, others);
}

/** Index of the newest (order 2) packed state in `list`, -1 when empty. */
function newestOf(t: LeaseTables, list: readonly string[]): number {
  let best = -1;
  let bestState: SourceState | undefined;
  for (let i = 0; i < list.length; i++) {
    const s = unpack(list[i]);
    if (!bestState || compareAcrossSources(s, bestState, t.sources) > 0) {
      best = i;
      bestState = s;
    }
  }
  return best;
}

/** `s` without the resources that ran out while it was not the effective state. */
function live(s: SourceState, now: number): SourceState {
  return s.resources.every((r) => r.valid > now) ? s : { ...s, resources: s.resources.filter((r) => r.valid > now) };
}

// Bulk resync retirement (DESIGN.md "Events": bulk-complete markers let the projection
// retire that source's bindings in that scope that the resync did not report).
import { hexInto } from './text.js';
import { promoteNext } from './resolve.js';
import { packedPartition, packedReceivedAt, packedSource, packedTemplate } from './state.js';
import type { LeaseTables } from './tables.js';

export interface RetireScope {
  readonly linkAddresses: readonly string[];
  readonly relayIds: readonly string[];
}

/**
 * Bulk-complete of a full resync seen in `partition`: source `src`'s states in scope
 * (on a link of scope.linkAddresses, or with a relay-id of scope.relayIds in the
 * state's own relay chain) that came from this partition and were received before the
 * resync started (`cutoff`) were not reported by the resync, so the source no longer
 * has them. Each partition retires its own states: binding events are spread over
 * partitions by client DUID, and the connector writes the markers to every partition,
 * so a state from partition p may only be judged once p's events up to the marker are
 * all in. When a binding's winning state goes, the next source's state takes over.
 * Returns the number of states retired.
 */
export function retireUnreported(t: LeaseTables, src: number, partition: number, cutoff: number, scope: RetireScope, now: number): number {
  const linkIds = new Set<number>();
  for (const text of scope.linkAddresses) {
    const l = t.links.findText(text);
    if (l) linkIds.add(l.id);
  }
  const templateIds = new Set<number>();
  const idBuf = Buffer.alloc(65536);
  for (const hex of scope.relayIds) {
    const n = hexInto(hex, idBuf, 0, 'relay-id');
    for (const tm of t.templates.byRelayId.get(idBuf.toString('latin1', 0, n)) ?? []) templateIds.add(tm.id);
  }
  // Candidates: bindings on the links, bindings whose effective chain carries a relay-id,
  // and bindings with a non-winning state of this source whose chain carries one.
  const candidates = new Set<number>();
  for (const l of linkIds) for (const b of t.linkList.copy(t.links.list[l].members)) candidates.add(b);
  for (const id of templateIds) for (const b of t.templateList.copy(t.templates.get(id)!.members)) candidates.add(b);
  if (templateIds.size > 0) {
    for (const [b, o] of t.others) {
      for (const p of typeof o === 'string' ? [o] : o) if (packedSource(p) === src && templateIds.has(packedTemplate(p))) candidates.add(b);
    }
  }
  const inScope = (b: number, template: number): boolean => linkIds.has(t.link[b]) || templateIds.has(template);
  let retired = 0;
  for (const b of candidates) {
    if (!t.inUse(b)) continue;
    const others = t.othersOf(b);
    const keep = others.filter((p) => !(packedSource(p) === src && packedPartition(p) === partition && packedReceivedAt(p) < cutoff && inScope(b, packedTemplate(p))));
    const retireWinner = t.source[b] === src && t.partition[b] === partition && t.receivedAt[b] < cutoff && inScope(b, t.template[b]);
    retired += others.length - keep.length + (retireWinner ? 1 : 0);
    if (retireWinner) promoteNext(t, b, keep, now);
    else if (keep.length !== others.length) t.setOthers(b, keep);
  }
  return retired;
}

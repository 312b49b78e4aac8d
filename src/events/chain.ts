// Per-source integrity chain (issue 7, DESIGN.md "lq.sources"): each event of a source
// commits to the previous one, so removal, alteration or reordering is detectable.
// hash = SHA-256( prev-hash-hex "\n" JSON of the event without its `chain` field ).
import { createHash } from 'node:crypto';
import type { ChainLink, LqEvent } from './model.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  seq: number;
  hash: string;
}

export const emptyChainHead = (): ChainHead => ({ seq: 0, hash: GENESIS_HASH });

function hashOf(prev: string, event: LqEvent): string {
  const { chain: _chain, ...body } = event;
  return createHash('sha256').update(prev).update('\n').update(JSON.stringify(body)).digest('hex');
}

/** Link `event` after `head`; returns the new head. Mutates the event's `chain`. */
export function linkEvent(event: LqEvent, head: ChainHead): ChainHead {
  const seq = head.seq + 1;
  const hash = hashOf(head.hash, event);
  event.chain = { seq, prev: head.hash, hash };
  return { seq, hash };
}

/** Recompute an event's link: true when its `chain` is what its body and `prev` imply. */
export function verifyLink(event: LqEvent): event is LqEvent & { chain: ChainLink } {
  return event.chain !== undefined && hashOf(event.chain.prev, event) === event.chain.hash;
}

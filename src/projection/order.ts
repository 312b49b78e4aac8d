// The total orders that make apply() idempotent and order-tolerant.
//
// A binding event is state-based: the complete set of one client's resources on one link
// as one source saw it at baseTime. Two orders decide which state stands:
//
// 1. Between two states of the SAME source for the same (client, link) - "which report is
//    newer":
//      0. the log: when both came from lq.events with positions in the same partition (one
//         client's events always are: the key is the client DUID), the later record
//         stands. The connector writes one source's reports in the order the server sent
//         them, and a server never sends an older state of a binding after a newer one
//         on one connection (a catch-up replays a binding's changes oldest first and ends
//         with its current state), so the log order is the server's order whatever its
//         clock did: a clock stepped back, or two changes within one second received in
//         the same millisecond, are ordered right (test/e2e/faults, clock-step).
//    Otherwise (no positions: a tool, a test, a snapshot of another topic) in the
//    source's own clock:
//      a. last client transaction, server clock: baseTime - cltTime (seconds; unknown
//         CLT_TIME sorts first; src/events/report-order.ts). Exact when the server takes
//         both values from one seconds clock, whereas the connector-clock
//         lastTransactionAt carries up to a second of rounding and network jitter.
//         A catch-up that replays history carries old transactions and loses here.
//      b. baseTime: the later report of the same transaction (renewal without a
//         transaction, expiry, reclaim) wins;
//      c. receivedAt (connector clock): two reports within one server second;
//      d. tie: a hash of the state's content (DUID, relay data, resources and their
//         lifetimes; state.ts contentTie), so different contents never compare equal and
//         the outcome does not depend on arrival order. Equal on all four = the same
//         report twice (a duplicate; reports that differ only in options the tables do
//         not keep are the same report for them). The tie is only computed - the event
//         only parsed - when a-c are equal, which is rare.
//
// 2. Between states of DIFFERENT sources (a failover pair, a client that moved) and
//    between two bindings claiming one address or prefix, in the connector clock, the only
//    one the sources share (DESIGN.md "The time model"):
//      a. lastTransactionAt: the most recent client transaction wins (RFC 5007 section
//         4.3.4); unknown sorts first;
//      b. receivedAt; c. source name; d. baseTime; e. tie (as above).
//    For two bindings that are still equal (same source, same instants, same content hash)
//    the client DUID and then the link-address decide (tables.ts), so the order is total.
import { compareServerClock } from '../events/report-order.js';
import type { Sources } from './sources.js';

export interface OrderKey {
  readonly source: number;
  /** Connector clock, ms; NaN when the event had no CLT_TIME. */
  readonly lastTx: number;
  readonly receivedAt: number;
  /** Server clock, seconds since 2000-01-01. */
  readonly baseTime: number;
  /** Seconds before baseTime; -1 when absent. */
  readonly cltTime: number;
  /** Unsigned 32-bit hash of the state's content (state.ts contentTie). */
  readonly tie: number;
}

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where a state's event is in lq.events (-1: unknown). */
export interface LogPosition {
  readonly partition: number;
  readonly offset: number;
}

/** Order 1.0: the log order of two reports in the same partition, or 0 when it does not apply. */
export function compareLog(a: LogPosition, b: LogPosition): number {
  if (a.partition < 0 || a.partition !== b.partition || a.offset < 0 || b.offset < 0) return 0;
  return cmp(a.offset, b.offset);
}

/** Order 1 (same source) without the tie: the cheap part, known before an event is parsed. */
export function compareSameSourceTimes(a: Omit<OrderKey, 'tie' | 'source' | 'lastTx'>, b: OrderKey): number {
  return compareServerClock(a.baseTime, a.cltTime, b.baseTime, b.cltTime) || cmp(a.receivedAt, b.receivedAt);
}

/** Order 1 (same source): > 0 when `a` is the newer report. */
export function compareSameSource(a: OrderKey, b: OrderKey): number {
  return compareSameSourceTimes(a, b) || cmp(a.tie, b.tie);
}

function known(t: number): number {
  return Number.isNaN(t) ? -Infinity : t;
}

/** Order 2 (across sources): > 0 when `a` is the more recent. */
export function compareAcrossSources(a: OrderKey, b: OrderKey, sources: Sources): number {
  return (
    cmp(known(a.lastTx), known(b.lastTx)) ||
    cmp(a.receivedAt, b.receivedAt) ||
    (a.source === b.source ? 0 : sources.name(a.source) < sources.name(b.source) ? -1 : 1) ||
    cmp(a.baseTime, b.baseTime) ||
    cmp(a.tie, b.tie)
  );
}

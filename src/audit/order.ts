// Which report stands: the same two orders as the projection (src/projection/order.ts),
// so that an audit and a replica fold lq.events alike.
//
// Order 1, between reports of the SAME source for one (client, link), in the server's
// own clock (unlike the projection, which uses their order in lq.events when both have
// positions; the two differ only after a server clock was stepped back: README "Not done
// yet"): the last client transaction (baseTime - cltTime; no CLT_TIME sorts first),
// then baseTime (src/events/report-order.ts, shared with the projection), then
// receivedAt, then a hash of the raw
// CLIENT_DATA. Equal on all four is the same report again (a duplicate).
//
// Order 2, between DIFFERENT sources (a failover pair) and between bindings that claim
// one resource, in the connector clock, the only one the sources share: the most
// recent client transaction wins (RFC 5007 section 4.3.4; unknown sorts first), then
// receivedAt, source name, baseTime and the raw hash.

import { compareServerClock } from '../events/report-order.js';

export interface ReportKey {
  readonly source: string;
  /** Connector clock, ms; null when the report had no CLT_TIME. */
  readonly lastTx: number | null;
  readonly receivedAt: number;
  /** Server clock, DHCPv6 seconds. */
  readonly baseTime: number;
  readonly cltTime: number | null;
  /** 32-bit FNV-1a of the raw CLIENT_DATA (base64 text), as the projection's tie. */
  readonly tie: number;
}

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Order 1: > 0 when `a` is the newer report of the same source. 0 = the same report. */
export function compareSameSource(a: ReportKey, b: ReportKey): number {
  return compareServerClock(a.baseTime, a.cltTime, b.baseTime, b.cltTime) || cmp(a.receivedAt, b.receivedAt) || cmp(a.tie, b.tie);
}

/** Order 2: > 0 when `a` is the more recent (its client transaction is newer). */
export function compareAcrossSources(a: ReportKey, b: ReportKey): number {
  return (
    cmp(a.lastTx ?? -Infinity, b.lastTx ?? -Infinity) ||
    cmp(a.receivedAt, b.receivedAt) ||
    (a.source === b.source ? 0 : a.source < b.source ? -1 : 1) ||
    cmp(a.baseTime, b.baseTime) ||
    cmp(a.tie, b.tie)
  );
}

/** Unsigned 32-bit FNV-1a of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

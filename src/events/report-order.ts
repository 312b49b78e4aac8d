// Which of two reports of the SAME source about one (client, link) is the newer one, in
// that source's own clock (DESIGN.md "The time model"). Shared by the projection and the
// audit so that a replica and an audit fold lq.events alike.
//
// The last client transaction first (baseTime - cltTime, server clock; no CLT_TIME sorts
// first), then the report instant (baseTime): a catch-up replaying history carries old
// transactions and loses; a later report of the same transaction (expiry, reclaim) wins.
//
// This is exact when the server takes both whole-second values from one clock reading
// (CLT_TIME = floor(now) - floor(transaction), as servers on a seconds clock do, and as
// this project's engine does: src/leasequery/server/reply.ts). A server that truncated
// the difference of finer instants instead (floor(now - transaction)) would place one
// transaction at either of two seconds depending on where in a second it reported; no
// total order can undo that (treating one second apart as equal is not transitive), so
// the order stays strict and such a server's later report of one transaction may lose
// to an earlier one that rounded the other way.

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The server-clock second of the last transaction; -Infinity when CLT_TIME is absent (null or negative). */
export function serverTransactionTime(baseTime: number, cltTime: number | null): number {
  return cltTime === null || cltTime < 0 ? -Infinity : baseTime - cltTime;
}

/**
 * Order of two reports of one source in the server's clock: > 0 when `a` is newer, 0 when
 * the server's clock cannot tell them apart (the caller goes on to receivedAt and the
 * content tie).
 */
export function compareServerClock(aBase: number, aClt: number | null, bBase: number, bClt: number | null): number {
  return cmp(serverTransactionTime(aBase, aClt), serverTransactionTime(bBase, bClt)) || cmp(aBase, bBase);
}

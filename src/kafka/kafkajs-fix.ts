// A fix to kafkajs 2.2.4's read_committed filtering, installed before kafkajs loads.
//
// A read_committed fetch response lists the aborted transactions that overlap the
// fetched range; the consumer must skip their records. kafkajs
// (consumer/filterAbortedMessages.js) gets two things wrong that the Java consumer
// (Fetcher/CompletedFetch: a priority queue by first offset, drained with a loop) gets
// right:
// 1. It takes the list in the broker's order, which is the order the transactions
//    ENDED (the transaction index), as if it were by first offset: when two producers'
//    aborted transactions overlap (A began before B, was aborted after it), A's records
//    before B's first offset are delivered.
// 2. It starts at most one listed transaction per record: when several listed
//    transactions began before a record (a fetch starting in the middle of them), the
//    first records of the later ones are delivered.
// One transactional producer alone rarely shows either; several producers on the same
// partitions (the connector's work slots, whose transactions a takeover aborts) do, and
// a reader then sees events of aborted transactions as committed. This replaces the
// filter, before kafkajs's consumer binds it, with one that follows the Java client.
import { createRequire } from 'node:module';

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}
interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}
type Filter = ((args: { messages: FetchedRecord[]; abortedTransactions?: AbortedTransaction[] }) => FetchedRecord[]) & { lqrFixed?: boolean };

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/** The records of `messages` (one partition, offset order) that are not part of an aborted transaction. */
export const filterAbortedRecords: Filter = ({ messages, abortedTransactions }) => {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = abortedTransactions
    .map((t) => ({ producerId: String(t.producerId), firstOffset: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  let next = 0;
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (next < pending.length && pending[next].firstOffset <= offset) aborted.add(pending[next++].producerId);
    const producerId = String(m.batchContext?.producerId ?? '');
    if (m.key && Buffer.from(m.key).equals(ABORT_MARKER_KEY) && m.isControlRecord !== false) {
      // The end of that producer's aborted transaction (control records are dropped later).
      aborted.delete(producerId);
      return true;
    }
    return !(m.batchContext?.inTransaction && aborted.has(producerId));
  });
};
filterAbortedRecords.lqrFixed = true;

const require = createRequire(import.meta.url);

function install(): boolean {
  let path: string;
  try {
    path = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
  } catch {
    return false;
  }
  require(path);
  const mod = require.cache[path];
  if (!mod) return false;
  mod.exports = filterAbortedRecords;
  return true;
}

/** Whether kafkajs's consumer uses filterAbortedRecords (it binds the filter when it loads). */
export const abortedTransactionsFixed = install();

// The read_committed fix of src/kafka/kafkajs-fix.ts: kafkajs's Batch skips the records
// of aborted transactions whatever order the broker lists them in (it lists them by
// when they ended; two producers' aborted transactions can overlap, which sharing the
// sources across connector instances makes routine).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { abortedTransactionsFixed } from '../../../src/kafka/kafkajs-fix.js';
import '../../../src/kafka/index.js';

const require = createRequire(import.meta.url);

interface Msg {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const rec = (offset: number, pid: string): Msg => ({ offset: String(offset), key: Buffer.from('k'), value: Buffer.from(`${pid}@${offset}`), batchContext: { producerId: pid, inTransaction: true } });
const abort = (offset: number, pid: string): Msg => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 0]), value: null, isControlRecord: true, batchContext: { producerId: pid, inTransaction: true } });
const commit = (offset: number, pid: string): Msg => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 1]), value: null, isControlRecord: true, batchContext: { producerId: pid, inTransaction: true } });

describe('kafkajs read_committed: aborted transactions listed out of order', () => {
  it('skips every record of both overlapping aborted transactions', () => {
    expect(abortedTransactionsFixed).toBe(true);
    const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: unknown) => { messages: Msg[] };
    // Producer 7 begins at 0, producer 9 at 2; 9 is aborted first (marker 5), then 7 (marker 7); 11 commits at 8-9.
    const messages = [rec(0, '7'), rec(1, '7'), rec(2, '9'), rec(3, '7'), rec(4, '9'), abort(5, '9'), abort(6, '7'), rec(7, '11'), commit(8, '11')];
    // The broker's order: by end (9's abort first).
    const batch = new Batch('t', '0', { partition: 0, highWatermark: '9', abortedTransactions: [{ producerId: '9', firstOffset: '2' }, { producerId: '7', firstOffset: '0' }], messages });
    expect(batch.messages.map((m) => m.value?.toString())).toEqual(['11@7']);
  });

  it('skips the first records of a fetch that starts inside several aborted transactions', () => {
    const Batch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: unknown) => { messages: Msg[] };
    // The fetch starts at 10; producers 3, 5 and 7 each have an aborted transaction that began before it.
    const messages = [rec(10, '7'), rec(11, '5'), rec(12, '3'), rec(13, '11'), abort(14, '3'), abort(15, '5'), abort(16, '7'), rec(17, '7'), commit(18, '7')];
    const aborted = [
      { producerId: '3', firstOffset: '2' },
      { producerId: '5', firstOffset: '4' },
      { producerId: '7', firstOffset: '6' },
    ];
    const batch = new Batch('t', '10', { partition: 0, highWatermark: '19', abortedTransactions: aborted, messages });
    // Producer 11 has no aborted transaction, and 7's record after its abort marker is from a later transaction: both kept.
    expect(batch.messages.map((m) => m.value?.toString())).toEqual(['11@13', '7@17']);
  });
});

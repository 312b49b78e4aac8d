// Transactions, fencing and idempotence of src/kafka's producer, proven against the
// run's real broker with read_committed (and read_uncommitted) readers.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ProducerFencedError,
  TransactionAbortedError,
  TransactionalProducer,
  endOffsets,
  readToEnd,
  type KafkaSettings,
  type ReadMessage,
} from '../../src/kafka/index.js';
import { createTopic, kafkaConfig, uniqueTopic, waitForKafka } from '../helpers/kafka.js';

let settings: KafkaSettings;

beforeAll(async () => {
  await waitForKafka();
  settings = kafkaConfig();
});

async function readAll(topic: string, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  await readToEnd(settings, { topic, isolation, timeoutMs: 60_000 }, (batch) => {
    out.push(...batch.messages);
  });
  return out;
}

const values = (ms: ReadMessage[]) => ms.map((m) => m.value?.toString());

describe('transactional producer', () => {
  it('a committed transaction is seen by a read_committed reader, all of it', async () => {
    const topic = await createTopic(uniqueTopic('tx-commit'), { partitions: 3 });
    const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid') });
    try {
      const { value, commit } = await producer.transact((tx) => {
        tx.send(
          topic,
          Array.from({ length: 30 }, (_, i) => ({ key: `client-${i % 7}`, value: `v${i}`, headers: { 'lq-schema': '1' } })),
        );
        return 'body result';
      });
      expect(value).toBe('body result');
      expect(commit.records).toBe(30);
      expect(commit.partitions.length).toBeGreaterThan(0);
      expect(commit.partitions.every((p) => p.topic === topic && p.baseOffset >= 0n)).toBe(true);
      await producer.settle();
    } finally {
      await producer.disconnect();
    }
    const got = await readAll(topic);
    expect(got).toHaveLength(30);
    expect(new Set(values(got))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => `v${i}`)));
    expect(got.every((m) => m.headers['lq-schema']?.toString() === '1')).toBe(true);
    // Same key, same partition, in order: per-key order is kept.
    const byKey = new Map<string, number[]>();
    for (const m of got) {
      const k = m.key?.toString() as string;
      const list = byKey.get(k) ?? [];
      list.push(Number(m.value?.toString().slice(1)));
      byKey.set(k, list);
    }
    for (const list of byKey.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
  });

  it('an aborted transaction is never seen by read_committed, though its records are in the log', async () => {
    const topic = await createTopic(uniqueTopic('tx-abort'), { partitions: 1 });
    const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid') });
    try {
      await producer.commitBatch([{ topic, value: 'before' }]);
      // The body flushes (records reach the broker inside the open transaction), then fails.
      const boom = new Error('connector decided to give up');
      await expect(
        producer.transact(async (tx) => {
          tx.send(topic, [{ value: 'aborted-1' }, { value: 'aborted-2' }]);
          await tx.flush();
          throw boom;
        }),
      ).rejects.toBe(boom);
      // A send failing mid-transaction aborts too: the second chunk is too large for the topic.
      const small = await createTopic(uniqueTopic('tx-abort-small'), { partitions: 1, configs: { 'max.message.bytes': '2000' } });
      const tiny = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid'), maxRequestBytes: 500 });
      try {
        await expect(
          tiny.commitBatch([
            { topic: small, value: 'fits' },
            { topic: small, value: 'x'.repeat(10_000) },
          ]),
        ).rejects.toBeInstanceOf(TransactionAbortedError);
        // The producer stays usable after an abort.
        await tiny.commitBatch([{ topic: small, value: 'after' }]);
        await tiny.settle();
      } finally {
        await tiny.disconnect();
      }
      expect(values(await readAll(small))).toEqual(['after']);
      expect(values(await readAll(small, 'read_uncommitted'))).toEqual(['fits', 'after']);

      await producer.commitBatch([{ topic, value: 'after' }]);
      await producer.settle();
    } finally {
      await producer.disconnect();
    }
    expect(values(await readAll(topic))).toEqual(['before', 'after']);
    // read_uncommitted does see the aborted records: they really were written.
    expect(values(await readAll(topic, 'read_uncommitted'))).toEqual(['before', 'aborted-1', 'aborted-2', 'after']);
  });

  it('a body that throws before flushing sends nothing', async () => {
    const topic = await createTopic(uniqueTopic('tx-nosend'), { partitions: 1 });
    const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid') });
    try {
      await expect(
        producer.transact((tx) => {
          tx.send(topic, [{ value: 'never' }]);
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
    } finally {
      await producer.disconnect();
    }
    expect((await endOffsets(settings, topic)).get(0)).toBe(0n);
  });

  it('an open transaction holds the end offset (last stable offset) back; readToEnd stops before it', async () => {
    const topic = await createTopic(uniqueTopic('tx-open'), { partitions: 1 });
    const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid') });
    try {
      await producer.commitBatch([{ topic, value: 'a' }]); // offset 0, commit marker at 1
      await producer.settle();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let flushed!: () => void;
      const didFlush = new Promise<void>((r) => (flushed = r));
      const pending = producer.transact(async (tx) => {
        tx.send(topic, [{ value: 'open' }]); // offset 2
        await tx.flush();
        flushed();
        await gate;
      });
      await didFlush;
      expect((await endOffsets(settings, topic)).get(0)).toBe(2n);
      expect(values(await readAll(topic))).toEqual(['a']);
      release();
      await pending;
      await producer.settle();
      expect((await endOffsets(settings, topic)).get(0)).toBe(4n);
      expect(values(await readAll(topic))).toEqual(['a', 'open']);
    } finally {
      await producer.disconnect();
    }
  });
});

describe('fencing', () => {
  it('a restarted producer with the same transactional id fences the old one', async () => {
    const topic = await createTopic(uniqueTopic('fence'), { partitions: 1 });
    const transactionalId = uniqueTopic('connector');
    const old = await TransactionalProducer.connect(settings, { transactionalId });
    const restarted: TransactionalProducer[] = [];
    try {
      await old.commitBatch([{ topic, value: 'old-1' }]);
      restarted.push(await TransactionalProducer.connect(settings, { transactionalId }));
      const fresh = restarted[0];
      // The old instance's next transaction fails, typed, and it stays fenced.
      const err = await old.commitBatch([{ topic, value: 'old-2' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProducerFencedError);
      expect((err as ProducerFencedError).transactionalId).toBe(transactionalId);
      expect(old.fenced).toBe(true);
      await expect(old.commitBatch([{ topic, value: 'old-3' }])).rejects.toBeInstanceOf(ProducerFencedError);
      await fresh.commitBatch([{ topic, value: 'new-1' }]);
      await fresh.settle();
    } finally {
      await old.disconnect();
      for (const p of restarted) await p.disconnect();
    }
    const got = await readAll(topic);
    expect(values(got)).toEqual(['old-1', 'new-1']);
    // Same producer id (same transactional id), higher epoch after the restart.
    expect(got[1].producerId).toBe(got[0].producerId);
    expect(got[1].producerEpoch).toBeGreaterThan(got[0].producerEpoch);
  });

  it('the open transaction of a fenced producer is aborted and its commit fails', async () => {
    const topic = await createTopic(uniqueTopic('fence-open'), { partitions: 1 });
    const transactionalId = uniqueTopic('connector');
    const old = await TransactionalProducer.connect(settings, { transactionalId });
    let fresh: TransactionalProducer | undefined;
    try {
      let flushed!: () => void;
      const didFlush = new Promise<void>((r) => (flushed = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const pending = old.transact(async (tx) => {
        tx.send(topic, [{ value: 'zombie' }]);
        await tx.flush();
        flushed();
        await gate;
      });
      const outcome = pending.then(
        () => 'committed',
        (e: unknown) => e,
      );
      await didFlush;
      fresh = await TransactionalProducer.connect(settings, { transactionalId });
      release();
      expect(await outcome).toBeInstanceOf(ProducerFencedError);
      await fresh.commitBatch([{ topic, value: 'successor' }]);
      await fresh.settle();
    } finally {
      await old.disconnect();
      await fresh?.disconnect();
    }
    expect(values(await readAll(topic))).toEqual(['successor']);
  });
});

describe('restart', () => {
  it('connect() of a restarted instance returns only when the old one\'s last commit is visible', async () => {
    // What a connector relies on: after a restart, its resume point (written in its
    // last transaction) can be read at once.
    const topic = await createTopic(uniqueTopic('resume'), { partitions: 1, configs: { 'cleanup.policy': 'compact' } });
    const transactionalId = uniqueTopic('connector');
    const before = await TransactionalProducer.connect(settings, { transactionalId });
    await before.commitBatch([{ topic, key: 'source-1', value: 'resume-at-42' }]);
    // No settle(), no disconnect: the process "dies" right after the commit returns.
    const after = await TransactionalProducer.connect(settings, { transactionalId });
    try {
      expect(values(await readAll(topic))).toEqual(['resume-at-42']);
    } finally {
      await after.disconnect();
      await before.disconnect();
    }
  });
});

describe('idempotence', () => {
  it('the producer is idempotent with acks=all, and the broker stored its producer id with every batch', async () => {
    const topic = await createTopic(uniqueTopic('idem'), { partitions: 2 });
    const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid') });
    try {
      expect(producer.describe()).toMatchObject({ idempotent: true, acks: 'all', maxInFlightRequests: 1 });
      await producer.commitBatch([
        { topic, key: 'a', value: '1' },
        { topic, key: 'b', value: '2' },
      ]);
      await producer.commitBatch([{ topic, key: 'a', value: '3' }]);
      await producer.settle();
    } finally {
      await producer.disconnect();
    }
    const got = await readAll(topic);
    expect(got).toHaveLength(3);
    // A producer id >= 0 in the stored record batches is what the broker keeps for
    // idempotent producers only (its sequence numbers deduplicate retries); the
    // transactional flag shows the records went through the transaction coordinator,
    // which accepts only idempotent producers.
    for (const m of got) {
      expect(m.producerId).toBeGreaterThanOrEqual(0n);
      expect(m.producerEpoch).toBeGreaterThanOrEqual(0);
      expect(m.transactional).toBe(true);
    }
    expect(new Set(got.map((m) => m.producerId)).size).toBe(1);
  });
});

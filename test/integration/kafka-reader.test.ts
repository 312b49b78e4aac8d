// read_committed readers: start positions (offsets, timestamps, end), seeks, the
// pull iterator, group mode with committed offsets, and readToEnd.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  KafkaAdmin,
  TopicReader,
  TransactionalProducer,
  readToEnd,
  type KafkaSettings,
  type ProducerRecord,
  type ReadMessage,
} from '../../src/kafka/index.js';
import { createTopic, eventually, kafkaConfig, uniqueTopic, waitForKafka } from '../helpers/kafka.js';

let settings: KafkaSettings;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  await waitForKafka();
  settings = kafkaConfig();
});

afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

async function produce(records: ProducerRecord[], transactions = 1): Promise<void> {
  const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('txid') });
  try {
    const per = Math.ceil(records.length / transactions);
    for (let i = 0; i < records.length; i += per) await producer.commitBatch(records.slice(i, i + per));
    // Commit markers are written just after a commit returns: wait for them, so that
    // what follows reads (and end offsets count) every record.
    await producer.settle();
  } finally {
    await producer.disconnect();
  }
}

async function reader(opts: Parameters<typeof TopicReader.open>[1]): Promise<{ r: TopicReader; seen: ReadMessage[] }> {
  const r = await TopicReader.open(settings, { maxWaitTimeMs: 200, ...opts });
  open.push(r);
  const seen: ReadMessage[] = [];
  await r.run((batch) => {
    seen.push(...batch.messages);
  });
  return { r, seen };
}

const v = (m: ReadMessage | undefined) => m?.value?.toString();

describe('seeking by timestamp', () => {
  // Ten records with explicit timestamps base, base+1s, ... base+9s (offsets 0..9).
  const base = Date.now() - 10 * 60_000;
  const records = (topic: string): ProducerRecord[] =>
    Array.from({ length: 10 }, (_, i) => ({ topic, key: 'same', value: `r${i}`, timestamp: base + i * 1_000 }));

  it('offsets-for-times lands on the first record at or after the timestamp', async () => {
    const topic = await createTopic(uniqueTopic('ts'), { partitions: 1 });
    await produce(records(topic));
    const admin = await KafkaAdmin.connect(settings);
    try {
      expect((await admin.offsetsForTimestamp(topic, base + 4_500)).get(0)).toBe(5n);
      expect((await admin.offsetsForTimestamp(topic, base + 5_000)).get(0)).toBe(5n);
      expect((await admin.offsetsForTimestamp(topic, base - 1)).get(0)).toBe(0n);
      // The commit marker (offset 10) carries the commit's time: a timestamp after the
      // last record but before the commit finds the marker, which readers skip.
      expect((await admin.offsetsForTimestamp(topic, base + 60_000)).get(0)).toBe(10n);
      // After everything: the end offset (10 records + the commit marker).
      expect((await admin.offsetsForTimestamp(topic, Date.now() + 3_600_000)).get(0)).toBe(11n);
    } finally {
      await admin.close();
    }
  });

  it('a reader started at a middle timestamp reads the right record first; seekToTimestamp moves it', async () => {
    const topic = await createTopic(uniqueTopic('ts-read'), { partitions: 1 });
    await produce(records(topic));
    const { r, seen } = await reader({ topic, from: { timestamp: base + 4_500 } });
    await eventually(() => (seen.length >= 5 ? true : undefined), 30_000, 'five records');
    expect(v(seen[0])).toBe('r5');
    expect(seen[0].offset).toBe(5n);
    expect(seen[0].timestamp).toBe(base + 5_000);
    expect(seen.map(v)).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
    await r.waitFor(() => r.positions().get(0) === 11n);

    seen.length = 0;
    await r.seekToTimestamp(base + 7_000);
    await eventually(() => (seen.length >= 3 ? true : undefined), 30_000, 'three records after the seek');
    expect(seen.map(v)).toEqual(['r7', 'r8', 'r9']);
  });
});

describe('start positions and seeks', () => {
  it('starts at given offsets, at the end, and follows seeks', async () => {
    const topic = await createTopic(uniqueTopic('pos'), { partitions: 2 });
    await produce(Array.from({ length: 6 }, (_, i) => ({ topic, partition: i % 2, value: `p${i % 2}-${Math.floor(i / 2)}` })));
    // Partition 0 holds p0-0, p0-1, p0-2 at offsets 0..2; start it at 1, partition 1 from the beginning.
    const a = await reader({ topic, from: { offsets: { 0: 1n } } });
    await eventually(() => (a.seen.length >= 5 ? true : undefined), 30_000, 'five records');
    expect(a.seen.filter((m) => v(m)?.startsWith('p0')).map(v)).toEqual(['p0-1', 'p0-2']);
    expect(a.seen.filter((m) => v(m)?.startsWith('p1')).map(v)).toEqual(['p1-0', 'p1-1', 'p1-2']);

    // From the end: only what is written afterwards.
    const b = await reader({ topic, partitions: [1], from: 'end' });
    await produce([
      { topic, partition: 0, value: 'late-0' },
      { topic, partition: 1, value: 'late-1' },
    ]);
    await eventually(() => (b.seen.length >= 1 ? true : undefined), 30_000, 'the late record');
    expect(b.seen.map(v)).toEqual(['late-1']);

    // Seek back to the beginning of partition 1.
    b.seen.length = 0;
    b.r.seek(1, 0n);
    await eventually(() => (b.seen.length >= 4 ? true : undefined), 30_000, 'partition 1 again');
    expect(b.seen.map(v)).toEqual(['p1-0', 'p1-1', 'p1-2', 'late-1']);
  });

  it('batches() yields batches to a for-await loop', async () => {
    const topic = await createTopic(uniqueTopic('iter'), { partitions: 1 });
    await produce(Array.from({ length: 20 }, (_, i) => ({ topic, value: `m${i}` })), 4);
    const r = await TopicReader.open(settings, { topic, maxWaitTimeMs: 200 });
    open.push(r);
    const seen: string[] = [];
    for await (const batch of r.batches()) {
      expect(batch.topic).toBe(topic);
      expect(batch.partition).toBe(0);
      seen.push(...batch.messages.map((m) => m.value?.toString() ?? ''));
      if (seen.length >= 20) break;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it('a handler error stops the reader and rejects `done`', async () => {
    const topic = await createTopic(uniqueTopic('fail'), { partitions: 1 });
    await produce([{ topic, value: 'x' }]);
    const r = await TopicReader.open(settings, { topic, maxWaitTimeMs: 200 });
    open.push(r);
    const boom = new Error('handler failed');
    await r.run(() => {
      throw boom;
    });
    await expect(r.done).rejects.toBe(boom);
    expect(r.positions().get(0)).toBe(0n);
  });
});

describe('pause and resume', () => {
  it('a paused partition is not fetched until resumed, then continues where it was; others go on', async () => {
    const topic = await createTopic(uniqueTopic('pause'), { partitions: 2 });
    await produce(Array.from({ length: 6 }, (_, i) => ({ topic, partition: i % 2, value: `p${i % 2}-${Math.floor(i / 2)}` })));
    // Paused before run(): remembered and applied when reading starts.
    const r = await TopicReader.open(settings, { topic, maxWaitTimeMs: 200 });
    open.push(r);
    r.pause([0]);
    expect(r.paused()).toEqual([0]);
    const seen: ReadMessage[] = [];
    await r.run((batch) => {
      seen.push(...batch.messages);
    });
    await eventually(() => (seen.length >= 3 ? true : undefined), 30_000, 'partition 1');
    await new Promise((res) => setTimeout(res, 1_000)); // several fetch rounds
    expect(seen.map(v)).toEqual(['p1-0', 'p1-1', 'p1-2']);
    expect(r.positions().get(0)).toBe(0n);

    // Pause the other one too while running; new records on it wait.
    r.pause([1]);
    await produce([{ topic, partition: 1, value: 'p1-late' }]);
    await new Promise((res) => setTimeout(res, 1_000));
    expect(seen).toHaveLength(3);

    r.resume([0, 1]);
    expect(r.paused()).toEqual([]);
    await eventually(() => (seen.length >= 7 ? true : undefined), 30_000, 'both partitions after resume');
    expect(seen.filter((m) => v(m)?.startsWith('p0')).map(v)).toEqual(['p0-0', 'p0-1', 'p0-2']);
    expect(seen.slice(3).filter((m) => v(m)?.startsWith('p1')).map(v)).toEqual(['p1-late']);
  });
});

describe('group mode', () => {
  it('commits positions and a new member of the group resumes after them', async () => {
    const topic = await createTopic(uniqueTopic('group'), { partitions: 2 });
    const groupId = uniqueTopic('replica');
    await produce(Array.from({ length: 4 }, (_, i) => ({ topic, partition: i % 2, value: `g${i}` })));
    const first = await reader({ topic, groupId, from: 'earliest' });
    await eventually(() => (first.seen.length >= 4 ? true : undefined), 30_000, 'four records');
    await first.r.waitFor(() => first.r.positions().size === 2);
    await first.r.commit();
    await first.r.close();

    await produce([
      { topic, partition: 0, value: 'g-new-0' },
      { topic, partition: 1, value: 'g-new-1' },
    ]);
    const second = await reader({ topic, groupId, from: 'earliest' });
    await eventually(() => (second.seen.length >= 2 ? true : undefined), 30_000, 'the two new records');
    expect(second.seen.map(v).sort()).toEqual(['g-new-0', 'g-new-1']);
  });
});

describe('readToEnd', () => {
  it('reads from given offsets up to the end offsets seen at start, and stops', async () => {
    const topic = await createTopic(uniqueTopic('catchup'), { partitions: 3 });
    const records = Array.from({ length: 300 }, (_, i) => ({ topic, key: `k${i % 17}`, value: `c${i}` }));
    await produce(records, 10);
    const all: Array<{ partition: number; offset: bigint; value: string }> = [];
    const res = await readToEnd(settings, { topic, timeoutMs: 60_000 }, (b) => {
      for (const m of b.messages) all.push({ partition: b.partition, offset: m.offset, value: v(m) as string });
    });
    expect(res.records).toBe(300);
    expect(all).toHaveLength(300);
    expect(new Set(all.map((m) => m.value)).size).toBe(300);

    // From the middle: per partition, exactly the records at or after the chosen offset.
    const mid = new Map<number, bigint>();
    for (const [p, end] of res.endOffsets) mid.set(p, end / 2n);
    const tail: string[] = [];
    await readToEnd(settings, { topic, from: { offsets: mid }, timeoutMs: 60_000 }, (b) => {
      tail.push(...b.messages.map((m) => v(m) as string));
    });
    const expected = all.filter((m) => m.offset >= (mid.get(m.partition) as bigint)).map((m) => m.value);
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.sort()).toEqual(expected.sort());
    // Nothing past the end offsets observed at start: later writes are not delivered.
    await produce([{ topic, key: 'k0', value: 'later' }]);
    const again: string[] = [];
    const res2 = await readToEnd(settings, { topic, from: { offsets: res.endOffsets } }, (b) => {
      again.push(...b.messages.map((m) => v(m) as string));
    });
    expect(again).toEqual(['later']);
    expect(res2.records).toBe(1);
  });

  it('returns at once when the start is already the end', async () => {
    const topic = await createTopic(uniqueTopic('empty'), { partitions: 2 });
    const res = await readToEnd(settings, { topic }, () => {
      throw new Error('no batch expected');
    });
    expect(res.records).toBe(0);
    expect([...res.endOffsets.values()]).toEqual([0n, 0n]);
  });
});

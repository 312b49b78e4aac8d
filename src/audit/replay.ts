// `lqr replay`: re-emit a time range of lq.events, for rebuilding downstream systems.
// - to a topic: record for record (value bytes, key, headers and the original
//   timestamp, so time-based reads of the copy select the same records), through the
//   Kafka layer's transactional producer, one transaction per chunk. When the target
//   has as many partitions as the source, each record keeps its partition (and so its
//   order); otherwise the key decides (per-client order is kept either way). A replay
//   that fails part-way leaves its committed chunks; running it again duplicates them.
// - to stdout: NDJSON, one event per line (the record value as written, so chain
//   hashes still verify), merged across partitions in record-timestamp order.
import { randomUUID } from 'node:crypto';
import { HEADER_TYPE } from '../events/index.js';
import { KafkaAdmin, TransactionalProducer, type KafkaSettings, type ProducerRecord, type ReadMessage } from '../kafka/index.js';
import { AuditError } from './errors.js';
import { TimeMerger, steerFlow, type MergeItem } from './merge.js';
import { readRange, withTimeout, type RangeFlow, type RangeResult, type RangeStart, type RangeStop, type ReadOptions } from './read.js';
import { DEFAULT_REORDER_WINDOW_MS } from './sweep.js';

export interface ReplayQuery {
  from?: number;
  to?: number;
  source?: string;
  type?: 'binding' | 'source';
}

export type ReplaySink =
  | { kind: 'lines'; write(line: string): void | Promise<void> }
  | { kind: 'topic'; topic: string; transactionalId?: string; recordsPerTransaction?: number };

export interface ReplayTarget {
  kafka: KafkaSettings;
  topic: string;
  read?: ReadOptions & { reorderWindowMs?: number };
}

export interface ReplayResult {
  records: number;
  emitted: number;
  filtered: number;
  transactions: number;
  /** Topic sink: records kept their partition (same partition count). */
  partitionsPreserved: boolean | null;
  range: RangeResult;
  elapsedMs: number;
}

interface Selected {
  keep: boolean;
}

/** Does the record pass the --type / --source filters? Reads the type from the header when it can. */
function select(m: ReadMessage, q: ReplayQuery): Selected {
  if (m.value === null) return { keep: false };
  // The start offset comes from offsets-for-times, which may answer a little early.
  if (q.from !== undefined && m.timestamp < q.from) return { keep: false };
  if (q.type !== undefined) {
    const h = m.headers[HEADER_TYPE]?.toString('utf8');
    if (h !== undefined && h !== q.type) return { keep: false };
  }
  if (q.source === undefined && (q.type === undefined || m.headers[HEADER_TYPE] !== undefined)) return { keep: true };
  let e: { type?: unknown; source?: { name?: unknown } };
  try {
    e = JSON.parse(m.value.toString('utf8')) as typeof e;
  } catch {
    return { keep: false };
  }
  if (q.type !== undefined && e.type !== q.type) return { keep: false };
  if (q.source !== undefined && e.source?.name !== q.source) return { keep: false };
  return { keep: true };
}

interface LineItem extends MergeItem {
  value: Buffer;
}

export async function replayRange(target: ReplayTarget, query: ReplayQuery, sink: ReplaySink): Promise<ReplayResult> {
  const t0 = Date.now();
  const from: RangeStart = query.from === undefined ? 'earliest' : { timestamp: query.from };
  const until: RangeStop = query.to === undefined ? 'end' : { timestamp: query.to + 1 };
  let emitted = 0;
  let filtered = 0;
  let transactions = 0;

  if (sink.kind === 'lines') {
    const pending: Buffer[] = [];
    let merger: TimeMerger<LineItem> | undefined;
    let flow: RangeFlow | undefined;
    const windowMs = target.read?.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
    const out = async () => {
      for (const v of pending.splice(0)) {
        emitted++;
        await sink.write(`${v.toString('utf8')}\n`);
      }
    };
    const range = await readRange(
      target.kafka,
      { topic: target.topic, from, until },
      {
        begin(ranges) {
          merger = new TimeMerger<LineItem>(ranges.map((r) => r.partition), (item) => pending.push(item.value), { windowMs, maxBuffered: 200_000 });
        },
        attach(f) {
          flow = f;
        },
        async batch(partition, messages) {
          const m = merger as TimeMerger<LineItem>;
          for (const msg of messages) {
            if (!select(msg, query).keep) {
              filtered++;
              continue;
            }
            m.push({ time: msg.timestamp, partition, offset: msg.offset, sort: '', value: msg.value as Buffer });
          }
          m.release();
          steerFlow(m, flow);
          await out();
        },
        partitionDone(partition) {
          merger?.done(partition);
          merger?.release();
          steerFlow(merger, flow);
        },
      },
      target.read,
    );
    merger?.flush();
    await out();
    return { records: range.records, emitted, filtered, transactions, partitionsPreserved: null, range, elapsedMs: Date.now() - t0 };
  }

  if (sink.topic === target.topic) throw new AuditError('topic', `replay into the topic it reads ("${sink.topic}") would duplicate it: give another --to-topic`);
  const timeout = target.read?.connectTimeoutMs ?? 15_000;
  const admin = await withTimeout(KafkaAdmin.connect(target.kafka), timeout, `connect to ${target.kafka.brokers.join(',')}`, (a) => a.close());
  let sourceCount: number;
  let targetCount: number;
  try {
    sourceCount = await withTimeout(admin.partitionCount(target.topic), timeout, `partitions of "${target.topic}"`).catch((err: unknown) => {
      throw new AuditError('topic', `topic "${target.topic}": ${(err as Error).message}`);
    });
    const topics = await withTimeout(admin.listTopics(), timeout, 'list topics');
    if (!topics.includes(sink.topic)) {
      // A copy of lq.events: the same partitions, kept forever, like the original (src/kafka/config.ts).
      await withTimeout(
        admin.ensureTopics([{ name: sink.topic, partitions: sourceCount, configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1' } }]),
        timeout,
        `create "${sink.topic}"`,
      );
    }
    targetCount = await withTimeout(admin.partitionCount(sink.topic), timeout, `partitions of "${sink.topic}"`);
  } finally {
    await admin.close().catch(() => undefined);
  }
  const preserve = sourceCount === targetCount;
  const perTx = sink.recordsPerTransaction ?? 5_000;
  const producer = await withTimeout(
    TransactionalProducer.connect(target.kafka, { transactionalId: sink.transactionalId ?? `lqr-replay-${randomUUID()}` }),
    timeout * 2,
    'start a transactional producer',
    (p) => p.disconnect(),
  );
  let chunk: ProducerRecord[] = [];
  const commit = async () => {
    if (chunk.length === 0) return;
    const records = chunk;
    chunk = [];
    await producer.commitBatch(records);
    transactions++;
    emitted += records.length;
  };
  try {
    const range = await readRange(
      target.kafka,
      { topic: target.topic, from, until },
      {
        async batch(partition, messages) {
          for (const msg of messages) {
            if (!select(msg, query).keep) {
              filtered++;
              continue;
            }
            const rec: ProducerRecord = { topic: sink.topic, key: msg.key, value: msg.value, headers: msg.headers, timestamp: msg.timestamp };
            if (preserve) rec.partition = partition;
            chunk.push(rec);
            if (chunk.length >= perTx) await commit();
          }
        },
        partitionDone() {},
      },
      target.read,
    );
    await commit();
    // The commit markers follow the commit by a few ms: once replay returns, readers see it all.
    if (transactions > 0) await producer.settle();
    return { records: range.records, emitted, filtered, transactions, partitionsPreserved: preserve, range, elapsedMs: Date.now() - t0 };
  } finally {
    await producer.disconnect();
  }
}

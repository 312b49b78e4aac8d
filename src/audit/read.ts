// Reading a range of lq.events for the audit: per partition from a start offset (the
// earliest, or the first record at or after an instant) up to the end offsets seen when
// reading starts, or, with a stop instant, up to the first record stamped at or after
// it, through the Kafka layer's read_committed TopicReader.
//
// The start comes from offsets-for-times; the stop is found while reading. A
// transaction's commit marker carries the time of the commit, so where records carry
// older timestamps than their commit (a replayed or back-filled topic) offsets-for-times
// can answer the offset of an early marker: for a start that only means reading a
// little more, for a stop it would mean missing records.
//
// Bounded waits: connecting and every metadata call have a timeout, and reading fails
// when no partition moves for `stallTimeoutMs`; nothing here can hang.
import { KafkaAdmin, TopicReader, type KafkaSettings, type ReadMessage } from '../kafka/index.js';
import { silentLogger, type Logger } from '../log.js';
import { AuditError } from './errors.js';

export type RangeStart = 'earliest' | { timestamp: number } | { offsets: ReadonlyMap<number, bigint> };
export type RangeStop = 'end' | { timestamp: number };

export interface RangeSpec {
  topic: string;
  /** Default: every partition. */
  partitions?: number[];
  from: RangeStart;
  until: RangeStop;
}

export interface ReadOptions {
  /** Bound on reaching the brokers and on each metadata call (default 15 s). */
  connectTimeoutMs?: number;
  /** Fail when reading makes no progress for this long (default 60 s). */
  stallTimeoutMs?: number;
  logger?: Logger;
  maxBytesPerPartition?: number;
  /**
   * Bytes per fetch over all partitions. Default: every partition's share (partitions x
   * maxBytesPerPartition): with kafkajs's 10 MiB default and more than ten partitions,
   * some partitions get nothing in a fetch round while the others move on, and the
   * time merge must then buffer what they delivered (merge.ts).
   */
  maxBytes?: number;
}

export interface PartitionRange {
  partition: number;
  /** First offset read. */
  start: bigint;
  /** Offset reading stopped before (the first record at or after the stop instant, or the end). */
  stop: bigint;
  /** The partition's log start and end (last stable) offsets when reading began. */
  earliest: bigint;
  end: bigint;
}

export interface RangeResult {
  partitions: PartitionRange[];
  records: number;
  /** True when every partition was read from its earliest offset. */
  fromEarliest: boolean;
  /** True when every partition was read to its end offset. */
  toEnd: boolean;
}

/** Flow control over the partitions being read (the reader's pause/resume). */
export interface RangeFlow {
  /** Stop fetching these partitions (batches already fetched still come). */
  pause(partitions: readonly number[]): void;
  resume(partitions: readonly number[]): void;
}

export interface RangeHandler {
  /** The resolved range, before any record. */
  begin?(ranges: readonly PartitionRange[]): void;
  /** Flow control, handed over before any record (not called when nothing is to be read). */
  attach?(flow: RangeFlow): void;
  /** Records of one partition, in offset order, all below the stop offset. */
  batch(partition: number, messages: ReadMessage[]): void | Promise<void>;
  /** The partition has been read up to its stop offset. */
  partitionDone(partition: number): void;
}

/** `promise`, or an AuditError when it has not settled in `ms`. A late result is handed to `dispose`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string, dispose?: (value: T) => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new AuditError('unreachable', `${what}: no answer within ${ms} ms (check --brokers / KAFKA_BROKERS and that the cluster is up)`));
        }, ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    if (timedOut) promise.then((v) => dispose?.(v), () => undefined);
  }
}

/** The partition count of a topic, with the same bounds (and a clear error when it does not exist). */
export async function topicPartitions(settings: KafkaSettings, topic: string, opts: ReadOptions = {}): Promise<number[]> {
  const timeout = opts.connectTimeoutMs ?? 15_000;
  const admin = await withTimeout(KafkaAdmin.connect(settings, { logger: opts.logger }), timeout, `connect to ${settings.brokers.join(',')}`, (a) => a.close());
  try {
    return (await describeTopic(admin, topic, timeout, settings)).map((p) => p.partition);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

async function describeTopic(admin: KafkaAdmin, topic: string, timeout: number, settings: KafkaSettings): Promise<Array<{ partition: number; earliest: bigint; end: bigint }>> {
  const topics = await withTimeout(admin.listTopics(), timeout, `list topics on ${settings.brokers.join(',')}`);
  if (!topics.includes(topic)) throw new AuditError('topic', `topic "${topic}" does not exist on ${settings.brokers.join(',')} (set --topic)`);
  const rows = await withTimeout(admin.topicOffsets(topic), timeout, `offsets of "${topic}"`);
  if (rows.length === 0) throw new AuditError('topic', `topic "${topic}" has no partitions`);
  return rows;
}

/**
 * Reads the range and hands every record to `handler`, partition by partition in
 * offset order (partitions interleave arbitrarily). Resolves when every partition
 * reached its stop offset.
 */
export async function readRange(settings: KafkaSettings, spec: RangeSpec, handler: RangeHandler, opts: ReadOptions = {}): Promise<RangeResult> {
  const logger = opts.logger ?? silentLogger;
  const timeout = opts.connectTimeoutMs ?? 15_000;
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  const admin = await withTimeout(KafkaAdmin.connect(settings, { logger }), timeout, `connect to ${settings.brokers.join(',')}`, (a) => a.close());
  let ranges: PartitionRange[];
  try {
    const rows = await describeTopic(admin, spec.topic, timeout, settings);
    const wanted = spec.partitions ?? rows.map((r) => r.partition);
    for (const p of wanted) {
      if (!rows.some((r) => r.partition === p)) throw new AuditError('topic', `topic "${spec.topic}" has no partition ${p}`);
    }
    const byTime = async (ts: number) => withTimeout(admin.offsetsForTimestamp(spec.topic, ts), timeout, `offsets of "${spec.topic}" by time`);
    const startAt = typeof spec.from === 'object' && 'timestamp' in spec.from ? await byTime(spec.from.timestamp) : undefined;
    ranges = wanted.map((p) => {
      const row = rows.find((r) => r.partition === p) as { partition: number; earliest: bigint; end: bigint };
      let start = row.earliest;
      if (startAt) start = startAt.get(p) ?? row.end;
      else if (typeof spec.from === 'object' && 'offsets' in spec.from) start = spec.from.offsets.get(p) ?? row.earliest;
      if (start < row.earliest) start = row.earliest;
      const stop = row.end;
      if (start > stop) start = stop;
      return { partition: p, start, stop, earliest: row.earliest, end: row.end };
    });
  } finally {
    await admin.close().catch(() => undefined);
  }
  const result: RangeResult = {
    partitions: ranges,
    records: 0,
    fromEarliest: ranges.every((r) => r.start === r.earliest),
    toEnd: true,
  };
  const stopTime = typeof spec.until === 'object' ? spec.until.timestamp : Infinity;
  handler.begin?.(ranges);
  const pending = new Map<number, bigint>();
  for (const r of ranges) {
    if (r.start < r.stop) pending.set(r.partition, r.stop);
    else handler.partitionDone(r.partition);
  }
  if (pending.size === 0) return result;

  const reader = await withTimeout(
    TopicReader.open(settings, {
      topic: spec.topic,
      partitions: [...pending.keys()],
      from: { offsets: new Map(ranges.map((r) => [r.partition, r.start])) },
      logger,
      maxWaitTimeMs: 250,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxBytes: opts.maxBytes ?? Math.max(10 << 20, pending.size * (opts.maxBytesPerPartition ?? 1 << 20)),
    }),
    timeout,
    `open a reader of "${spec.topic}"`,
    (r) => r.close(),
  );
  const finished = new Set<number>();
  const markDone = (p: number) => {
    if (finished.has(p)) return;
    finished.add(p);
    // Nothing more is wanted from it: stop fetching it (a stop instant is usually
    // found long before the partition's end).
    reader.pause([p]);
    handler.partitionDone(p);
  };
  handler.attach?.({
    pause: (ps) => reader.pause(ps.filter((p) => !finished.has(p))),
    resume: (ps) => reader.resume(ps.filter((p) => !finished.has(p))),
  });
  const checkPositions = () => {
    const positions = reader.positions();
    for (const [p, stop] of pending) if ((positions.get(p) ?? -1n) >= stop) markDone(p);
  };
  let progress = 0;
  let stallTimer: NodeJS.Timeout | undefined;
  try {
    await reader.run(async (batch) => {
      const stop = pending.get(batch.partition);
      if (stop === undefined || finished.has(batch.partition)) return;
      let messages = batch.messages;
      let reached = batch.nextOffset >= stop;
      const cut = messages.findIndex((m) => m.offset >= stop || m.timestamp >= stopTime);
      if (cut >= 0) {
        const range = ranges.find((r) => r.partition === batch.partition) as PartitionRange;
        if (messages[cut].offset < stop) {
          range.stop = messages[cut].offset;
          result.toEnd = false;
        }
        messages = messages.slice(0, cut);
        reached = true;
      }
      progress++;
      result.records += messages.length;
      if (messages.length > 0) await handler.batch(batch.partition, messages);
      if (reached) markDone(batch.partition);
      checkPositions();
    });
    const allDone = reader.waitFor(() => {
      checkPositions();
      return finished.size === pending.size;
    });
    const stalled = new Promise<never>((_, reject) => {
      let last = -1;
      let lastPositions = '';
      stallTimer = setInterval(() => {
        const positions = [...reader.positions()].map(([p, o]) => `${p}:${o}`).join(',');
        if (progress === last && positions === lastPositions) {
          const where = [...pending].map(([p, stop]) => `${p}: ${reader.positions().get(p) ?? '?'}/${stop}`).join(', ');
          reject(new AuditError('stalled', `reading "${spec.topic}" made no progress for ${stallMs} ms (positions ${where})`));
        }
        last = progress;
        lastPositions = positions;
      }, stallMs);
    });
    stalled.catch(() => undefined);
    await Promise.race([allDone, stalled]);
    if (finished.size !== pending.size) {
      await reader.done;
      throw new AuditError('stalled', `the reader of "${spec.topic}" stopped before the end of the range`);
    }
  } finally {
    if (stallTimer) clearInterval(stallTimer);
    await reader.close();
  }
  await reader.done;
  return result;
}

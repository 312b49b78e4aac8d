// read_committed readers with explicit offset control, and the terminating
// "read from these offsets up to the end offsets seen at start" used by catch-up and rebuild.
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from './kafkajs.js';
import { silentLogger, type Logger } from '../log.js';
import type { KafkaSettings } from './config.js';
import { createKafka } from './client.js';
import { KafkaAdmin } from './admin.js';
import { KafkaLayerError, KafkaTimeoutError, mapKafkaError } from './errors.js';

/** One record as read. */
export interface ReadMessage {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** Record headers (when a key repeats, the last value). */
  headers: Record<string, Buffer>;
  /** Record timestamp, ms since the Unix epoch (CreateTime unless the topic says LogAppendTime). */
  timestamp: number;
  /** Producer id the broker stored with the record batch: >= 0 for idempotent/transactional producers, -1 otherwise. */
  producerId: bigint;
  /** Producer epoch of the record batch (bumped when a transactional producer is re-initialized, e.g. by a restart that fences the old one). */
  producerEpoch: number;
  /** True when the record was written inside a transaction. */
  transactional: boolean;
}

/** Records of one partition from one fetch. */
export interface ReadBatch {
  topic: string;
  partition: number;
  messages: ReadMessage[];
  /** Offset to read next on this partition once this batch is processed. */
  nextOffset: bigint;
  /** The partition's high watermark at the fetch. */
  highWatermark: bigint;
}

/** Where a reader starts. Offsets are "next offset to read". */
export type StartPosition =
  | 'earliest'
  | 'end'
  | { timestamp: number }
  | { offsets: ReadonlyMap<number, bigint> | Readonly<Record<number, bigint | number | string>> };

export interface ReaderOptions {
  topic: string;
  /** Partitions to read (manual assignment). Default: every partition of the topic. Not used with `groupId`. */
  partitions?: number[];
  /**
   * Start position. Default 'earliest'. With `offsets`, partitions absent from the map
   * start at the earliest offset. With `groupId`, only 'earliest' | 'end' are allowed
   * and apply to partitions without a committed offset.
   */
  from?: StartPosition;
  /**
   * Group mode: join this consumer group (partitions spread over its members; positions
   * from the group's committed offsets; commit with `commit()`). Without it the reader
   * assigns its partitions itself, in a private group of one that never commits.
   */
  groupId?: string;
  /** Default read_committed: records of open or aborted transactions are never delivered. */
  isolation?: 'read_committed' | 'read_uncommitted';
  logger?: Logger;
  /** Fetch tuning (kafkajs defaults: 1 MiB per partition, 10 MiB per fetch, 5 s max wait, 1 byte min). */
  maxBytesPerPartition?: number;
  maxBytes?: number;
  maxWaitTimeMs?: number;
  minBytes?: number;
}

export type BatchHandler = (batch: ReadBatch) => Promise<void> | void;

function toOffsetMap(offsets: ReadonlyMap<number, bigint> | Readonly<Record<number, bigint | number | string>>): Map<number, bigint> {
  if (offsets instanceof Map) return new Map(offsets);
  return new Map(Object.entries(offsets).map(([p, o]) => [Number(p), BigInt(o as bigint | number | string)]));
}

function headersOf(h: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last === undefined) continue;
    out[k] = typeof last === 'string' ? Buffer.from(last) : last;
  }
  return out;
}

interface BatchContext {
  producerId?: string;
  producerEpoch?: number;
  inTransaction?: boolean;
}

function toReadMessage(m: KafkaMessage): ReadMessage {
  // kafkajs decodes the record batch header into `batchContext` (not in its typings).
  const ctx = (m as unknown as { batchContext?: BatchContext }).batchContext ?? {};
  return {
    offset: BigInt(m.offset),
    key: m.key,
    value: m.value,
    headers: headersOf(m.headers),
    timestamp: Number(m.timestamp),
    producerId: BigInt(ctx.producerId ?? '-1'),
    producerEpoch: ctx.producerEpoch ?? -1,
    transactional: ctx.inTransaction === true,
  };
}

/** A partition assigner that gives the listed partitions to the (single) member of a private group. */
function fixedAssigner(topic: string, partitions: number[]): PartitionAssigner {
  const name = 'LqrFixedAssignment';
  return () => ({
    name,
    version: 1,
    async assign({ members }) {
      const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
      return sorted.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: partitions } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return { name, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

/** Resolve a start position into per-partition offsets. */
export async function resolveStart(admin: KafkaAdmin, topic: string, partitions: number[], from: StartPosition): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  if (from === 'earliest' || from === 'end' || 'offsets' in from) {
    const offsets = await admin.topicOffsets(topic);
    const given = typeof from === 'object' && 'offsets' in from ? toOffsetMap(from.offsets) : undefined;
    for (const p of partitions) {
      const row = offsets.find((o) => o.partition === p);
      if (!row) throw new KafkaLayerError(`topic "${topic}" has no partition ${p}`);
      out.set(p, from === 'end' ? row.end : (given?.get(p) ?? row.earliest));
    }
    return out;
  }
  const byTime = await admin.offsetsForTimestamp(topic, from.timestamp);
  for (const p of partitions) {
    const o = byTime.get(p);
    if (o === undefined) throw new KafkaLayerError(`topic "${topic}" has no partition ${p}`);
    out.set(p, o);
  }
  return out;
}

/**
 * A reader of one topic. Open it, then either `run(handler)` or iterate `batches()`.
 * The handler runs one batch at a time; a batch is acknowledged (position advanced)
 * when the handler returns. A handler that throws stops the reader, and `done`
 * rejects with that error.
 */
export class TopicReader {
  readonly topic: string;
  /** Settles when the reader stops: resolves after close(), rejects on a handler error or a consumer crash. */
  readonly done: Promise<void>;
  private readonly consumer: Consumer;
  private readonly logger: Logger;
  private readonly positionsMap = new Map<number, bigint>();
  private readonly listeners = new Set<() => void>();
  /** Partitions not to fetch (pause/resume); kept here so that a rejoin re-applies them. */
  private readonly pausedSet = new Set<number>();
  private admin: KafkaAdmin | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  private failure: unknown;
  private settle!: { resolve: () => void; reject: (err: unknown) => void };
  /** Internal: messages at or after these offsets are not delivered (readToEnd). */
  stopAt: Map<number, bigint> | undefined;

  private constructor(
    private readonly settings: KafkaSettings,
    private readonly opts: ReaderOptions,
    readonly partitions: number[] | undefined,
    private readonly startOffsets: Map<number, bigint> | undefined,
  ) {
    this.topic = opts.topic;
    this.logger = (opts.logger ?? silentLogger).child({ topic: opts.topic });
    const kafka = createKafka(settings, { logger: this.logger });
    const manual = opts.groupId === undefined;
    this.consumer = kafka.consumer({
      groupId: opts.groupId ?? `lqr-reader-${randomUUID()}`,
      partitionAssigners: manual ? [fixedAssigner(opts.topic, partitions ?? [])] : undefined,
      readUncommitted: opts.isolation === 'read_uncommitted',
      allowAutoTopicCreation: false,
      maxBytesPerPartition: opts.maxBytesPerPartition,
      maxBytes: opts.maxBytes,
      maxWaitTimeInMs: opts.maxWaitTimeMs,
      minBytes: opts.minBytes,
    });
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // observed through `done` or run()/batches()
    const { END_BATCH_PROCESS, CRASH, GROUP_JOIN } = this.consumer.events;
    if (startOffsets) for (const [p, o] of startOffsets) this.positionsMap.set(p, o);
    // Manual assignment: after every (re)join of the private group, which has no
    // committed offsets, put each partition where this reader is (its start, or as
    // far as batches were handled, or where seek() said). The seeks are applied
    // before the first fetch of the new generation.
    if (manual) {
      this.consumer.on(GROUP_JOIN, () => {
        for (const [partition, offset] of this.positionsMap) this.consumer.seek({ topic: this.topic, partition, offset: offset.toString() });
      });
    }
    // A consumer restarted after a crash has a new group state without the pauses:
    // re-apply them (before the first fetch of the new generation, like the seeks).
    this.consumer.on(GROUP_JOIN, () => this.applyPauses());
    // Batches that held only control records (transaction markers) or aborted records
    // never reach the handler; this event still moves the position past them.
    this.consumer.on(END_BATCH_PROCESS, (e) => {
      if (e.payload.topic !== this.topic || this.failure !== undefined) return;
      this.advance(e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
    });
    this.consumer.on(CRASH, (e) => {
      if (!e.payload.restart) this.fail(mapKafkaError('consume', e.payload.error));
    });
  }

  /** Open a reader: resolves partitions and start offsets and connects; reading starts with run() or batches(). */
  static async open(settings: KafkaSettings, opts: ReaderOptions): Promise<TopicReader> {
    const from = opts.from ?? 'earliest';
    if (opts.groupId !== undefined) {
      if (from !== 'earliest' && from !== 'end') throw new KafkaLayerError('a group reader starts from "earliest" or "end" (then from its committed offsets)');
      const reader = new TopicReader(settings, opts, undefined, undefined);
      await reader.connect();
      return reader;
    }
    const admin = await KafkaAdmin.connect(settings, { logger: opts.logger });
    try {
      const all = (await admin.topicOffsets(opts.topic)).map((p) => p.partition);
      if (all.length === 0) throw new KafkaLayerError(`topic "${opts.topic}" does not exist or has no partitions`);
      const partitions = opts.partitions ? [...opts.partitions] : all;
      for (const p of partitions) if (!all.includes(p)) throw new KafkaLayerError(`topic "${opts.topic}" has no partition ${p}`);
      const start = await resolveStart(admin, opts.topic, partitions, from);
      const reader = new TopicReader(settings, opts, partitions, start);
      reader.admin = admin;
      await reader.connect();
      return reader;
    } catch (err) {
      await admin.close().catch(() => undefined);
      throw err;
    }
  }

  private async connect(): Promise<void> {
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [this.topic], fromBeginning: (this.opts.from ?? 'earliest') === 'earliest' });
    } catch (err) {
      await this.consumer.disconnect().catch(() => undefined);
      await this.admin?.close().catch(() => undefined);
      throw mapKafkaError(`open reader of "${this.topic}"`, err);
    }
  }

  /** Next offset to read per partition: the start, then as far as batches were handled (or seeks set). */
  positions(): ReadonlyMap<number, bigint> {
    return new Map(this.positionsMap);
  }

  /** Start reading; resolves once the reader has joined and its start positions are set. */
  async run(handler: BatchHandler): Promise<void> {
    if (this.started) throw new KafkaLayerError('reader already started');
    this.started = true;
    try {
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.onBatch(payload, handler),
      });
    } catch (err) {
      throw mapKafkaError(`start reader of "${this.topic}"`, err);
    }
  }

  /** The same as run(), pulled: each batch is acknowledged when the next one is requested. */
  async *batches(): AsyncGenerator<ReadBatch, void, undefined> {
    const slot: { batch?: ReadBatch; ack?: () => void; wake?: () => void } = {};
    let stopped = false;
    const stop = () => {
      stopped = true;
      slot.wake?.();
    };
    this.done.then(stop, stop);
    await this.run(
      (batch) =>
        new Promise<void>((ack) => {
          slot.batch = batch;
          slot.ack = ack;
          slot.wake?.();
        }),
    );
    try {
      while (true) {
        if (slot.batch === undefined && !stopped) await new Promise<void>((wake) => (slot.wake = wake));
        slot.wake = undefined;
        if (slot.batch !== undefined) {
          const batch = slot.batch;
          slot.batch = undefined;
          yield batch;
          const ack = slot.ack;
          slot.ack = undefined;
          ack?.();
          continue;
        }
        if (stopped) break;
      }
      if (this.failure !== undefined) throw this.failure;
    } finally {
      slot.ack?.();
    }
  }

  /** Read `partition` from `offset` next. */
  seek(partition: number, offset: bigint): void {
    if (!this.started) throw new KafkaLayerError('seek before run(): pass `from` to open() instead');
    this.positionsMap.set(partition, offset);
    try {
      // kafkajs applies it before its next fetch and drops what an earlier fetch of
      // the same partition returns.
      this.consumer.seek({ topic: this.topic, partition, offset: offset.toString() });
    } catch (err) {
      // Between a crash and kafkajs's restart of the consumer there is no group to seek
      // in; in manual mode the next join applies the position, in group mode it is lost.
      if (this.opts.groupId !== undefined) throw mapKafkaError('seek', err);
    }
    this.notify();
  }

  /**
   * Stop fetching these partitions until resume(). Batches already fetched are still
   * handed over (and move the position); nothing is skipped: a paused partition resumes
   * where it was. Before run() the pause is remembered and applied when reading starts.
   */
  pause(partitions: Iterable<number>): void {
    const added: number[] = [];
    for (const p of partitions) {
      if (this.pausedSet.has(p)) continue;
      this.pausedSet.add(p);
      added.push(p);
    }
    if (added.length > 0 && this.started) this.consumerCall('pause', added);
  }

  /** Fetch these partitions again (the ones not paused are ignored). */
  resume(partitions: Iterable<number>): void {
    const removed: number[] = [];
    for (const p of partitions) if (this.pausedSet.delete(p)) removed.push(p);
    if (removed.length > 0 && this.started) this.consumerCall('resume', removed);
  }

  /** Partitions paused now. */
  paused(): number[] {
    return [...this.pausedSet].sort((a, b) => a - b);
  }

  private applyPauses(): void {
    if (this.pausedSet.size > 0) this.consumerCall('pause', [...this.pausedSet]);
  }

  private consumerCall(op: 'pause' | 'resume', partitions: number[]): void {
    try {
      this.consumer[op]([{ topic: this.topic, partitions }]);
    } catch {
      // Before kafkajs has formed its group (run() starting) or between a crash and its
      // restart there is no group to pause in: the next join applies what pausedSet says.
    }
  }

  /** Seek every assigned partition to its first record at or after `timestampMs` (or its end). */
  async seekToTimestamp(timestampMs: number): Promise<void> {
    const offsets = await (await this.adminClient()).offsetsForTimestamp(this.topic, timestampMs);
    for (const p of this.assignedPartitions(offsets)) this.seek(p, offsets.get(p) as bigint);
  }

  /** Seek every assigned partition to its end (last stable offset). */
  async seekToEnd(): Promise<void> {
    const offsets = await (await this.adminClient()).endOffsets(this.topic);
    for (const p of this.assignedPartitions(offsets)) this.seek(p, offsets.get(p) as bigint);
  }

  /** Group mode: commit these next-offsets (default: the current positions). */
  async commit(offsets: ReadonlyMap<number, bigint> = this.positionsMap): Promise<void> {
    if (this.opts.groupId === undefined) throw new KafkaLayerError('commit() needs a group reader (groupId)');
    try {
      await this.consumer.commitOffsets([...offsets].map(([partition, o]) => ({ topic: this.topic, partition, offset: o.toString() })));
    } catch (err) {
      throw mapKafkaError('commit offsets', err);
    }
  }

  /** Stop reading and disconnect. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.consumer.disconnect().catch((err: unknown) => this.logger.warn({ err }, 'consumer disconnect failed'));
      await this.admin?.close().catch(() => undefined);
      if (this.failure !== undefined) this.settle.reject(this.failure);
      else this.settle.resolve();
      this.notify();
    })();
    return this.closing;
  }

  /** Resolves when `predicate` holds (checked after every batch and seek) or the reader stops. */
  waitFor(predicate: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.failure !== undefined) {
          this.listeners.delete(check);
          reject(this.failure);
        } else if (predicate() || this.closing) {
          this.listeners.delete(check);
          resolve();
        }
      };
      this.listeners.add(check);
      check();
    });
  }

  private assignedPartitions(offsets: Map<number, bigint>): number[] {
    const assigned = this.partitions ?? [...this.positionsMap.keys()];
    return assigned.filter((p) => offsets.has(p));
  }

  private async adminClient(): Promise<KafkaAdmin> {
    this.admin ??= await KafkaAdmin.connect(this.settings, { logger: this.opts.logger });
    return this.admin;
  }

  private advance(partition: number, next: bigint): void {
    const cur = this.positionsMap.get(partition);
    if (cur === undefined || next > cur) this.positionsMap.set(partition, next);
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.notify();
    void this.close();
  }

  private async onBatch({ batch }: EachBatchPayload, handler: BatchHandler): Promise<void> {
    if (this.failure !== undefined || this.closing) return;
    const limit = this.stopAt?.get(batch.partition);
    const messages: ReadMessage[] = [];
    for (const m of batch.messages) {
      const rm = toReadMessage(m);
      if (limit !== undefined && rm.offset >= limit) break;
      messages.push(rm);
    }
    const nextOffset = BigInt(batch.lastOffset()) + 1n;
    if (messages.length > 0) {
      try {
        await handler({ topic: batch.topic, partition: batch.partition, messages, nextOffset, highWatermark: BigInt(batch.highWatermark) });
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    this.advance(batch.partition, nextOffset);
  }
}

export interface ReadToEndOptions {
  topic: string;
  /** Start position (default 'earliest'). */
  from?: StartPosition;
  /** Partitions to read (default all). */
  partitions?: number[];
  isolation?: 'read_committed' | 'read_uncommitted';
  logger?: Logger;
  /** Give up (KafkaTimeoutError) if the end is not reached in this time; default: no bound. */
  timeoutMs?: number;
  maxBytesPerPartition?: number;
}

export interface ReadToEndResult {
  /** The end offsets observed at start (last stable offsets): everything below them was handed over. */
  endOffsets: Map<number, bigint>;
  /** Records handed to the handler. */
  records: number;
}

/**
 * Read a topic from a start position up to the end offsets observed when the call
 * starts, then stop. Records written after that are not delivered. With
 * read_committed (default), the end offset of a partition is its last stable offset,
 * so a transaction still open at the start is excluded entirely — and so is one
 * whose commit has returned but whose markers are not written yet (a few ms; see
 * TransactionalProducer.settle()).
 */
export async function readToEnd(settings: KafkaSettings, opts: ReadToEndOptions, handler: BatchHandler): Promise<ReadToEndResult> {
  const admin = await KafkaAdmin.connect(settings, { logger: opts.logger });
  let ends: Map<number, bigint>;
  let starts: Map<number, bigint>;
  try {
    ends = await admin.endOffsets(opts.topic);
    if (ends.size === 0) throw new KafkaLayerError(`topic "${opts.topic}" does not exist or has no partitions`);
    const partitions = opts.partitions ?? [...ends.keys()];
    for (const p of partitions) if (!ends.has(p)) throw new KafkaLayerError(`topic "${opts.topic}" has no partition ${p}`);
    ends = new Map(partitions.map((p) => [p, ends.get(p) as bigint]));
    starts = await resolveStart(admin, opts.topic, partitions, opts.from ?? 'earliest');
  } finally {
    await admin.close();
  }
  const pending = [...ends.keys()].filter((p) => (starts.get(p) as bigint) < (ends.get(p) as bigint));
  let records = 0;
  if (pending.length === 0) return { endOffsets: ends, records };

  const reader = await TopicReader.open(settings, {
    topic: opts.topic,
    partitions: pending,
    from: { offsets: starts },
    isolation: opts.isolation,
    logger: opts.logger,
    maxBytesPerPartition: opts.maxBytesPerPartition,
    maxWaitTimeMs: 500,
  });
  reader.stopAt = ends;
  const reached = () => pending.every((p) => (reader.positions().get(p) ?? -1n) >= (ends.get(p) as bigint));
  let timer: NodeJS.Timeout | undefined;
  try {
    await reader.run(async (batch) => {
      records += batch.messages.length;
      await handler(batch);
    });
    const waiting = reader.waitFor(reached);
    if (opts.timeoutMs !== undefined) {
      const timeoutMs = opts.timeoutMs;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const where = pending.map((p) => `${p}: ${reader.positions().get(p) ?? '?'}/${ends.get(p)}`).join(', ');
          reject(new KafkaTimeoutError(`reading "${opts.topic}" to its end offsets did not finish in ${timeoutMs} ms (positions ${where})`));
        }, timeoutMs);
      });
      await Promise.race([waiting, timeout]);
    } else {
      await waiting;
    }
    if (!reached()) {
      // The reader stopped (closed from outside or failed) before reaching the end.
      await reader.done;
      throw new KafkaLayerError(`reader of "${opts.topic}" stopped before reaching its end offsets`);
    }
  } finally {
    if (timer) clearTimeout(timer);
    await reader.close();
  }
  await reader.done;
  return { endOffsets: ends, records };
}

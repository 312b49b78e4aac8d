// The transactional producer: one transactional id per producing instance, one
// Kafka transaction per batch, idempotent with acks=all.
import type { CompressionTypes as CompressionType, Kafka, Message, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import { CompressionTypes, Partitioners } from './kafkajs.js';
import { silentLogger, type Logger } from '../log.js';
import type { KafkaSettings } from './config.js';
import { createKafka } from './client.js';
import {
  KafkaLayerError,
  ProducerFencedError,
  TransactionAbortedError,
  TransactionOutcomeUnknownError,
  isFencingError,
  mapKafkaError,
} from './errors.js';

/** One record to write. */
export interface ProducerRecord {
  topic: string;
  /** Partitioning key (murmur2 like the Java client: the same key always maps to the same partition). */
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Explicit partition (normally unset: the key decides). */
  partition?: number;
  /** Record timestamp (CreateTime), ms since the Unix epoch; default: the producer's clock at send. */
  timestamp?: number;
}

export interface CommittedPartition {
  topic: string;
  partition: number;
  /** Offset of the first record this transaction wrote to the partition. */
  baseOffset: bigint;
}

export interface CommitResult {
  records: number;
  partitions: CommittedPartition[];
}

export interface TransactionalProducerOptions {
  /** Unique per producing instance and stable across its restarts (a restart fences the old one). */
  transactionalId: string;
  logger?: Logger;
  /** transaction.timeout.ms: the coordinator aborts a transaction left open longer (default 60 s). */
  transactionTimeoutMs?: number;
  /** Produce requests in flight per broker connection (default 1, as idempotence wants). */
  maxInFlightRequests?: number;
  /**
   * Records of one transaction are sent in chunks of at most this many bytes of keys,
   * values and headers (default 900 kB), which keeps each partition's record batch
   * under the broker's default message.max.bytes (1 MiB). All chunks are in the same
   * transaction.
   */
  maxRequestBytes?: number;
  /** Record-batch compression (kafkajs has gzip built in). Default none. */
  compression?: 'none' | 'gzip';
  /** Broker-side ack timeout of each produce request (default settings.requestTimeoutMs). */
  ackTimeoutMs?: number;
}

/**
 * What a transaction body can do: queue records, all committed or aborted together.
 * Queued records go to the brokers when the body returns (one produce request per
 * broker and chunk), or earlier on `flush()`, which a body writing very many
 * records uses to bound its memory. If the body throws after a flush, the
 * transaction is aborted: the flushed records stay in the log, marked aborted, and
 * read_committed readers never see them.
 */
export interface Transaction {
  /** Queue records for one topic. */
  send(topic: string, messages: ReadonlyArray<Omit<ProducerRecord, 'topic'>>): void;
  /** Queue records (each names its topic). */
  add(records: ProducerRecord | ReadonlyArray<ProducerRecord>): void;
  /** Send the queued records now, inside the (still open) transaction. */
  flush(): Promise<void>;
  /** Records queued or flushed so far. */
  readonly size: number;
}

/** The producer's fixed delivery settings (what the broker is asked for). */
export interface ProducerDescription {
  transactionalId: string;
  idempotent: true;
  acks: 'all';
  maxInFlightRequests: number;
  transactionTimeoutMs: number;
  maxRequestBytes: number;
  compression: 'none' | 'gzip';
}

function recordBytes(r: ProducerRecord): number {
  let n = 64;
  if (r.key) n += Buffer.byteLength(r.key);
  if (r.value) n += Buffer.byteLength(r.value);
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) n += k.length + Buffer.byteLength(v) + 8;
  return n;
}

function toKafkaMessage(r: ProducerRecord): Message {
  const m: Message = { value: r.value };
  if (r.key !== undefined) m.key = r.key;
  if (r.headers) m.headers = r.headers;
  if (r.partition !== undefined) m.partition = r.partition;
  if (r.timestamp !== undefined) m.timestamp = String(Math.trunc(r.timestamp));
  return m;
}

/** Records grouped by topic, in chunks of at most `maxBytes` (a record larger than that goes alone). */
function chunkRecords(records: ReadonlyArray<ProducerRecord>, maxBytes: number): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const flush = () => {
    if (current.size === 0) return;
    chunks.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const r of records) {
    const size = recordBytes(r);
    if (bytes > 0 && bytes + size > maxBytes) flush();
    let list = current.get(r.topic);
    if (!list) current.set(r.topic, (list = []));
    list.push(toKafkaMessage(r));
    bytes += size;
  }
  flush();
  return chunks;
}

function summarize(meta: RecordMetadata[], records: number): CommitResult {
  // kafkajs reports one RecordMetadata per partition per produce request.
  const perPartition = new Map<string, CommittedPartition>();
  for (const m of meta) {
    const id = `${m.topicName}\u0000${m.partition}`;
    const base = BigInt(m.baseOffset ?? m.offset ?? '-1');
    const prev = perPartition.get(id);
    if (!prev) perPartition.set(id, { topic: m.topicName, partition: m.partition, baseOffset: base });
    else if (base < prev.baseOffset) prev.baseOffset = base;
  }
  const result: CommitResult = { records, partitions: [...perPartition.values()] };
  result.partitions.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return result;
}

type KafkaTransaction = Awaited<ReturnType<Producer['transaction']>>;

class QueuedTransaction implements Transaction {
  private queued: ProducerRecord[] = [];
  private count = 0;
  closed = false;
  /** The kafkajs transaction, begun at the first send to the brokers. */
  kafkaTx: KafkaTransaction | undefined;
  readonly meta: RecordMetadata[] = [];

  /** The first send failure (the transaction can then only be aborted). */
  sendFailure: KafkaLayerError | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly maxRequestBytes: number,
    private readonly compression: CompressionType,
    private readonly ackTimeoutMs: number,
    /** Turns a kafkajs send error into this layer's error (and records fencing). */
    private readonly onSendError: (err: unknown) => KafkaLayerError,
  ) {}

  send(topic: string, messages: ReadonlyArray<Omit<ProducerRecord, 'topic'>>): void {
    this.guard();
    for (const m of messages) this.queued.push({ ...m, topic });
    this.count += messages.length;
  }

  add(records: ProducerRecord | ReadonlyArray<ProducerRecord>): void {
    this.guard();
    const list: ReadonlyArray<ProducerRecord> = Array.isArray(records) ? records : [records as ProducerRecord];
    this.queued.push(...list);
    this.count += list.length;
  }

  get size(): number {
    return this.count;
  }

  async flush(): Promise<void> {
    if (this.sendFailure) throw this.sendFailure;
    if (this.queued.length === 0) return;
    const records = this.queued;
    this.queued = [];
    try {
      this.kafkaTx ??= await this.producer.transaction();
      for (const topicMessages of chunkRecords(records, this.maxRequestBytes)) {
        this.meta.push(...(await this.kafkaTx.sendBatch({ topicMessages, acks: -1, timeout: this.ackTimeoutMs, compression: this.compression })));
      }
    } catch (err) {
      this.sendFailure = this.onSendError(err);
      throw this.sendFailure;
    }
  }

  private guard(): void {
    if (this.closed) throw new KafkaLayerError('records added to a transaction after it ended');
  }
}

/**
 * A transactional, idempotent (acks=all) producer. `connect()` registers the
 * transactional id with the coordinator, which fences any older instance using the
 * same id: that one's next transaction fails with ProducerFencedError. Transactions
 * run one at a time (calls queue up).
 */
export class TransactionalProducer {
  readonly transactionalId: string;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly opts: Required<Omit<TransactionalProducerOptions, 'logger' | 'transactionalId'>>;
  private producer: Producer | undefined;
  private needsReinit = false;
  private fencedError: ProducerFencedError | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(settings: KafkaSettings, options: TransactionalProducerOptions) {
    if (!options.transactionalId) throw new KafkaLayerError('a transactional producer needs a transactionalId');
    this.transactionalId = options.transactionalId;
    this.logger = (options.logger ?? silentLogger).child({ transactionalId: options.transactionalId });
    // The transaction coordinator answers the first AddPartitionsToTxn after a commit with
    // CONCURRENT_TRANSACTIONS until it has written the markers (a few ms); kafkajs retries
    // that with the client-level retry, whose 100 ms default would cost every transaction.
    this.kafka = createKafka(settings, { logger: this.logger, initialRetryTimeMs: 10 });
    this.opts = {
      transactionTimeoutMs: options.transactionTimeoutMs ?? 60_000,
      maxInFlightRequests: options.maxInFlightRequests ?? 1,
      maxRequestBytes: options.maxRequestBytes ?? 900_000,
      compression: options.compression ?? 'none',
      ackTimeoutMs: options.ackTimeoutMs ?? settings.requestTimeoutMs,
    };
  }

  /** Create, connect and initialize (fencing older instances with the same transactional id). */
  static async connect(settings: KafkaSettings, options: TransactionalProducerOptions): Promise<TransactionalProducer> {
    const p = new TransactionalProducer(settings, options);
    await p.init();
    return p;
  }

  describe(): ProducerDescription {
    return {
      transactionalId: this.transactionalId,
      idempotent: true,
      acks: 'all',
      maxInFlightRequests: this.opts.maxInFlightRequests,
      transactionTimeoutMs: this.opts.transactionTimeoutMs,
      maxRequestBytes: this.opts.maxRequestBytes,
      compression: this.opts.compression,
    };
  }

  /** True once a newer instance has fenced this one (it can no longer produce). */
  get fenced(): boolean {
    return this.fencedError !== undefined;
  }

  /**
   * Run `body`, which queues records on the transaction, then write them in one Kafka
   * transaction and commit. If `body` throws, the transaction is aborted (nothing was
   * sent unless it flushed) and its error is rethrown. If sending fails, the
   * transaction is aborted: TransactionAbortedError. If the commit's outcome is
   * unknown: TransactionOutcomeUnknownError. If a newer instance with the same
   * transactional id exists: ProducerFencedError (now and for every later call).
   */
  async transact<T>(body: (tx: Transaction) => T | Promise<T>): Promise<{ value: T; commit: CommitResult }> {
    return this.serialized(() => this.runTransaction(body));
  }

  /** Write these records in one transaction and commit (or abort and throw). */
  async commitBatch(records: ReadonlyArray<ProducerRecord>): Promise<CommitResult> {
    if (records.length === 0) return { records: 0, partitions: [] };
    const { commit } = await this.serialized(() => this.runTransaction((tx) => tx.add(records)));
    return commit;
  }

  /**
   * Wait until this producer's last transaction is complete on every partition it
   * touched. A commit returns once the coordinator has recorded the decision; the
   * commit markers, which make the records visible to read_committed readers (and
   * move the end offsets), follow a few milliseconds later. This re-initializes the
   * producer id, which the coordinator answers only when no transaction of this id
   * is still completing. (connect() gives the same guarantee about the transactions
   * of an earlier instance with the same id: a restarted connector that reads its
   * resume point after connect() sees its last commit.)
   */
  async settle(): Promise<void> {
    await this.serialized(async () => {
      this.needsReinit = true;
      await this.usableProducer();
    });
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.disconnect().catch((err: unknown) => this.logger.warn({ err }, 'producer disconnect failed'));
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async init(): Promise<void> {
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: this.opts.maxInFlightRequests,
      transactionTimeout: this.opts.transactionTimeoutMs,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // Short first back-off: right after a commit the coordinator is still writing the
      // markers, and the next transaction's AddPartitionsToTxn gets CONCURRENT_TRANSACTIONS
      // until it is done (a few ms). kafkajs's 300 ms default would throttle every
      // transaction. Retries are bounded (~15 s); after a failed send the producer
      // re-initializes (new epoch, sequences from 0), so a bound cannot cause duplicates.
      retry: { retries: 15, initialRetryTime: 10, maxRetryTime: 2_000, factor: 0.2, multiplier: 2 },
    });
    try {
      await producer.connect();
      // InitProducerId happens on the first transaction; an empty one sends nothing
      // else. This is the moment an older instance with the same id is fenced.
      const tx = await producer.transaction();
      await tx.abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw mapKafkaError(`initialize transactional producer "${this.transactionalId}"`, err);
    }
    this.producer = producer;
    this.needsReinit = false;
    this.logger.debug('transactional producer initialized');
  }

  private async usableProducer(): Promise<Producer> {
    if (this.fencedError) throw new ProducerFencedError(this.transactionalId, { cause: this.fencedError });
    if (this.closed) throw new KafkaLayerError(`producer "${this.transactionalId}" is disconnected`);
    if (this.needsReinit || !this.producer) {
      const old = this.producer;
      this.producer = undefined;
      if (old) await old.disconnect().catch(() => undefined);
      await this.init();
    }
    return this.producer as Producer;
  }

  private markFenced(err: unknown): ProducerFencedError {
    const fenced = new ProducerFencedError(this.transactionalId, { cause: err });
    this.fencedError = fenced;
    this.logger.warn('producer fenced by a newer instance with the same transactional id');
    return fenced;
  }

  private async runTransaction<T>(body: (tx: Transaction) => T | Promise<T>): Promise<{ value: T; commit: CommitResult }> {
    const producer = await this.usableProducer();
    const compression = this.opts.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    const tx = new QueuedTransaction(producer, this.opts.maxRequestBytes, compression, this.opts.ackTimeoutMs, (err) => {
      if (isFencingError(err)) return this.markFenced(err);
      // A request that failed may still have been written: its sequence numbers are
      // then used up. A new epoch (re-init before the next transaction) starts afresh.
      this.needsReinit = true;
      return new TransactionAbortedError(this.transactionalId, mapKafkaError('send', err).message, { cause: err });
    });
    let value: T;
    try {
      value = await body(tx);
      tx.closed = true;
      await tx.flush();
    } catch (err) {
      tx.closed = true;
      if (!this.fenced) await this.abortQuietly(tx);
      // A send failure is reported as such (even when the body rethrew it wrapped); a
      // body's own error is rethrown as it is.
      throw tx.sendFailure ?? err;
    }
    if (tx.kafkaTx) {
      try {
        await tx.kafkaTx.commit();
      } catch (err) {
        if (isFencingError(err)) throw this.markFenced(err);
        this.needsReinit = true;
        const mapped = mapKafkaError('commit', err);
        throw new TransactionOutcomeUnknownError(this.transactionalId, mapped.message, { cause: err });
      }
    }
    return { value, commit: summarize(tx.meta, tx.size) };
  }

  /** Abort the transaction if one was begun; a fencing error is raised, others force a re-init. */
  private async abortQuietly(tx: QueuedTransaction): Promise<void> {
    if (!tx.kafkaTx) return;
    try {
      if (tx.kafkaTx.isActive()) await tx.kafkaTx.abort();
    } catch (err) {
      if (isFencingError(err)) throw this.markFenced(err);
      // Unknown state: re-initializing the producer id aborts whatever is left open.
      this.needsReinit = true;
      this.logger.warn({ err }, 'abort failed; the producer will re-initialize');
    }
  }
}

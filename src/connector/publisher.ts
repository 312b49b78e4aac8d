// The publisher: events of every session into Kafka, exactly once in effect.
//
// Each batch is ONE Kafka transaction holding (a) the batch's events on lq.events, each
// linked into its source's integrity chain in queue order, and (b) for every source
// the batch touches, that source's new checkpoint on lq.sources (resume point, chain
// head, learned scopes). A read_committed reader sees both or neither. Only after the
// commit do the in-memory chain heads advance and the queues get their room back; a
// failed transaction ends the publisher with its error (the connector then restarts
// every session from the checkpoints: crash-only recovery).
//
// Encoding (JSON, SHA-256) happens while the previous transaction is in flight: the
// next batch is built incrementally from the queues and goes out the moment the
// previous one commits. Sources are served round-robin, so a busy source never starves
// a quiet one, and the publisher never waits on any single source.
//
// Bulk markers (bulk-started / bulk-complete) are written to EVERY partition of
// lq.events (same value, explicit partition): the projection retires, per partition,
// the source's bindings the resync did not report, so each partition must see the
// markers in order with that source's bindings keyed to it.
import type { ChainHead } from '../events/index.js';
import type { ProducerRecord } from '../kafka/index.js';
import type { Logger } from '../log.js';
import { CHECKPOINT_VERSION, encodeCheckpoint, type SourceCheckpoint } from './checkpoint.js';
import { linkAndEncode } from './encode.js';
import { partitionForKey as partitionOf } from '../kafka/index.js';
import type { PublisherMetrics } from './metrics.js';
import type { SourceQueue } from './queue.js';
import type { LearnedScopes } from './scopes.js';
import type { QueueItem } from './session.js';

/** Where committed batches go: a Kafka transactional producer in production, memory in unit tests. */
export interface TransactionSink {
  /** Write every record in one transaction and commit; throws (and writes nothing visible) otherwise. */
  commit(records: ReadonlyArray<ProducerRecord>): Promise<void>;
  close(): Promise<void>;
}

export interface PublisherOptions {
  sink: TransactionSink;
  eventsTopic: string;
  sourcesTopic: string;
  /** Partition count of lq.events (bulk markers go to each one). */
  eventsPartitions: number;
  maxEvents: number;
  maxBytes: number;
  maxDelayMs: number;
  metrics: PublisherMetrics;
  logger: Logger;
  clock?: () => number;
  /** Called after each commit (the connector's readiness and back-off reset). */
  onCommit?: (events: number) => void;
  /**
   * Partition of lq.sources for the checkpoints (sharing: the work slot, which is also
   * where the key hashes to). Unset: the key decides.
   */
  sourcesPartition?: number;
}

/** What the publisher reads from a source besides its queue. */
export interface PublisherSourceInfo {
  learnedScopes(): LearnedScopes;
  serverDuid(): string | null;
}

interface SourceSlot {
  name: string;
  queue: SourceQueue<QueueItem>;
  info: PublisherSourceInfo;
  /** Head of the chain as committed in Kafka. */
  committed: ChainHead;
  /** Head after the batches built so far (in flight or being built). */
  pending: ChainHead;
}

/** One transaction being built or in flight. */
class Batch {
  readonly records: ProducerRecord[] = [];
  /** Per source: items taken, and the last item's checkpoint state. */
  readonly touched = new Map<SourceSlot, { items: number; last: QueueItem; head: ChainHead }>();
  /** Queue items taken (events and checkpoint-only items). */
  items = 0;
  events = 0;
  bytes = 0;
  startedAt = 0;
  /** receivedAt of each event, for the commit-delay metric. */
  readonly receivedAt: number[] = [];
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class Publisher {
  private readonly slots: SourceSlot[] = [];
  private readonly opts: PublisherOptions;
  private readonly clock: () => number;
  private next = 0;
  private wakeResolve?: () => void;
  private wakeScheduled = false;
  private stopRequested = false;
  private aborted = false;
  private running = false;
  /** Transactions committed so far. */
  committedTransactions = 0;
  committedEvents = 0;

  constructor(opts: PublisherOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? Date.now;
  }

  /** Serve this source's queue; `head` is its chain head as committed (from its checkpoint). */
  addSource(name: string, queue: SourceQueue<QueueItem>, info: PublisherSourceInfo, head: ChainHead): void {
    this.slots.push({ name, queue, info, committed: { ...head }, pending: { ...head } });
    queue.onReadable = () => this.wake();
  }

  /** Committed chain heads by source. */
  heads(): Map<string, ChainHead> {
    return new Map(this.slots.map((s) => [s.name, { ...s.committed }]));
  }

  /** Events waiting in the queues (not yet in a batch). */
  queued(): number {
    let n = 0;
    for (const s of this.slots) n += s.queue.length;
    return n;
  }

  /**
   * Run until stop(): resolves once stopped and every queued event committed; rejects
   * with the sink's error at the first failed transaction.
   */
  async run(): Promise<void> {
    if (this.running) throw new Error('publisher already running');
    this.running = true;
    let building = new Batch();
    let inflight: Promise<void> | undefined;
    let inflightBatch: Batch | undefined;
    let settled = false;
    let failure: unknown;
    try {
      for (;;) {
        if (this.aborted) break;
        this.fill(building);
        if (inflight && settled) {
          if (failure !== undefined) throw failure;
          this.finish(inflightBatch as Batch);
          inflight = undefined;
        }
        if (!inflight && building.items > 0 && this.lingerDone(building)) {
          const batch = building;
          building = new Batch();
          settled = false;
          failure = undefined;
          inflightBatch = batch;
          inflight = this.commit(batch).then(
            () => {
              settled = true;
              this.wake();
            },
            (err: unknown) => {
              settled = true;
              failure = err ?? new Error('transaction failed');
              this.wake();
            },
          );
          continue;
        }
        if (!inflight && building.items === 0 && this.stopRequested && this.queued() === 0) break;
        await this.waitForWork(!inflight && building.items > 0 ? this.opts.maxDelayMs : undefined);
      }
    } finally {
      this.running = false;
      if (inflight) await inflight;
    }
  }

  /** Stop after committing what is queued (sessions must be stopped first so nothing new arrives). */
  stop(): void {
    this.stopRequested = true;
    this.wake();
  }

  /**
   * Stop at once: nothing more is committed (what is queued or being built is dropped;
   * the queues' owner closes them). run() resolves once a transaction in flight settles.
   */
  abort(): void {
    this.aborted = true;
    this.stopRequested = true;
    this.wake();
  }

  private lingerDone(b: Batch): boolean {
    return this.stopRequested || b.events >= this.opts.maxEvents || b.bytes >= this.opts.maxBytes || this.clock() - b.startedAt >= this.opts.maxDelayMs;
  }

  private wake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    // Deferred to the next turn of the loop, so that one socket read's worth of events
    // (many pushes) costs one wake-up.
    setImmediate(() => {
      this.wakeScheduled = false;
      const r = this.wakeResolve;
      this.wakeResolve = undefined;
      r?.();
    });
  }

  private waitForWork(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wakeResolve = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.wakeResolve = undefined;
          resolve();
        }, Math.max(1, timeoutMs));
      }
    });
  }

  /** Take queued items into `b`, round-robin over the sources, within the batch limits. */
  private fill(b: Batch): void {
    const n = this.slots.length;
    if (n === 0) return;
    const { maxEvents, maxBytes } = this.opts;
    for (let round = 0; round < 2 && b.events < maxEvents && b.bytes < maxBytes; round++) {
      let active = 0;
      for (const s of this.slots) if (s.queue.length > 0) active++;
      if (active === 0) return;
      // First round: a fair share each; second round: whatever room is left.
      const share = round === 0 ? Math.max(1, Math.ceil((maxEvents - b.events) / active)) : maxEvents;
      for (let i = 0; i < n && b.events < maxEvents && b.bytes < maxBytes; i++) {
        const s = this.slots[(this.next + i) % n];
        let taken = 0;
        while (taken < share && b.events < maxEvents && b.bytes < maxBytes) {
          const item = s.queue.takeOne();
          if (item === undefined) break;
          this.add(b, s, item);
          taken++;
        }
      }
      this.next = (this.next + 1) % n;
    }
  }

  private add(b: Batch, s: SourceSlot, item: QueueItem): void {
    if (b.items++ === 0) b.startedAt = this.clock();
    const t = b.touched.get(s);
    if (t) {
      t.items++;
      t.last = item;
    } else {
      b.touched.set(s, { items: 1, last: item, head: s.pending });
    }
    const e = item.event;
    if (e === null) return;
    const enc = linkAndEncode(e, s.pending);
    s.pending = enc.head;
    (b.touched.get(s) as { head: ChainHead }).head = enc.head;
    const { eventsTopic } = this.opts;
    if (e.type === 'source' && (e.kind === 'bulk-started' || e.kind === 'bulk-complete')) {
      for (let p = 0; p < this.opts.eventsPartitions; p++) b.records.push({ topic: eventsTopic, key: enc.key, value: enc.value, headers: enc.headers, partition: p });
    } else {
      b.records.push({ topic: eventsTopic, key: enc.key, value: enc.value, headers: enc.headers, partition: partitionOf(enc.key, this.opts.eventsPartitions) });
    }
    b.events++;
    b.bytes += enc.value.length;
    b.receivedAt.push(item.receivedAt);
  }

  private checkpointRecords(b: Batch): ProducerRecord[] {
    const now = this.clock();
    const out: ProducerRecord[] = [];
    for (const [s, t] of b.touched) {
      const cp: SourceCheckpoint = {
        version: CHECKPOINT_VERSION,
        source: s.name,
        resumePoint: t.last.resumePoint,
        chainHead: { seq: t.head.seq, hash: t.head.hash },
        learnedScopes: s.info.learnedScopes(),
        initialLoadDone: t.last.initialLoadDone,
        serverDuid: s.info.serverDuid(),
        updatedAt: now,
      };
      const { key, value } = encodeCheckpoint(cp);
      const r: ProducerRecord = { topic: this.opts.sourcesTopic, key, value };
      if (this.opts.sourcesPartition !== undefined) r.partition = this.opts.sourcesPartition;
      out.push(r);
    }
    return out;
  }

  private async commit(b: Batch): Promise<void> {
    // Let the loop run the sessions once before the (synchronous) record hand-over.
    await yieldToLoop();
    const records = b.records.concat(this.checkpointRecords(b));
    const t0 = performance.now();
    try {
      await this.opts.sink.commit(records);
    } catch (err) {
      this.opts.metrics.transaction('failed', (performance.now() - t0) / 1000, b.events, b.bytes);
      this.opts.logger.error({ err: err instanceof Error ? err.message : String(err), events: b.events }, 'Kafka transaction failed');
      throw err;
    }
    this.opts.metrics.transaction('committed', (performance.now() - t0) / 1000, b.events, b.bytes);
  }

  /** After a commit: the chain heads are now durable, the queues get their room back. */
  private finish(b: Batch): void {
    const now = this.clock();
    for (const [s, t] of b.touched) {
      s.committed = t.head;
      s.queue.release(t.items);
      this.opts.metrics.queueDepth(s.name, s.queue.used);
    }
    for (const r of b.receivedAt) this.opts.metrics.commitDelay((now - r) / 1000);
    this.committedTransactions++;
    this.committedEvents += b.events;
    this.opts.onCommit?.(b.events);
  }
}

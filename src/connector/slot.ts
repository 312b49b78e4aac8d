// One unit of work of the connector: a set of sources served under ONE transactional
// producer, with the crash-only supervision around them. Without sharing the connector
// has one worker for every source (transactional id "lqr-connector-<id>"); with sharing
// it has one per work slot it owns ("lqr-connector-<group>-<slot>").
//
// An epoch: connect the producer (fencing any older holder of the transactional id and
// ending the transaction it left open), read the checkpoints (read_committed), start the
// publisher and one session per source from its checkpoint. Any Kafka failure other
// than fencing ends the epoch: sessions are stopped, queued and in-flight events are
// dropped, and after a back-off a new epoch starts from the checkpoints. Fencing ends
// the worker with ProducerFencedError (its owner decides what that means).
//
// Stopping: stop() is graceful (sessions close, their last events and what is queued
// commit, bounded); revoke() is quick (a slot that moved to another instance: queues
// dropped, no further commit, the producer closed in the background; the new owner's
// producer initialization aborts whatever was left open).
import type { ConnectorConfig, SourceConfig } from '../config/index.js';
import { ProducerFencedError } from '../kafka/index.js';
import type { Logger } from '../log.js';
import { Backoff } from './backoff.js';
import { emptyCheckpoint, type SourceCheckpoint } from './checkpoint.js';
import type { ConnectorMetrics, PublisherMetrics } from './metrics.js';
import { Publisher, type TransactionSink } from './publisher.js';
import { SourceQueue, type QueueBudget } from './queue.js';
import type { Connect } from './requestor.js';
import { SourceSession, type QueueItem } from './session.js';

/** How long graceful stop waits for the last events to commit before giving up on them. */
export const STOP_DRAIN_MS = 15_000;

export interface SlotWorkerOptions {
  /** Work slot (sharing), or undefined: this worker serves every configured source. */
  slot?: number;
  sources: readonly SourceConfig[];
  cfg: ConnectorConfig;
  connectSink: () => Promise<TransactionSink>;
  loadCheckpoints: () => Promise<Map<string, SourceCheckpoint>>;
  /** Partition count of lq.events (looked up once per process, before any worker starts). */
  eventsPartitions: () => Promise<number>;
  connect: Connect;
  metrics: ConnectorMetrics;
  publisherMetrics: PublisherMetrics;
  budget: QueueBudget;
  logger: Logger;
  clock: () => number;
  random?: () => number;
  /**
   * May the producer be (re)initialized now? Sharing: only while the group membership
   * is current, so that an instance the group dropped cannot fence the slot's new owner.
   */
  mayConnect?: () => boolean;
  /** After each epoch's sessions have started. */
  onStarted?: (epoch: number, checkpoints: Map<string, SourceCheckpoint>) => void;
  /** Kafka answered (a commit, or a successful start-up) or failed. */
  onKafka?: (ok: boolean) => void;
}

export class SlotWorker {
  readonly slot: number | undefined;
  readonly sources: readonly SourceConfig[];
  sessions: SourceSession[] = [];
  queues: SourceQueue<QueueItem>[] = [];
  kafkaOk = false;
  checkpointsLoaded = false;
  epochs = 0;
  private readonly o: SlotWorkerOptions;
  private readonly log: Logger;
  private stopping = false;
  private quick = false;
  private stopSignal?: () => void;
  private running?: Promise<void>;

  constructor(opts: SlotWorkerOptions) {
    this.o = opts;
    this.slot = opts.slot;
    this.sources = opts.sources;
    this.log = opts.slot === undefined ? opts.logger : opts.logger.child({ slot: opts.slot });
  }

  /** Supervise until stopped; rejects with ProducerFencedError when another holder of the id took over. */
  run(): Promise<void> {
    this.running ??= this.superviseLoop();
    return this.running;
  }

  /** Graceful: sessions close, what is queued is committed (bounded), the producer disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal?.();
    await this.running?.catch(() => undefined);
  }

  /** Quick: the slot moved away. Resolves once the sessions are closed (the producer closes in the background). */
  async revoke(): Promise<void> {
    this.quick = true;
    this.stopping = true;
    this.stopSignal?.();
    await this.running?.catch(() => undefined);
  }

  get stopped(): boolean {
    return this.stopping;
  }

  private async superviseLoop(): Promise<void> {
    const backoff = new Backoff(this.o.cfg.session.backoff, this.o.random);
    while (!this.stopping) {
      try {
        await this.waitUntilConnectAllowed();
        if (this.stopping) break;
        this.epochs++;
        await this.runEpoch(() => backoff.reset());
        if (this.stopping) break;
        throw new Error('publisher ended without a stop request');
      } catch (err) {
        this.setKafka(false);
        if (err instanceof ProducerFencedError) throw err;
        if (this.stopping) break;
        const reason = err instanceof Error ? err.name : 'error';
        this.o.publisherMetrics.epochRestart(reason);
        const delay = backoff.next();
        this.log.error({ err: err instanceof Error ? err.message : String(err), delayMs: delay, epoch: this.epochs }, 'Kafka failure: restarting every session from the checkpoints');
        await this.pause(delay);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.stopSignal = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  private async waitUntilConnectAllowed(): Promise<void> {
    const may = this.o.mayConnect;
    if (!may) return;
    let logged = false;
    while (!this.stopping && !may()) {
      if (!logged) this.log.warn('group membership not current: waiting before initializing the producer');
      logged = true;
      await this.pause(200);
    }
  }

  private setKafka(ok: boolean): void {
    this.kafkaOk = ok;
    this.o.onKafka?.(ok);
  }

  private async runEpoch(onCommit: () => void): Promise<void> {
    this.setKafka(false);
    this.checkpointsLoaded = false;
    const eventsPartitions = await this.o.eventsPartitions();
    const sink = await this.o.connectSink();
    let publisher: Publisher | undefined;
    let closeInBackground = false;
    try {
      const checkpoints = await this.o.loadCheckpoints();
      this.checkpointsLoaded = true;
      this.setKafka(true);
      if (this.stopping) return;
      publisher = this.startSessions(sink, checkpoints, eventsPartitions, onCommit);
      this.o.onStarted?.(this.epochs, checkpoints);
      const run = publisher.run();
      run.catch(() => undefined);
      const stopped = new Promise<void>((r) => (this.stopSignal = r));
      // Either the publisher fails (Kafka), or a stop is requested.
      const first = await Promise.race([run.then(() => 'ended' as const), stopped.then(() => 'stop' as const)]);
      if (first === 'stop' && this.quick) {
        publisher.abort();
        closeInBackground = true;
      } else if (first === 'stop') await this.drainAndStop(publisher, run);
      else await run;
    } finally {
      await this.stopSessions();
      if (closeInBackground) void sink.close().catch((err: unknown) => this.log.warn({ err }, 'producer close failed'));
      else await sink.close().catch((err: unknown) => this.log.warn({ err }, 'producer close failed'));
    }
  }

  private startSessions(sink: TransactionSink, checkpoints: Map<string, SourceCheckpoint>, eventsPartitions: number, onCommit: () => void): Publisher {
    const { kafka, batch, session } = this.o.cfg;
    const publisher = new Publisher({
      sink,
      eventsTopic: kafka.topics.events.name,
      sourcesTopic: kafka.topics.sources.name,
      eventsPartitions,
      maxEvents: batch.maxEvents,
      maxBytes: batch.maxBytes,
      maxDelayMs: batch.maxDelayMs,
      metrics: this.o.publisherMetrics,
      logger: this.log.child({ component: 'publisher' }),
      clock: this.o.clock,
      sourcesPartition: this.slot,
      onCommit: () => {
        this.setKafka(true);
        onCommit();
      },
    });
    const requestorDuid = this.o.cfg.requestorDuid ? Buffer.from(this.o.cfg.requestorDuid, 'hex') : undefined;
    this.queues = [];
    this.sessions = this.sources.map((source) => {
      const cp = checkpoints.get(source.name) ?? emptyCheckpoint(source.name);
      const queue = new SourceQueue<QueueItem>(batch.sourceQueue, this.o.budget);
      const s = new SourceSession({
        source,
        session,
        requestorDuid,
        start: cp,
        queue,
        connect: this.o.connect,
        logger: this.o.logger.child({ source: source.name }),
        metrics: this.o.metrics.forSource(source.name),
        clock: this.o.clock,
        random: this.o.random,
      });
      publisher.addSource(source.name, queue, { learnedScopes: () => s.scopes.learned(), serverDuid: () => s.serverDuid }, cp.chainHead);
      this.queues.push(queue);
      return s;
    });
    const withCheckpoint = this.sources.filter((s) => checkpoints.has(s.name)).length;
    this.log.info({ epoch: this.epochs, sources: this.sessions.length, withCheckpoint }, 'starting source sessions');
    for (const s of this.sessions) s.start();
    return publisher;
  }

  /** Graceful: close the sessions (their last events queue), commit what is queued, within a bound. */
  private async drainAndStop(publisher: Publisher, run: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), STOP_DRAIN_MS)));
    try {
      const sessionsDone = Promise.all(this.sessions.map((s) => s.stop()));
      if ((await Promise.race([sessionsDone.then(() => 'ok' as const), bound])) === 'timeout') {
        this.log.warn('sessions did not close in time (Kafka slow?): dropping their queued events');
        return;
      }
      publisher.stop();
      if ((await Promise.race([run.then(() => 'ok' as const), bound])) === 'timeout') {
        this.log.warn(`the last events were not committed within ${STOP_DRAIN_MS} ms: they will be read again from the sources`);
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async stopSessions(): Promise<void> {
    // Closing the queues first releases sessions blocked on a full one.
    const reason = this.quick ? 'work slot moved to another instance' : 'connector epoch ended';
    for (const q of this.queues) q.close(reason);
    await Promise.all(this.sessions.map((s) => s.stop()));
  }
}

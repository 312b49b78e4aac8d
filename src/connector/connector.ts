// The connector: one session per configured source, one publisher, and the
// crash-only supervision around them.
//
// An epoch: connect the producer (fencing any older instance with our transactional
// id), read every checkpoint from lq.sources (read_committed), start the publisher
// and one session per source from its checkpoint. Any Kafka failure other than
// fencing ends the epoch: sessions are stopped, queued and in-flight events are
// dropped, and after a back-off a new epoch starts from the checkpoints, so every
// session catches up from its committed resume point (duplicates are harmless; the
// chain continues from the committed head). Fencing means another instance owns the
// id: the connector stops with ProducerFencedError.
import type { ConnectorConfig } from '../config/index.js';
import { ProducerFencedError } from '../kafka/index.js';
import type { Logger } from '../log.js';
import type { ProbeResult, Registry } from '../metrics/index.js';
import { Backoff } from './backoff.js';
import { emptyCheckpoint, type CheckpointLoader, type SourceCheckpoint } from './checkpoint.js';
import { ConnectorMetrics, type PublisherMetrics } from './metrics.js';
import { Publisher, type TransactionSink } from './publisher.js';
import { QueueBudget, SourceQueue } from './queue.js';
import type { Connect } from './requestor.js';
import { SourceSession, type QueueItem } from './session.js';
import { WAITING_STATES, type SessionState } from './states.js';

export interface ConnectorDeps {
  /** Connect the transactional producer (fences older instances). */
  connectSink: () => Promise<TransactionSink>;
  loadCheckpoints: CheckpointLoader;
  /** Create or verify the topics; the partition count of lq.events. */
  prepareTopics: () => Promise<{ eventsPartitions: number }>;
  connect: Connect;
  registry: Registry;
  logger: Logger;
  clock?: () => number;
  random?: () => number;
}

export interface SourceStatus {
  name: string;
  state: SessionState;
  resumePoint: number | null;
  serverDuid: string | null;
  queued: number;
  lastError?: string;
  stuck: boolean;
}

/** How long graceful stop waits for the last events to commit before giving up on them. */
const STOP_DRAIN_MS = 15_000;

export class Connector {
  private readonly cfg: ConnectorConfig;
  private readonly deps: ConnectorDeps;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly metrics: ConnectorMetrics;
  private readonly publisherMetrics: PublisherMetrics;
  private readonly stuckAfterMs: number;
  private sessions: SourceSession[] = [];
  private queues: SourceQueue<QueueItem>[] = [];
  private publisher?: Publisher;
  private stopping = false;
  private stopSignal?: () => void;
  private supervise?: Promise<void>;
  private fencedError?: ProducerFencedError;
  private kafkaOk = false;
  private checkpointsLoaded = false;
  private epochs = 0;
  /** Partition count of lq.events (looked up once per process). */
  private eventsPartitions?: number;

  constructor(cfg: ConnectorConfig, deps: ConnectorDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.log = deps.logger;
    this.clock = deps.clock ?? Date.now;
    this.metrics = new ConnectorMetrics(deps.registry, this.clock);
    this.publisherMetrics = this.metrics.publisher();
    const s = cfg.session;
    this.stuckAfterMs = s.stuckAfterMs ?? Math.max(s.activeRcvTimeoutMs, s.bulkDataTimeoutMs) + 60_000;
    deps.registry.onCollect(() => {
      const pm = this.publisherMetrics;
      this.queues.forEach((q, i) => pm.queueDepth(this.cfg.sources[i].name, q.used));
    });
  }

  /** Start supervising; `done` settles when the connector stops (rejects when fenced). */
  start(): Promise<void> {
    this.supervise ??= this.superviseLoop();
    return this.supervise;
  }

  get done(): Promise<void> {
    return this.supervise ?? Promise.resolve();
  }

  get fenced(): boolean {
    return this.fencedError !== undefined;
  }

  /** Graceful stop: sessions close, what is queued is committed (bounded wait), the producer disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return this.supervise?.catch(() => undefined);
    this.stopping = true;
    this.log.info('connector stopping');
    this.stopSignal?.();
    await this.supervise?.catch(() => undefined);
  }

  status(): SourceStatus[] {
    const now = this.clock();
    return this.sessions.map((s, i) => ({
      name: s.name,
      state: s.state,
      resumePoint: s.resume.value,
      serverDuid: s.serverDuid,
      queued: this.queues[i]?.used ?? 0,
      lastError: s.lastError,
      stuck: !WAITING_STATES.has(s.state) && !s.waitingForQueue && now - s.lastProgressAt > this.stuckAfterMs,
    }));
  }

  /** /healthz: the process should keep running (not fenced by another instance). */
  health(): ProbeResult {
    if (this.fencedError) return { ok: false, reason: this.fencedError.message };
    return { ok: true, epoch: this.epochs };
  }

  /** /readyz: Kafka reachable, checkpoints loaded, and no session stuck. */
  ready(): ProbeResult {
    const sources = this.status();
    const stuck = sources.filter((s) => s.stuck).map((s) => s.name);
    const reasons: string[] = [];
    if (this.fencedError) reasons.push('fenced by another instance');
    if (!this.kafkaOk) reasons.push('Kafka not reachable (or the last transaction failed)');
    if (!this.checkpointsLoaded) reasons.push('checkpoints not loaded yet');
    if (stuck.length > 0) reasons.push(`sources stuck: ${stuck.join(', ')}`);
    return {
      ok: reasons.length === 0,
      reasons,
      sources: Object.fromEntries(sources.map((s) => [s.name, { state: s.state, resumePoint: s.resumePoint, queued: s.queued, ...(s.lastError ? { lastError: s.lastError } : {}) }])),
    };
  }

  private async superviseLoop(): Promise<void> {
    const backoff = new Backoff(this.cfg.session.backoff, this.deps.random);
    while (!this.stopping) {
      this.epochs++;
      try {
        await this.runEpoch(() => backoff.reset());
        if (this.stopping) break;
        throw new Error('publisher ended without a stop request');
      } catch (err) {
        this.kafkaOk = false;
        if (err instanceof ProducerFencedError) {
          this.fencedError = err;
          this.log.fatal({ err: err.message }, 'another connector instance took over this transactional id: stopping');
          throw err;
        }
        if (this.stopping) break;
        const reason = err instanceof Error ? err.name : 'error';
        this.publisherMetrics.epochRestart(reason);
        const delay = backoff.next();
        this.log.error({ err: err instanceof Error ? err.message : String(err), delayMs: delay, epoch: this.epochs }, 'Kafka failure: restarting every session from the checkpoints');
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          this.stopSignal = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
  }

  private async runEpoch(onCommit: () => void): Promise<void> {
    this.kafkaOk = false;
    this.checkpointsLoaded = false;
    this.eventsPartitions ??= (await this.deps.prepareTopics()).eventsPartitions;
    const sink = await this.deps.connectSink();
    let publisher: Publisher | undefined;
    try {
      const checkpoints = await this.deps.loadCheckpoints();
      this.checkpointsLoaded = true;
      this.kafkaOk = true;
      if (this.stopping) return;
      publisher = this.startSessions(sink, checkpoints, onCommit);
      const run = publisher.run();
      run.catch(() => undefined);
      const stopped = new Promise<void>((r) => (this.stopSignal = r));
      // Either the publisher fails (Kafka), or a stop is requested.
      const first = await Promise.race([run.then(() => 'ended' as const), stopped.then(() => 'stop' as const)]);
      if (first === 'stop') await this.drainAndStop(publisher, run);
      else await run;
    } finally {
      await this.stopSessions();
      this.publisher = undefined;
      await sink.close().catch((err: unknown) => this.log.warn({ err }, 'producer close failed'));
    }
  }

  private startSessions(sink: TransactionSink, checkpoints: Map<string, SourceCheckpoint>, onCommit: () => void): Publisher {
    const { kafka, batch, session } = this.cfg;
    const publisher = new Publisher({
      sink,
      eventsTopic: kafka.topics.events.name,
      sourcesTopic: kafka.topics.sources.name,
      eventsPartitions: this.eventsPartitions as number,
      maxEvents: batch.maxEvents,
      maxBytes: batch.maxBytes,
      maxDelayMs: batch.maxDelayMs,
      metrics: this.publisherMetrics,
      logger: this.log.child({ component: 'publisher' }),
      clock: this.clock,
      onCommit: () => {
        this.kafkaOk = true;
        onCommit();
      },
    });
    const requestorDuid = this.cfg.requestorDuid ? Buffer.from(this.cfg.requestorDuid, 'hex') : undefined;
    this.queues = [];
    const budget = new QueueBudget(batch.totalQueue);
    this.sessions = this.cfg.sources.map((source) => {
      const cp = checkpoints.get(source.name) ?? emptyCheckpoint(source.name);
      const queue = new SourceQueue<QueueItem>(batch.sourceQueue, budget);
      const s = new SourceSession({
        source,
        session,
        requestorDuid,
        start: cp,
        queue,
        connect: this.deps.connect,
        logger: this.log.child({ source: source.name }),
        metrics: this.metrics.forSource(source.name),
        clock: this.clock,
        random: this.deps.random,
      });
      publisher.addSource(source.name, queue, { learnedScopes: () => s.scopes.learned(), serverDuid: () => s.serverDuid }, cp.chainHead);
      this.queues.push(queue);
      return s;
    });
    this.log.info({ epoch: this.epochs, sources: this.sessions.length, withCheckpoint: [...checkpoints.keys()].filter((k) => this.cfg.sources.some((s) => s.name === k)).length }, 'starting source sessions');
    this.publisher = publisher;
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
    for (const q of this.queues) q.close('connector epoch ended');
    await Promise.all(this.sessions.map((s) => s.stop()));
  }
}

// The connector: one session per configured source, publishers, and the crash-only
// supervision around them (src/connector/slot.ts runs one set of sources under one
// transactional producer).
//
// Alone (no `sharing` in the configuration) the connector serves every source with ONE
// worker under transactional id "lqr-connector-<id>": a Kafka failure other than
// fencing restarts every session from the checkpoints; fencing means another instance
// owns the id, and the connector stops with ProducerFencedError.
//
// Sharing (`sharing.group`): the instances divide the work slots (the partitions of
// lq.sources; a source's slot is the partition its name hashes to) through a Kafka
// consumer group (the SlotAssignment seam, src/kafka/group.ts in production). Each
// owned slot is a worker with its own transactional producer
// "lqr-connector-<group>-<slot>": when a slot moves, the new owner's producer
// initialization fences the old owner's and aborts what it left open, and the new
// owner resumes the slot's sources from their committed checkpoints. A revoked slot
// stops at once (queued events dropped: the new owner's catch-up reads them again).
// Fencing of a slot is not fatal: the slot stops here, and starts again if the group
// still gives it to this instance once the other holder has had time to notice.
import type { ConnectorConfig, SourceConfig } from '../config/index.js';
import { ProducerFencedError } from '../kafka/index.js';
import type { Logger } from '../log.js';
import type { ProbeResult, Registry } from '../metrics/index.js';
import { Backoff } from './backoff.js';
import type { CheckpointLoader } from './checkpoint.js';
import { ConnectorMetrics, type PublisherMetrics, type SharingMetrics } from './metrics.js';
import type { TransactionSink } from './publisher.js';
import { QueueBudget } from './queue.js';
import type { Connect } from './requestor.js';
import { slotOf, type SlotAssignment } from './sharing.js';
import { SlotWorker } from './slot.js';
import { WAITING_STATES, type SessionState } from './states.js';

export interface ConnectorDeps {
  /**
   * Connect a transactional producer (fences older holders of its id). Without
   * sharing it is called with no slot (id "lqr-connector-<id>"); with sharing, with
   * the work slot ("lqr-connector-<group>-<slot>").
   */
  connectSink: (slot?: number) => Promise<TransactionSink>;
  loadCheckpoints: CheckpointLoader;
  /** Create or verify the topics; the partition count of lq.events. */
  prepareTopics: () => Promise<{ eventsPartitions: number }>;
  connect: Connect;
  registry: Registry;
  logger: Logger;
  clock?: () => number;
  random?: () => number;
  /** Sharing (required when the configuration has `sharing`): the group membership that assigns the work slots. */
  assignment?: SlotAssignment;
}

export interface SourceStatus {
  name: string;
  state: SessionState;
  resumePoint: number | null;
  serverDuid: string | null;
  queued: number;
  lastError?: string;
  stuck: boolean;
  /** Sharing: the work slot the source belongs to. */
  slot?: number;
}

/** Sharing: what this instance owns. */
export interface SharingStatus {
  group: string;
  /** Work slots in total (partitions of lq.sources). */
  slots: number;
  /** Slots the group assigned to this instance. */
  owned: number[];
  /** Sources in the owned slots (each served by this instance alone, once the rebalance settled). */
  sources: string[];
  /** Joined the group at least once. */
  joined: boolean;
  rebalances: number;
}


export class Connector {
  private readonly cfg: ConnectorConfig;
  private readonly deps: ConnectorDeps;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly metrics: ConnectorMetrics;
  private readonly publisherMetrics: PublisherMetrics;
  private readonly sharingMetrics?: SharingMetrics;
  private readonly stuckAfterMs: number;
  private readonly budget: QueueBudget;
  /** Running workers: key -1 without sharing (every source), else the slot. */
  private readonly workers = new Map<number, SlotWorker>();
  private stopping = false;
  private resolveStop!: () => void;
  private readonly stopRequested: Promise<void>;
  private supervise?: Promise<void>;
  private fencedError?: ProducerFencedError;
  private prepared?: Promise<number>;
  // Sharing.
  private readonly slotSources = new Map<number, SourceConfig[]>();
  private owned = new Set<number>();
  private joined = false;
  private rebalances = 0;
  private lastJoins = 0;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly revoking = new Set<Promise<void>>();

  constructor(cfg: ConnectorConfig, deps: ConnectorDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.log = deps.logger;
    this.clock = deps.clock ?? Date.now;
    this.metrics = new ConnectorMetrics(deps.registry, this.clock);
    this.publisherMetrics = this.metrics.publisher();
    const s = cfg.session;
    this.stuckAfterMs = s.stuckAfterMs ?? Math.max(s.activeRcvTimeoutMs, s.bulkDataTimeoutMs) + 60_000;
    this.budget = new QueueBudget(cfg.batch.totalQueue);
    this.stopRequested = new Promise<void>((r) => (this.resolveStop = r));
    if (cfg.sharing) {
      if (!deps.assignment) throw new Error('sharing is configured but no slot assignment was given to the connector');
      this.sharingMetrics = this.metrics.sharing();
      for (const src of cfg.sources) {
        const slot = slotOf(src.name, cfg.sharing.slots);
        const list = this.slotSources.get(slot) ?? [];
        list.push(src);
        this.slotSources.set(slot, list);
      }
    }
    deps.registry.onCollect(() => {
      const pm = this.publisherMetrics;
      for (const w of this.workers.values()) w.queues.forEach((q, i) => pm.queueDepth(w.sources[i].name, q.used));
    });
  }

  /** Start supervising; `done` settles when the connector stops (rejects when fenced, without sharing). */
  start(): Promise<void> {
    this.supervise ??= this.cfg.sharing ? this.superviseShared() : this.superviseAlone();
    return this.supervise;
  }

  get done(): Promise<void> {
    return this.supervise ?? Promise.resolve();
  }

  get fenced(): boolean {
    return this.fencedError !== undefined;
  }

  /** Graceful stop: sessions close, what is queued is committed (bounded wait), the producers disconnect (and, sharing, the group is left). */
  async stop(): Promise<void> {
    if (this.stopping) return this.supervise?.catch(() => undefined);
    this.stopping = true;
    this.log.info('connector stopping');
    this.resolveStop();
    if (!this.cfg.sharing) for (const w of this.workers.values()) void w.stop();
    await this.supervise?.catch(() => undefined);
  }

  /** The sessions this instance runs (sharing: the sources of its slots), in configuration order. */
  status(): SourceStatus[] {
    const now = this.clock();
    const out: SourceStatus[] = [];
    for (const w of this.workers.values()) {
      w.sessions.forEach((s, i) => {
        const st: SourceStatus = {
          name: s.name,
          state: s.state,
          resumePoint: s.resume.value,
          serverDuid: s.serverDuid,
          queued: w.queues[i]?.used ?? 0,
          lastError: s.lastError,
          stuck: !WAITING_STATES.has(s.state) && !s.waitingForQueue && now - s.lastProgressAt > this.stuckAfterMs,
        };
        if (w.slot !== undefined) st.slot = w.slot;
        out.push(st);
      });
    }
    if (this.cfg.sharing) {
      const order = new Map(this.cfg.sources.map((s, i) => [s.name, i]));
      out.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    }
    return out;
  }

  /** Sharing: the slots and sources this instance owns (undefined without sharing). */
  sharing(): SharingStatus | undefined {
    const sh = this.cfg.sharing;
    if (!sh) return undefined;
    const owned = [...this.owned].sort((a, b) => a - b);
    return {
      group: sh.group,
      slots: sh.slots,
      owned,
      sources: owned.flatMap((s) => (this.slotSources.get(s) ?? []).map((x) => x.name)),
      joined: this.joined,
      rebalances: this.rebalances,
    };
  }

  /** /healthz: the process should keep running (not fenced by another instance; with sharing, fencing of a slot is routine). */
  health(): ProbeResult {
    if (this.fencedError) return { ok: false, reason: this.fencedError.message };
    const epoch = [...this.workers.values()].reduce((n, w) => n + w.epochs, 0);
    return this.cfg.sharing ? { ok: true, epoch, slots: [...this.owned].sort((a, b) => a - b) } : { ok: true, epoch };
  }

  /** /readyz: Kafka reachable, checkpoints loaded, and no session stuck (sharing: for every owned slot). */
  ready(): ProbeResult {
    const sources = this.status();
    const stuck = sources.filter((s) => s.stuck).map((s) => s.name);
    const reasons: string[] = [];
    const workers = [...this.workers.values()];
    if (this.fencedError) reasons.push('fenced by another instance');
    if (this.cfg.sharing) {
      if (!this.joined) reasons.push('not a member of the slot group yet');
      else if (!this.deps.assignment?.fresh()) reasons.push('group membership not current (no heartbeat for a session timeout)');
      const down = workers.filter((w) => !w.kafkaOk).map((w) => w.slot);
      const loading = workers.filter((w) => !w.checkpointsLoaded).map((w) => w.slot);
      if (down.length > 0) reasons.push(`Kafka not reachable (or the last transaction failed) for slots ${down.join(', ')}`);
      if (loading.length > 0) reasons.push(`checkpoints not loaded yet for slots ${loading.join(', ')}`);
    } else {
      const w = workers[0];
      if (!w?.kafkaOk) reasons.push('Kafka not reachable (or the last transaction failed)');
      if (!w?.checkpointsLoaded) reasons.push('checkpoints not loaded yet');
    }
    if (stuck.length > 0) reasons.push(`sources stuck: ${stuck.join(', ')}`);
    const out: ProbeResult = {
      ok: reasons.length === 0,
      reasons,
      sources: Object.fromEntries(sources.map((s) => [s.name, { state: s.state, resumePoint: s.resumePoint, queued: s.queued, ...(s.slot !== undefined ? { slot: s.slot } : {}), ...(s.lastError ? { lastError: s.lastError } : {}) }])),
    };
    if (this.cfg.sharing) out.slots = [...this.owned].sort((a, b) => a - b);
    return out;
  }

  /** The partition count of lq.events, once per process (topics created or verified first). */
  private eventsPartitions(): Promise<number> {
    if (!this.prepared) {
      const p = this.deps.prepareTopics().then((r) => r.eventsPartitions);
      p.catch(() => {
        if (this.prepared === p) this.prepared = undefined;
      });
      this.prepared = p;
    }
    return this.prepared;
  }

  private newWorker(slot: number | undefined, sources: readonly SourceConfig[], extra: Partial<ConstructorParameters<typeof SlotWorker>[0]> = {}): SlotWorker {
    return new SlotWorker({
      slot,
      sources,
      cfg: this.cfg,
      connectSink: () => (slot === undefined ? this.deps.connectSink() : this.deps.connectSink(slot)),
      loadCheckpoints: () => (slot === undefined ? this.deps.loadCheckpoints() : this.deps.loadCheckpoints({ partitions: [slot] })),
      eventsPartitions: () => this.eventsPartitions(),
      connect: this.deps.connect,
      metrics: this.metrics,
      publisherMetrics: this.publisherMetrics,
      budget: this.budget,
      logger: this.log,
      clock: this.clock,
      random: this.deps.random,
      ...extra,
    });
  }

  // ---- alone -----------------------------------------------------------------------

  private async superviseAlone(): Promise<void> {
    if (this.stopping) return;
    const w = this.newWorker(undefined, this.cfg.sources);
    this.workers.set(-1, w);
    try {
      await w.run();
    } catch (err) {
      if (err instanceof ProducerFencedError) {
        this.fencedError = err;
        this.log.fatal({ err: err.message }, 'another connector instance took over this transactional id: stopping');
      }
      throw err;
    }
  }

  // ---- sharing ---------------------------------------------------------------------

  private async superviseShared(): Promise<void> {
    const assignment = this.deps.assignment as SlotAssignment;
    const backoff = new Backoff(this.cfg.session.backoff, this.deps.random);
    while (!this.stopping) {
      try {
        await this.eventsPartitions();
        if (this.stopping) break;
        await assignment.start({ assigned: (slots, info) => this.onAssigned(slots, info) }, () => [...this.owned]);
        this.joined = true;
        this.log.info({ group: this.cfg.sharing?.group, slots: this.cfg.sharing?.slots, sources: this.cfg.sources.length }, 'joined the slot group');
        break;
      } catch (err) {
        const delay = backoff.next();
        this.log.error({ err: err instanceof Error ? err.message : String(err), delayMs: delay }, 'cannot prepare the topics or join the slot group: retrying');
        await Promise.race([new Promise((r) => setTimeout(r, delay)), this.stopRequested]);
      }
    }
    await this.stopRequested;
    for (const t of this.retryTimers) clearTimeout(t);
    // Commit what is queued first, then leave: leaving earlier would let the new owners
    // fence these last transactions.
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    await Promise.all([...this.revoking]);
    this.workers.clear();
    if (this.joined) await assignment.stop().catch((err: unknown) => this.log.warn({ err: String(err) }, 'leaving the slot group failed'));
    this.owned = new Set();
    this.sharingMetrics?.assigned(0, 0);
  }

  private onAssigned(slots: number[], info?: { joins?: number }): void {
    if (this.stopping) return;
    const sm = this.sharingMetrics as SharingMetrics;
    if (info?.joins !== undefined && info.joins > this.lastJoins) {
      sm.rebalance();
      this.rebalances += info.joins - this.lastJoins;
      this.lastJoins = info.joins;
    }
    const next = new Set(slots);
    const gone = [...this.owned].filter((s) => !next.has(s));
    const came = slots.filter((s) => !this.owned.has(s));
    this.owned = next;
    for (const slot of gone) this.revoke(slot);
    for (const slot of slots) if (!this.workers.has(slot)) this.startSlot(slot);
    if (gone.length > 0) sm.moved('out', gone.length);
    if (came.length > 0) sm.moved('in', came.length);
    let sources = 0;
    for (const s of next) sources += this.slotSources.get(s)?.length ?? 0;
    sm.assigned(next.size, sources);
    if (gone.length > 0 || came.length > 0) this.log.info({ owned: [...next].sort((a, b) => a - b), added: came, revoked: gone, sources }, 'work slots assigned');
  }

  private revoke(slot: number): void {
    const w = this.workers.get(slot);
    if (!w) return;
    this.workers.delete(slot);
    const p = w.revoke().finally(() => this.revoking.delete(p));
    this.revoking.add(p);
  }

  private startSlot(slot: number): void {
    const sources = this.slotSources.get(slot);
    if (!sources || sources.length === 0) return; // nothing to serve in this slot
    const assignedAt = this.clock();
    const sm = this.sharingMetrics as SharingMetrics;
    const assignment = this.deps.assignment as SlotAssignment;
    const w = this.newWorker(slot, sources, {
      mayConnect: () => assignment.fresh(),
      onStarted: (epoch, checkpoints) => {
        if (epoch !== 1) return;
        const now = this.clock();
        sm.slotStart((now - assignedAt) / 1000);
        const newest = Math.max(0, ...sources.map((s) => checkpoints.get(s.name)?.updatedAt ?? 0));
        if (newest > 0 && now > newest) sm.takeoverGap((now - newest) / 1000);
        this.log.info({ slot, sources: sources.length, startMs: now - assignedAt, sinceLastCheckpointMs: newest > 0 ? now - newest : null }, 'work slot started');
      },
    });
    this.workers.set(slot, w);
    w.run().then(
      () => undefined,
      (err: unknown) => this.onSlotFailed(slot, w, err),
    );
  }

  private onSlotFailed(slot: number, w: SlotWorker, err: unknown): void {
    if (this.workers.get(slot) === w) this.workers.delete(slot);
    if (!(err instanceof ProducerFencedError)) {
      this.log.error({ slot, err: err instanceof Error ? err.message : String(err) }, 'work slot ended unexpectedly');
      return;
    }
    this.sharingMetrics?.fenced();
    const waitMs = this.cfg.sharing?.sessionTimeoutMs ?? 10_000;
    this.log.warn({ slot, retryInMs: waitMs }, 'work slot fenced by another holder of its transactional id: stopped here; it starts again if the group still assigns it here after a session timeout');
    const t = setTimeout(() => {
      this.retryTimers.delete(t);
      if (this.stopping || !this.owned.has(slot) || this.workers.has(slot)) return;
      this.log.info({ slot }, 'work slot still assigned here: starting it again');
      this.startSlot(slot);
    }, waitMs);
    this.retryTimers.add(t);
  }
}


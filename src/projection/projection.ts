// The projection: lq.events folded into lease tables that a leasequery server serves
// from (LeaseView), with a change feed for Active Leasequery (RFC 7653).
//
// apply() is idempotent and order-tolerant (DESIGN.md "Events"):
// - a record at or below the last applied offset of its partition is a duplicate;
// - per (source, client, link) only the newest report stands (order 1, order.ts): a
//   replay, or an older catch-up report, changes nothing;
// - between sources, and between bindings claiming the same address or prefix, the most
//   recent client transaction wins (order 2; RFC 5007 section 4.3.4); every source's
//   state is kept, so when the winner's state is retired the next one takes over.
// Time: the tables never read the wall clock. `now` comes from the injected clock (to
// drop resources that expired before they arrived, and to filter lookups) and expiry is
// driven by expire(nowMs), which the replica calls periodically.
import type { BindingEvent, LqEvent, SourceEvent } from '../events/model.js';
import type { Binding, ChangeListener, HistoryResult, LeaseView, RemoteIdKey } from '../leasequery/view.js';
import { silentLogger, type Logger } from '../log.js';
import { materialize } from './binding.js';
import { dumpTables, type BindingDump } from './dump.js';
import { bindingOfAddress, bindingsOfClient, bindingsOfRelayId, bindingsOfRemoteId, bindingsOnLink, linkFilter } from './lookups.js';
import { compareLog, compareSameSourceTimes, type LogPosition, type OrderKey } from './order.js';
import { stateFromEvent, unpack, writeDuid } from './state.js';
import { LeaseTables } from './tables.js';
import { loadTables, writeSnapshot, type SnapshotInfo, type SnapshotOffset } from './snapshot.js';
import { storeState } from './resolve.js';
import { retireUnreported } from './retire.js';
import { checkTables } from './integrity.js';

export interface ProjectionOptions {
  /** OPTION_SERVERID of the replica's replies. */
  serverDuid: Buffer;
  /** The view's clock (ms, connector clock for a replica). Default Date.now. */
  clock?: () => number;
  /** Catch-up history for Active Leasequery, read from Kafka by the replica. */
  history?: (sinceMs: number) => HistoryResult;
  logger?: Logger;
  /** How long a released binding is remembered as a tombstone (default one hour). */
  tombstoneRetentionMs?: number;
}

/** Where an event was read from: its lq.events partition and offset. */
export interface EventPosition {
  partition: number;
  offset: string | bigint;
}

/**
 * - applied: the event changed the tables (a source's state, or a resync marker);
 * - stale: an older report than the source's known state for that binding;
 * - duplicate: the same report again, or an offset already applied;
 * - noted: a source event that changes no table (connected, tls, ...).
 */
export type ApplyOutcome = 'applied' | 'stale' | 'duplicate' | 'noted';

export interface ProjectionStats {
  bindings: number;
  /** Addresses and prefixes of effective states (including not yet expired ones). */
  resources: number;
  sources: number;
  relayTemplates: number;
  /** Resources claimed by more than one binding right now. */
  contestedResources: number;
  applied: number;
  stale: number;
  duplicate: number;
  sourceEvents: number;
  /** Source states retired by bulk-complete. */
  retired: number;
  expiredResources: number;
  purgedBindings: number;
  /** bulk-complete markers whose bulk-started was never seen. */
  unmatchedResyncs: number;
  /** Last applied offset per lq.events partition. */
  offsets: Record<string, string>;
}

const MAX_RESYNCS_PER_SOURCE = 16;
const duidScratch = Buffer.alloc(256);
const NO_POSITION: LogPosition = { partition: -1, offset: -1 };

export class Projection implements LeaseView {
  readonly serverDuid: Buffer;
  private t: LeaseTables;
  private readonly clock: () => number;
  private readonly history?: (sinceMs: number) => HistoryResult;
  private readonly log: Logger;
  private readonly retention: number;
  private readonly listeners = new Set<ChangeListener>();
  private readonly counters = { applied: 0, stale: 0, duplicate: 0, sourceEvents: 0, retired: 0, expiredResources: 0, purgedBindings: 0, unmatchedResyncs: 0 };

  constructor(options: ProjectionOptions) {
    this.serverDuid = options.serverDuid;
    this.clock = options.clock ?? Date.now;
    this.history = options.history;
    this.log = options.logger ?? silentLogger;
    this.retention = options.tombstoneRetentionMs ?? 3_600_000;
    this.t = this.newTables();
  }

  private newTables(): LeaseTables {
    const t = new LeaseTables(this.retention);
    t.onDelete = (b, hadResources) => {
      if (!hadResources && !t.touched.has(b)) return; // already reported as released
      const seq = ++t.seq;
      if (this.listeners.size > 0) this.emit(this.materialize(t, b, true, seq));
    };
    return t;
  }

  // ---- apply ------------------------------------------------------------------------------

  /**
   * Folds one event of lq.events into the tables. `position` (the record's partition and
   * offset) makes replays of already applied records no-ops and tags binding states
   * with their partition for bulk-complete retirement. Throws ProjectionInputError for
   * an event it cannot represent, before changing anything.
   */
  apply(event: LqEvent, position?: EventPosition): ApplyOutcome {
    const t = this.t;
    let offset: bigint | undefined;
    if (position) {
      offset = typeof position.offset === 'bigint' ? position.offset : BigInt(position.offset);
      const last = t.positions.get(position.partition);
      if (last !== undefined && offset <= last) {
        this.counters.duplicate++;
        return 'duplicate';
      }
    }
    const partition = position ? position.partition : -1;
    let outcome: ApplyOutcome;
    try {
      outcome = event.type === 'binding' ? this.applyBinding(event, partition, offset === undefined ? -1 : Number(offset)) : this.applySource(event, partition);
    } finally {
      this.drain();
    }
    if (position) t.positions.set(position.partition, offset as bigint);
    if (outcome === 'applied' && event.type === 'binding') this.counters.applied++;
    else if (outcome === 'stale') this.counters.stale++;
    else if (outcome === 'duplicate') this.counters.duplicate++;
    if (event.type === 'source') this.counters.sourceEvents++;
    return outcome;
  }

  /** Records a position as consumed without an event (a record the consumer skipped). */
  notePosition(position: EventPosition): void {
    const offset = typeof position.offset === 'bigint' ? position.offset : BigInt(position.offset);
    const last = this.t.positions.get(position.partition);
    if (last === undefined || offset > last) this.t.positions.set(position.partition, offset);
  }

  /** Last applied offset per partition. */
  positions(): Map<number, bigint> {
    return new Map(this.t.positions);
  }

  private applyBinding(e: BindingEvent, partition: number, offset: number): ApplyOutcome {
    const t = this.t;
    const src = t.sources.intern(e.source.name, e.source.serverDuid);
    const link = t.links.internText(e.linkAddress);
    const end = writeDuid(e.clientId, duidScratch);
    const b = t.findBinding(duidScratch, 1, end, link.id);
    let others: string[] | undefined;
    let mine = -1;
    if (b >= 0) {
      let known: OrderKey | undefined;
      let knownAt: LogPosition = NO_POSITION;
      if (t.source[b] === src) {
        known = t.winnerKey(b);
        knownAt = { partition: t.partition[b], offset: t.offset[b] };
      } else if (t.others.has(b)) {
        others = t.othersOf(b);
        mine = LeaseTables.indexOfSource(others, src);
        if (mine >= 0) known = knownAt = unpack(others[mine]);
      }
      if (known) {
        // Order 1 (order.ts): the log when both are in it, else the source's clock.
        const byLog = compareLog({ partition, offset }, knownAt);
        const byTime = compareSameSourceTimes({ baseTime: e.baseTime, cltTime: e.cltTime ?? -1, receivedAt: e.receivedAt }, known);
        if ((byLog || byTime) < 0) return 'stale';
        if (byTime === 0) {
          // Same instants: the same report again (same content) changes nothing, wherever
          // it is in the log; else the log decides, or without it the content tiebreak.
          const probe = stateFromEvent(e, src, partition, offset, this.clock(), t.templates);
          if (probe.tie === known.tie || (byLog === 0 && probe.tie < known.tie)) {
            t.templates.dropIfUnused(probe.template);
            return probe.tie === known.tie ? 'duplicate' : 'stale';
          }
        }
      }
    }
    const s = stateFromEvent(e, src, partition, offset, this.clock(), t.templates);
    // Hold the new state's relay template while the states are reshuffled: dropping the
    // source's previous state may release the last other reference to it.
    t.templates.ref(s.template);
    try {
      storeState(t, b, s, link, others, mine, this.clock());
    } finally {
      t.templates.unref(s.template);
    }
    return 'applied';
  }

  private applySource(e: SourceEvent, partition: number): ApplyOutcome {
    const t = this.t;
    const src = t.sources.intern(e.source.name, e.source.serverDuid);
    if (e.resyncId === undefined) return 'noted';
    const key = `${src}\u0000${e.resyncId}`;
    if (e.kind === 'bulk-started') {
      if (t.resyncs.has(key)) return 'noted'; // the same marker in another partition
      t.resyncs.set(key, { source: src, resyncId: e.resyncId, at: e.at, scope: e.scope });
      this.trimResyncs(src);
      return 'applied';
    }
    if (e.kind !== 'bulk-complete') return 'noted';
    const started = t.resyncs.get(key);
    if (!started) {
      this.counters.unmatchedResyncs++;
      this.log.warn({ source: e.source.name, resyncId: e.resyncId, partition }, 'bulk-complete without its bulk-started: nothing retired');
      return 'noted';
    }
    const scope = started.scope ?? e.scope;
    // A resync of a time window (OPTION_LQ_START_TIME, RFC 7653 section 8.3.1) reports
    // only what changed in the window: silence about a binding says nothing.
    if (!scope || scope.startTime !== undefined || e.scope?.startTime !== undefined) return 'noted';
    this.counters.retired += retireUnreported(t, src, partition, started.at, scope, this.clock());
    return 'applied';
  }

  private trimResyncs(src: number): void {
    const mine = [...this.t.resyncs].filter(([, r]) => r.source === src);
    if (mine.length <= MAX_RESYNCS_PER_SOURCE) return;
    mine.sort((a, b) => a[1].at - b[1].at);
    for (const [k] of mine.slice(0, mine.length - MAX_RESYNCS_PER_SOURCE)) this.t.resyncs.delete(k);
  }

  /**
   * Retires what is due at `nowMs`: expired addresses and prefixes (their bindings are
   * reported to the change feed, RFC 7653: expiries are changes too) and tombstones past
   * their retention. Cost is proportional to what is due, never a scan.
   */
  expire(nowMs: number): { resources: number; bindings: number } {
    let r: { resources: number; bindings: number };
    try {
      r = this.t.expireDue(nowMs);
    } finally {
      this.drain();
    }
    this.counters.expiredResources += r.resources;
    this.counters.purgedBindings += r.bindings;
    return r;
  }

  // ---- change feed ------------------------------------------------------------------------

  private drain(): void {
    const t = this.t;
    if (t.touched.size === 0) return;
    for (const b of t.touched) {
      t.seqs[b] = ++t.seq;
      if (this.listeners.size > 0) this.emit(this.materialize(t, b, false, t.seqs[b]));
    }
    t.touched.clear();
  }

  private emit(change: Binding): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.log.error({ err, key: change.key }, 'change listener failed');
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  historySince(since: number): HistoryResult {
    return this.history ? this.history(since) : { available: false };
  }

  // ---- LeaseView lookups ------------------------------------------------------------------

  now(): number {
    return this.clock();
  }

  private materialize(t: LeaseTables, b: number, released: boolean, seq = t.seqs[b]): Binding {
    return materialize(t, b, this.clock(), released, seq);
  }

  byAddress(address: Buffer, link?: Buffer): Binding | undefined {
    const t = this.t;
    const b = bindingOfAddress(t, address, linkFilter(t, link), this.clock());
    return b < 0 ? undefined : this.materialize(t, b, false);
  }

  byClientId(duid: Buffer, link?: Buffer): readonly Binding[] {
    const t = this.t;
    return bindingsOfClient(t, duid, linkFilter(t, link)).map((b) => this.materialize(t, b, false));
  }

  byRelayId(relayId: Buffer, link?: Buffer): Iterable<Binding> {
    return this.lazily(this.t, bindingsOfRelayId(this.t, relayId, linkFilter(this.t, link)));
  }

  byLinkAddress(link: Buffer): Iterable<Binding> {
    return this.lazily(this.t, bindingsOnLink(this.t, link));
  }

  byRemoteId(remoteId: RemoteIdKey, link?: Buffer): Iterable<Binding> {
    return this.lazily(this.t, bindingsOfRemoteId(this.t, remoteId, linkFilter(this.t, link)));
  }

  /** Materializes ids one per pull; stops if a snapshot load replaced the tables meanwhile. */
  private *lazily(t: LeaseTables, ids: Iterable<number>): Generator<Binding> {
    for (const b of ids) {
      if (this.t !== t) return;
      yield this.materialize(t, b, false);
    }
  }

  // ---- snapshots -------------------------------------------------------------------------

  /**
   * Writes the tables and the Kafka offsets they cover to `path` (temp file, fsync,
   * rename, fsync of the directory). Encoding and writing are synchronous, so the file
   * is exactly the tables as of this call; only fsync and rename are awaited.
   */
  snapshot(path: string, offsets: readonly SnapshotOffset[]): Promise<SnapshotInfo> {
    return writeSnapshot(this.t, path, offsets, this.clock());
  }

  /**
   * Replaces the tables with a snapshot's and returns the offsets it covers. A corrupt,
   * truncated or wrong-version file throws SnapshotError and leaves the tables as they
   * were: the file is verified and decoded into new tables before they replace the live
   * ones. Subscribers are not told about the loaded bindings (a restart, not a change).
   */
  async loadSnapshot(path: string): Promise<SnapshotOffset[]> {
    const { tables, offsets } = await loadTables(path, () => this.newTables());
    this.t = tables;
    return offsets;
  }

  // ---- stats and inspection -------------------------------------------------------------

  stats(): ProjectionStats {
    const t = this.t;
    const offsets: Record<string, string> = {};
    for (const [p, o] of t.positions) offsets[String(p)] = o.toString();
    return {
      bindings: t.count,
      resources: t.resources.count,
      sources: t.sources.size,
      relayTemplates: t.templates.size,
      contestedResources: t.resources.contestedCount,
      ...this.counters,
      offsets,
    };
  }

  /** Cross-checks every index against the columns (O(n)); returns what is inconsistent. */
  verifyIntegrity(): string[] {
    return checkTables(this.t);
  }

  /** Bytes held in typed arrays by the tables (a lower bound of their memory; see the bench). */
  get typedArrayBytes(): number {
    return this.t.bytesHeld;
  }

  /** Every binding with every source's state, canonical (dump.ts): for tests and debugging. */
  dump(): BindingDump[] {
    const t = this.t;
    return dumpTables(t, (b) => this.materialize(t, b, false));
  }
}

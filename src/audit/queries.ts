// The audit's questions, answered from lq.events:
// - who:     who held ADDRESS or PREFIX at an instant (as-of);
// - held:    which addresses and prefixes a client / remote-id / relay-id held in a range;
// - history: every binding interval overlapping a range, streamed.
//
// Where the fold starts (the state at T depends on events long before T):
// - lookback 'all' (default): every partition from its earliest offset. Exact, as far as
//   the topic's retention kept history (default: forever, src/kafka/config.ts).
// - lookback L: from the first record at or after T1 - L (offsets-for-times). Fast on a
//   long topic; exact when every valid lifetime is at most L and no report older than
//   that decides a contest (a claim beaten, a failover partner's newer state). The
//   answer says which was used.
// - who with a snapshot directory: from the newest usable replica snapshot taken at or
//   before T (snapshot.ts): its state, then the events after its offsets. Exact like
//   'all' (within what snapshot.ts says a snapshot cannot give); intervals already open
//   in it start at the report in force then. No usable snapshot: 'all', and the answer
//   says why each one was passed over.
import type { KafkaSettings } from '../kafka/index.js';
import { iso, serverInstant, type ServerInstant } from './time.js';
import { IntervalEngine, type EngineStats, type Interval } from './intervals.js';
import { matchResource, resourceOf, resourceText, type Resource, type ResourceMatch } from './resources.js';
import { DEFAULT_REORDER_WINDOW_MS, sweep, type SweepOptions, type SweepResult } from './sweep.js';
import { topicPartitions, type RangeStart } from './read.js';
import { chooseSnapshot, type SnapshotChoice, type SnapshotRejection } from './snapshot.js';
import { partitionForKey } from '../kafka/index.js';

export interface AuditTarget {
  kafka: KafkaSettings;
  /** lq.events (or a copy). */
  topic: string;
  read?: SweepOptions;
  /** See EngineOptions.tombstoneRetentionMs. */
  tombstoneRetentionMs?: number;
}

export type Lookback = number | 'all';

/** What an answer rests on: which records were folded, and how far to trust it. */
export interface FoldBasis {
  topic: string;
  /** 'earliest' or the instant the fold started from (ISO). */
  foldFrom: 'earliest' | string;
  /** The instant the state was folded up to (ISO). */
  foldTo: string;
  partitions: Array<{ partition: number; from: string; to: string; earliest: string; end: string }>;
  records: number;
  events: number;
  /** Events after the asked instant that the read window brought in, not applied. */
  ignoredAfter: number;
  undecodable: number;
  firstUndecodable: SweepResult['firstUndecodable'];
  /** Events out of time order beyond the reorder window (applied at the sweep's instant). */
  late: number;
  reorderWindowMs: number;
  /** Most records waiting in the time merge at once, and how often partitions ahead were paused. */
  peakBuffered: number;
  pauses: number;
  /** Records the merge released before their window closed because the buffer was full (safety net). */
  forced: number;
  /**
   * Set when a snapshot directory was given: the snapshot the fold started from (its
   * state plus the events after its offsets), or null and why none was usable.
   */
  snapshot?: SnapshotBasis;
  engine: EngineStats;
  elapsedMs: number;
  /** True when nothing above says the answer may be incomplete. */
  exact: boolean;
  caveats: string[];
}

export interface SnapshotBasis {
  dir: string;
  used: {
    file: string;
    path: string;
    /** The snapshot's time: its state is the fold of every record below its offsets. */
    at: string;
    /** Where reading continued, per partition (next offset). */
    offsets: Record<string, string>;
    bindings: number;
    /** The newest report it holds (connector clock, ISO). */
    newestReport: string | null;
    loadMs: number;
  } | null;
  /** Snapshots passed over (newest first), with why. */
  rejected: SnapshotRejection[];
  /** Events after the snapshot's offsets received before its time (records committed after it was taken). */
  beforeSnapshot: number;
}

function startOf(lookback: Lookback, from: number): { start: RangeStart; foldFrom: FoldBasis['foldFrom'] } {
  if (lookback === 'all') return { start: 'earliest', foldFrom: 'earliest' };
  const t = from - lookback;
  return { start: { timestamp: t }, foldFrom: iso(t) as string };
}

function basisOf(
  target: AuditTarget,
  lookback: Lookback,
  foldFrom: FoldBasis['foldFrom'],
  to: number,
  r: SweepResult,
  applied: number,
  ignored: number,
  engine: EngineStats,
  t0: number,
  extra: string[],
  snapshot?: SnapshotBasis,
): FoldBasis {
  const caveats = [...extra];
  const reorderWindowMs = target.read?.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  if (snapshot?.used) {
    const lost = r.range.partitions.filter((p) => {
      const o = snapshot.used?.offsets[String(p.partition)];
      return o !== undefined && BigInt(o) < p.earliest;
    });
    if (lost.length > 0) caveats.push(`partition(s) ${lost.map((p) => `${p.partition} (snapshot offset ${snapshot.used?.offsets[String(p.partition)]}, earliest kept ${p.earliest})`).join(', ')} no longer hold the records after the snapshot (retention): events between are not seen`);
  } else if (lookback !== 'all') {
    caveats.push(
      `folded from ${foldFrom} (look-back ${lookback} ms), not from the topic's start: a binding last reported before then is not seen; exact only if no valid lifetime exceeds the look-back and no earlier report decides a contest`,
    );
  }
  const truncated = r.range.partitions.filter((p) => p.earliest > 0n);
  if (lookback === 'all' && !snapshot?.used && truncated.length > 0) {
    caveats.push(`partition(s) ${truncated.map((p) => `${p.partition} (starts at offset ${p.earliest})`).join(', ')} no longer hold their oldest records (retention): history before them is not seen`);
  }
  if (r.undecodable > 0) caveats.push(`${r.undecodable} record(s) are not events and were skipped (first at partition ${r.firstUndecodable[0].partition} offset ${r.firstUndecodable[0].offset})`);
  const late = Math.max(engine.late, r.merge.late);
  if (late > 0) caveats.push(`${late} event(s) arrived more than the reorder window (${reorderWindowMs} ms) out of time order and were applied late`);
  if (engine.unmatchedResyncs > 0) caveats.push(`${engine.unmatchedResyncs} bulk-complete marker(s) without their bulk-started in the range: nothing retired for them`);
  return {
    topic: target.topic,
    foldFrom,
    foldTo: iso(to) as string,
    partitions: r.range.partitions.map((p) => ({ partition: p.partition, from: p.start.toString(), to: p.stop.toString(), earliest: p.earliest.toString(), end: p.end.toString() })),
    records: r.range.records,
    events: applied,
    ignoredAfter: ignored,
    undecodable: r.undecodable,
    firstUndecodable: r.firstUndecodable,
    late,
    reorderWindowMs,
    peakBuffered: r.peakBuffered,
    pauses: r.merge.pauses,
    forced: r.merge.forced,
    ...(snapshot ? { snapshot: { ...snapshot, beforeSnapshot: engine.beforeSeed } } : {}),
    engine,
    elapsedMs: Date.now() - t0,
    exact: caveats.length === 0,
    caveats,
  };
}

/** Sweeps [fold start, `to`] through `engine`, applying only events at or before `to`, then moves the engine to `to`. */
async function fold(
  target: AuditTarget,
  engine: IntervalEngine,
  lookback: Lookback,
  from: number,
  to: number,
  partitions: number[] | undefined,
  caveats: string[],
  seed?: { dir: string; chosen?: SnapshotChoice; rejected: SnapshotRejection[]; t0: number },
): Promise<FoldBasis> {
  const t0 = seed?.t0 ?? Date.now();
  let { start, foldFrom } = startOf(lookback, from);
  let snapshot: SnapshotBasis | undefined;
  if (seed) {
    const c = seed.chosen;
    snapshot = { dir: seed.dir, used: null, rejected: seed.rejected, beforeSnapshot: 0 };
    if (c) {
      engine.seed(c.at, c.bindings, c.resyncs, c.file);
      start = { offsets: c.offsets };
      foldFrom = c.atIso;
      snapshot.used = {
        file: c.file,
        path: c.path,
        at: c.atIso,
        offsets: Object.fromEntries([...c.offsets].map(([p, o]) => [String(p), o.toString()])),
        bindings: c.bindings.length,
        newestReport: iso(c.newestReport === -Infinity ? null : c.newestReport),
        loadMs: c.loadMs,
      };
    } else {
      caveats.push(`no usable snapshot in ${seed.dir} (${seed.rejected.map((x) => `${x.file}: ${x.reason}`).join('; ')}): folded from ${foldFrom === 'earliest' ? "the topic's start" : foldFrom}`);
    }
  }
  const windowMs = target.read?.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  let applied = 0;
  let ignored = 0;
  // Records are stamped when the connector sends them, a little after receivedAt:
  // read one reorder window past `to` so that events received by `to` are all seen.
  const until = to === Infinity ? ('end' as const) : { timestamp: to + windowMs + 1 };
  const r = await sweep(target.kafka, { topic: target.topic, partitions, from: start, until }, target.read ?? {}, (item) => {
    if (item.time > to) {
      ignored++;
      return;
    }
    applied++;
    engine.apply(item.event, item.position);
  });
  if (to !== Infinity) engine.advanceTo(to);
  return basisOf(target, lookback, foldFrom, to === Infinity ? engine.now : to, r, applied, ignored, engine.stats(), t0, caveats, snapshot);
}

// ---- who held a resource at an instant ---------------------------------------------------

export interface Holder {
  match: ResourceMatch;
  interval: Interval;
  /** The asked instant in the clock of the source whose report is in force. */
  serverClock: ServerInstant | null;
}

export interface WhoAnswer {
  resource: string;
  kind: 'address' | 'prefix';
  at: number;
  atIso: string;
  /** Exact first, then covering prefixes (longest first), then contained resources. */
  holders: Holder[];
  basis: FoldBasis;
}

const MATCH_RANK: Record<ResourceMatch, number> = { exact: 0, covering: 1, contained: 2 };

/**
 * Who held `resource` at `at`. `snapshotDir`: start from the newest usable replica
 * snapshot there (snapshot.ts) instead of the look-back; none usable: the look-back,
 * and the answer says why.
 */
export async function whoHeld(target: AuditTarget, query: { resource: Resource; at: number; lookback?: Lookback; snapshotDir?: string }): Promise<WhoAnswer> {
  const q = query.resource;
  const lookback = query.lookback ?? 'all';
  const engine = new IntervalEngine({ filter: (r) => matchResource(q, r) !== null, keepRaw: true, tombstoneRetentionMs: target.tombstoneRetentionMs });
  const t0 = Date.now();
  const seed = query.snapshotDir === undefined ? undefined : { dir: query.snapshotDir, t0, ...(await chooseSnapshot(query.snapshotDir, target.topic, query.at)) };
  const basis = await fold(target, engine, lookback, query.at, query.at, undefined, [], seed);
  const holders: Holder[] = [];
  for (const iv of engine.openIntervals()) {
    const match = matchResource(q, resourceOf(iv.resource.split('/')[0], iv.prefixLength));
    if (!match) continue;
    holders.push({ match, interval: iv, serverClock: clockOf(iv, query.at) });
  }
  holders.sort((a, b) => MATCH_RANK[a.match] - MATCH_RANK[b.match] || (b.interval.prefixLength ?? 129) - (a.interval.prefixLength ?? 129) || (a.interval.resource < b.interval.resource ? -1 : 1));
  return { resource: resourceText(q.key), kind: q.prefixLength === null ? 'address' : 'prefix', at: query.at, atIso: iso(query.at) as string, holders, basis };
}

function clockOf(iv: Interval, at: number): ServerInstant | null {
  const ref = iv.latest;
  return ref.clockOffsetMs === null ? null : serverInstant(at, ref.source, ref.clockOffsetMs);
}

// ---- what a client / remote-id / relay-id held in a range ----------------------------------

export type Selector = { clientId: string } | { remoteId: { enterpriseNumber: number; id: string } } | { relayId: string };

export function selectorText(s: Selector): string {
  if ('clientId' in s) return `client-id ${s.clientId}`;
  if ('remoteId' in s) return `remote-id ${s.remoteId.enterpriseNumber}:${s.remoteId.id}`;
  return `relay-id ${s.relayId}`;
}

export function selects(s: Selector, iv: Interval): boolean {
  if ('clientId' in s) return iv.clientId === s.clientId;
  if ('remoteId' in s) return iv.remoteIds.includes(`${s.remoteId.enterpriseNumber}:${s.remoteId.id}`);
  return iv.relayIds.includes(s.relayId);
}

/** Does [start, end) meet [from, to]? */
export function overlaps(iv: Interval, from: number, to: number): boolean {
  return iv.start <= to && (iv.end === null || iv.end > from);
}

export interface HeldAnswer {
  selector: string;
  from: number;
  to: number;
  fromIso: string;
  toIso: string;
  /** By start. An interval still open at `to` has closeReason 'open'. */
  intervals: Interval[];
  /** The partitions read (a client-id query reads only its key's partition). */
  partitions: number[];
  basis: FoldBasis;
}

export async function heldBy(
  target: AuditTarget,
  query: { selector: Selector; from: number; to: number; lookback?: Lookback; allPartitions?: boolean },
): Promise<HeldAnswer> {
  const { selector, from, to } = query;
  const lookback = query.lookback ?? 'all';
  const intervals: Interval[] = [];
  const keep = (iv: Interval) => {
    if (selects(selector, iv) && overlaps(iv, from, to)) intervals.push(iv);
  };
  const engine = new IntervalEngine({ keepRaw: true, onClose: keep, tombstoneRetentionMs: target.tombstoneRetentionMs });
  let partitions: number[] | undefined;
  const caveats: string[] = [];
  if ('clientId' in selector && !query.allPartitions) {
    const all = await topicPartitions(target.kafka, target.topic, target.read);
    partitions = [partitionForKey(selector.clientId, all.length)];
    if (all.length > 1) {
      caveats.push(
        `read only partition ${partitions[0]} of ${all.length} (the client's key): a resource taken over while still claimed by this client, by a client keyed to another partition, shows as held until its release or expiry (use --all-partitions for the exact answer)`,
      );
    }
  }
  const basis = await fold(target, engine, lookback, from, to, partitions, caveats);
  for (const iv of engine.openIntervals()) keep(iv);
  intervals.sort((a, b) => a.start - b.start || (a.resource < b.resource ? -1 : 1));
  return {
    selector: selectorText(selector),
    from,
    to,
    fromIso: iso(from) as string,
    toIso: iso(to) as string,
    intervals,
    partitions: basis.partitions.map((p) => p.partition),
    basis,
  };
}

// ---- history export ------------------------------------------------------------------------

export interface HistorySummary {
  from: number | null;
  to: number;
  intervals: number;
  open: number;
  byReason: Record<string, number>;
  basis: FoldBasis;
}

/**
 * Every interval overlapping [from, to], handed to `write` as it closes (then the ones
 * still open at `to`, with closeReason 'open'). Memory: the open intervals and live
 * bindings, whatever the range. `to` Infinity reads to the topic's end and leaves what
 * is still held at the last event open.
 */
export async function exportHistory(
  target: AuditTarget,
  query: { from?: number; to: number; lookback?: Lookback; selector?: Selector; resource?: Resource },
  write: (iv: Interval) => void,
  drain?: () => Promise<void> | void,
): Promise<HistorySummary> {
  const from = query.from ?? -Infinity;
  const lookback = query.from === undefined ? 'all' : (query.lookback ?? 'all');
  const byReason: Record<string, number> = {};
  let count = 0;
  let open = 0;
  const q = query.resource;
  const engine = new IntervalEngine({
    filter: q ? (r) => matchResource(q, r) !== null : undefined,
    tombstoneRetentionMs: target.tombstoneRetentionMs,
    onClose: (iv) => {
      if (!overlaps(iv, from, query.to)) return;
      if (query.selector && !selects(query.selector, iv)) return;
      count++;
      if (iv.closeReason === 'open') open++;
      byReason[iv.closeReason] = (byReason[iv.closeReason] ?? 0) + 1;
      write(iv);
    },
  });
  const withDrain: AuditTarget = drain ? { ...target, read: { ...target.read, afterBatch: drain } } : target;
  const basis = await fold(withDrain, engine, lookback, query.from ?? 0, query.to, undefined, []);
  engine.closeOpen();
  await drain?.();
  return { from: query.from ?? null, to: query.to === Infinity ? engine.now : query.to, intervals: count, open, byReason, basis };
}

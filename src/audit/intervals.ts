// Binding history: lq.events folded, in connector-clock order, into intervals during
// which one address or prefix was bound to one client on one link.
//
// The state at an instant T is the fold of every event received at or before T
// (receivedAt of a binding event, `at` of a source event), with the projection's rules
// (DESIGN.md "Events", src/projection):
// - a binding is (client DUID, link); each source's newest report of it stands (order
//   1, order.ts); a duplicate or an older report (catch-up replaying history) changes
//   nothing, so it never splits an interval;
// - the binding's effective report is the most recent across its sources (order 2:
//   newest client transaction, RFC 5007 section 4.3.4): a failover pair reporting the
//   same client yields ONE interval, with both sources named;
// - a resource is held by a binding from the report that makes it part of the
//   binding's effective state until the first of:
//     released    the binding's effective report no longer has it (or has it with a
//                 zero valid lifetime);
//     expired     its validUntil (connector clock) passes;
//     reassigned  another binding claims it with a more recent client transaction;
//     retired     a full bulk resync of its source did not report the binding (the
//                 bulk-complete marker, as the projection retires it);
//     open        still held at the end of what was read.
// - a claim that loses to the current holder (an older transaction) is not held, and
//   a claim beaten by a reassignment is over: when the new holder lets go, the older
//   claimant does not get the resource back until its own source reports it again.
//   This is where the audit deliberately differs from the projection, which keeps
//   beaten claims as fall-backs for answering live queries: a server reassigns a
//   resource only after the old client lost it, so the stale claim is evidence of a
//   missed report, not of a holding.
//
// Memory is bounded by what is open: bindings with live resources (plus, for
// `tombstoneRetentionMs`, released ones, so that a late catch-up report of an old
// state is recognized as stale), their open intervals, and one schedule entry per
// open interval and per binding. Closed intervals are handed to `onClose` and
// forgotten.
import type { BindingEvent, BulkScope, LqEvent, Phase, SourceEvent, SourceEventKind } from '../events/model.js';
import { MinHeap } from './heap.js';
import { compareAcrossSources, compareSameSource, fnv1a, type ReportKey } from './order.js';
import { resourceOf, resourceText, type Resource } from './resources.js';

/** Where an event was read: its lq.events partition and offset (offset as decimal text). */
export interface RecordPosition {
  partition: number;
  offset: string;
}

/** The evidence an answer rests on: one event, where it is, and its clocks. */
export interface EventRef {
  type: 'binding' | 'source';
  source: string;
  partition: number;
  offset: string;
  /** Connector clock, Unix ms: a binding event's receivedAt, a source event's `at`. */
  receivedAt: number;
  /** Server clock, DHCPv6 seconds (OPTION_LQ_BASE_TIME); null when unknown. */
  baseTime: number | null;
  clockOffsetMs: number | null;
  lastTransactionAt: number | null;
  phase: Phase | null;
  /** The source event's kind (bulk-complete for a retirement). */
  kind: SourceEventKind | null;
  /** Position in the source's integrity chain. */
  chainSeq: number | null;
  /** The OPTION_CLIENT_DATA bytes (base64), when the engine keeps them. */
  raw?: string;
  /**
   * Set when the report comes from a replica snapshot (the fold started there): the
   * snapshot's file. Its offset is then '' (a snapshot keeps a report's partition, not
   * its offset), and there are no raw bytes nor chain seq.
   */
  snapshot?: string;
}

export type CloseReason = 'released' | 'expired' | 'reassigned' | 'retired' | 'open';

/** One address or prefix bound to one client on one link, from `start` to `end`. */
export interface Interval {
  /** RFC 5952 text; a prefix as "2001:db8:12::/56". */
  resource: string;
  kind: 'address' | 'prefix';
  prefixLength: number | null;
  clientId: string;
  linkAddress: string;
  /** Connector clock, Unix ms: when the resource became held. */
  start: number;
  /** When it stopped being held; null while open. */
  end: number | null;
  closeReason: CloseReason;
  /** Every source whose report of this binding carried the resource during the interval. */
  sources: string[];
  /** The report that made the resource held. */
  opened: EventRef;
  /** The report in force last (it sets validUntil). */
  latest: EventRef;
  /** The event that ended it (released, reassigned, retired); null when it expired or is open. */
  closedBy: EventRef | null;
  /** Who took it over (reassigned). */
  reassignedTo: { clientId: string; linkAddress: string } | null;
  /** Of the latest report; null = infinite lifetime. */
  validUntil: number | null;
  preferredUntil: number | null;
  /** Relay-ids and remote-ids ("enterprise:hex") in the reports during the interval. */
  relayIds: string[];
  remoteIds: string[];
  /**
   * Set when the interval was already open in the snapshot the fold started from: then
   * `start` and `opened` are the report in force at the snapshot (the resource was held
   * at least since then; an earlier start is not known without reading before it).
   */
  seededFrom?: string;
}

/** One source's report of one binding as a snapshot holds it (seed()). */
export interface SeedState {
  source: string;
  /** Connector clock, ms; null when the report had no CLT_TIME. */
  lastTx: number | null;
  receivedAt: number;
  baseTime: number;
  cltTime: number | null;
  /** The snapshot's content tie (not comparable with the audit's raw hash: see seed()). */
  tie: number;
  /** Live resources; validUntil / preferredUntil null = infinite. */
  resources: Array<{ resource: Resource; validUntil: number | null; preferredUntil: number | null }>;
  ref: EventRef;
  relayIds: readonly string[];
  remoteIds: readonly string[];
}

export interface SeedBinding {
  clientId: string;
  linkAddress: string;
  states: SeedState[];
}

export interface SeedResync {
  source: string;
  resyncId: string;
  at: number;
  scope: BulkScope | undefined;
}

export interface EngineOptions {
  /** Track only the resources this accepts (an as-of query follows only what it asks about). */
  filter?: (r: Resource) => boolean;
  /** Keep the raw CLIENT_DATA of the reports intervals rest on (for answers, not exports). */
  keepRaw?: boolean;
  /**
   * How long a binding whose resources are all gone is remembered (default 24 h): a
   * report of an older state arriving within it is recognized as stale.
   */
  tombstoneRetentionMs?: number;
  /** Called with every interval as it closes (never for ones still open). */
  onClose?: (interval: Interval) => void;
}

export type ApplyOutcome = 'applied' | 'stale' | 'duplicate' | 'noted';

export interface EngineStats {
  bindingEvents: number;
  sourceEvents: number;
  applied: number;
  stale: number;
  duplicate: number;
  /** Events that arrived after the sweep had passed their instant (applied at the sweep's instant). */
  late: number;
  /** Seeded folds: events after the snapshot's offsets received before its time (applied at it; see seed()). */
  beforeSeed: number;
  /** Claims that lost to a holder with a more recent transaction. */
  lostClaims: number;
  reassigned: number;
  retiredStates: number;
  purgedBindings: number;
  unmatchedResyncs: number;
  /** Now and at most, over the run. */
  openIntervals: number;
  maxOpenIntervals: number;
  bindings: number;
  maxBindings: number;
}

interface StateResource {
  key: string;
  validUntil: number;
  preferredUntil: number;
}

interface SourceState extends ReportKey {
  /** From a snapshot: its tie is another hash than the raw one (see seed()). */
  seeded?: boolean;
  resources: StateResource[];
  /** Latest validUntil over ALL the report's live resources (filtered or not); -Infinity if none. */
  liveUntil: number;
  ref: EventRef;
  relayIds: readonly string[];
  remoteIds: readonly string[];
}

interface BindingRec {
  id: string;
  clientId: string;
  linkAddress: string;
  linkKey: string;
  states: SourceState[];
  effective: SourceState | null;
  /** Purge schedule (see schedulePurge). */
  purgeAt: number;
  purgeVersion: number;
}

interface Holding {
  seededFrom?: string;
  key: string;
  binding: BindingRec;
  start: number;
  opened: EventRef;
  latest: EventRef;
  validUntil: number;
  preferredUntil: number;
  sources: string[];
  relayIds: string[];
  remoteIds: string[];
  scheduledAt: number;
  version: number;
}

interface Due {
  at: number;
  /** 0 = expiry of a holding, 1 = purge of a binding: at one instant expiries go first. */
  what: 0 | 1;
  id: string;
  version: number;
}

interface Resync {
  source: string;
  at: number;
  scope: BulkScope | undefined;
}

const DAY = 86_400_000;
const MAX_RESYNCS_PER_SOURCE = 16;
const MAX_COMPLETED = 1024;

function infinite(v: number | null): number {
  return v === null ? Infinity : v;
}

function finite(v: number): number | null {
  return v === Infinity ? null : v;
}

function addUnique(list: string[], items: readonly string[]): void {
  for (const x of items) if (!list.includes(x)) list.push(x);
}

const NONE: readonly string[] = Object.freeze([]);

function relayIdsOf(e: BindingEvent): { relayIds: readonly string[]; remoteIds: readonly string[] } {
  const r = e.relay;
  if (!r) return { relayIds: NONE, remoteIds: NONE };
  const relayIds: string[] = [];
  const remoteIds: string[] = [];
  if (r.relayId !== undefined) relayIds.push(r.relayId);
  if (r.remoteId !== undefined) remoteIds.push(`${r.remoteId.enterpriseNumber}:${r.remoteId.id}`);
  for (const h of r.hops) {
    if (h.relayId !== undefined && !relayIds.includes(h.relayId)) relayIds.push(h.relayId);
    if (h.remoteId !== undefined) {
      const id = `${h.remoteId.enterpriseNumber}:${h.remoteId.id}`;
      if (!remoteIds.includes(id)) remoteIds.push(id);
    }
  }
  return { relayIds, remoteIds };
}

/** The canonical key of a link-address text (so "2001:DB8::1" and "2001:db8::1" are one link). */
function linkKeyOf(text: string): string {
  try {
    return resourceOf(text, null).key;
  } catch {
    return text;
  }
}

export class IntervalEngine {
  private readonly bindings = new Map<string, BindingRec>();
  private readonly holdings = new Map<string, Holding>();
  private readonly due = new MinHeap<Due>((a, b) => a.at < b.at || (a.at === b.at && a.what < b.what));
  private readonly resyncs = new Map<string, Resync>();
  private readonly completed = new Set<string>();
  private readonly retention: number;
  private readonly filter?: (r: Resource) => boolean;
  private readonly keepRaw: boolean;
  private readonly onClose: (iv: Interval) => void;
  private t = -Infinity;
  /** The instant a seed() started the fold at: events before it are not late (see seed()). */
  private seedTime = -Infinity;
  private readonly counters = {
    bindingEvents: 0,
    sourceEvents: 0,
    applied: 0,
    stale: 0,
    duplicate: 0,
    late: 0,
    beforeSeed: 0,
    lostClaims: 0,
    reassigned: 0,
    retiredStates: 0,
    purgedBindings: 0,
    unmatchedResyncs: 0,
    maxOpenIntervals: 0,
    maxBindings: 0,
  };

  constructor(options: EngineOptions = {}) {
    this.retention = options.tombstoneRetentionMs ?? DAY;
    this.filter = options.filter;
    this.keepRaw = options.keepRaw ?? false;
    this.onClose = options.onClose ?? (() => undefined);
  }

  /** The sweep's instant: everything at or before it has been applied. */
  get now(): number {
    return this.t;
  }

  stats(): EngineStats {
    return { ...this.counters, openIntervals: this.holdings.size, bindings: this.bindings.size };
  }

  /**
   * Moves the sweep to `t`: resources whose validUntil is at or before `t` expire (they
   * are not valid AT their validUntil), and bindings past their retention are purged.
   */
  advanceTo(t: number): void {
    for (let d = this.due.peek(); d !== undefined && d.at <= t; d = this.due.peek()) {
      this.due.pop();
      if (d.at > this.t) this.t = d.at;
      if (d.what === 0) this.expire(d);
      else this.purge(d);
    }
    if (t > this.t) this.t = t;
  }

  /** Folds one event in. Events should come in connector-clock order; a late one is applied at the sweep's instant. */
  apply(event: LqEvent, position: RecordPosition): ApplyOutcome {
    let t = event.type === 'binding' ? event.receivedAt : event.at;
    if (t < this.t) {
      if (t >= this.seedTime || this.t > this.seedTime) this.counters.late++;
      else this.counters.beforeSeed++;
      t = this.t;
    }
    this.advanceTo(t);
    if (event.type === 'binding') {
      this.counters.bindingEvents++;
      return this.applyBinding(event, position, t);
    }
    this.counters.sourceEvents++;
    return this.applySource(event, position, t);
  }

  /** The intervals open now (resources held at the sweep's instant), as snapshots. */
  *openIntervals(): Generator<Interval> {
    for (const h of this.holdings.values()) yield this.toInterval(h, null, 'open', null, null);
  }

  /** Hands every open interval to `onClose` as 'open' (end null) and forgets it: the end of an export. */
  closeOpen(): void {
    for (const h of [...this.holdings.values()]) {
      this.holdings.delete(h.key);
      this.onClose(this.toInterval(h, null, 'open', null, null));
    }
  }

  // ---- binding events ------------------------------------------------------------------

  private applyBinding(e: BindingEvent, pos: RecordPosition, t: number): ApplyOutcome {
    const linkKey = linkKeyOf(e.linkAddress);
    const id = `${e.clientId}@${linkKey}`;
    const src = e.source.name;
    const key: ReportKey = {
      source: src,
      lastTx: e.lastTransactionAt,
      receivedAt: e.receivedAt,
      baseTime: e.baseTime,
      cltTime: e.cltTime,
      tie: fnv1a(e.raw),
    };
    let b = this.bindings.get(id);
    let index = -1;
    if (b) {
      index = b.states.findIndex((s) => s.source === src);
      if (index >= 0) {
        const known = b.states[index];
        // A seeded state's tie hashes other bytes than the raw option: on equal
        // instants, the report the snapshot holds is taken to be this one again.
        const c = known.seeded && compareSameSource({ ...key, tie: 0 }, { ...known, tie: 0 }) === 0 ? 0 : compareSameSource(key, known);
        if (c === 0) {
          this.counters.duplicate++;
          return 'duplicate';
        }
        if (c < 0) {
          this.counters.stale++;
          return 'stale';
        }
      }
    } else {
      b = { id, clientId: e.clientId, linkAddress: e.linkAddress, linkKey, states: [], effective: null, purgeAt: Infinity, purgeVersion: 0 };
      this.bindings.set(id, b);
      if (this.bindings.size > this.counters.maxBindings) this.counters.maxBindings = this.bindings.size;
    }
    const state = this.stateOf(e, pos, key);
    if (index >= 0) b.states[index] = state;
    else b.states.push(state);
    this.counters.applied++;
    this.reconcile(b, t, state.ref, 'released', state);
    this.schedulePurge(b);
    return 'applied';
  }

  private stateOf(e: BindingEvent, pos: RecordPosition, key: ReportKey): SourceState {
    const resources: StateResource[] = [];
    let liveUntil = -Infinity;
    for (let i = 0; i < e.addresses.length + e.prefixes.length; i++) {
      const isAddress = i < e.addresses.length;
      const x = isAddress ? e.addresses[i] : e.prefixes[i - e.addresses.length];
      // A zero valid lifetime is a release (RFC 8415 section 18.2.7; DESIGN.md "Events").
      if (x.validLifetime === 0) continue;
      const valid = infinite(x.validUntil);
      if (valid > liveUntil) liveUntil = valid;
      const r = isAddress ? resourceOf((x as BindingEvent['addresses'][number]).address, null) : resourceOf((x as BindingEvent['prefixes'][number]).prefix, (x as BindingEvent['prefixes'][number]).prefixLength);
      if (this.filter && !this.filter(r)) continue;
      let prev: StateResource | undefined;
      for (const y of resources) if (y.key === r.key) prev = y;
      if (prev) {
        if (valid > prev.validUntil) {
          prev.validUntil = valid;
          prev.preferredUntil = infinite(x.preferredUntil);
        }
        continue;
      }
      resources.push({ key: r.key, validUntil: valid, preferredUntil: infinite(x.preferredUntil) });
    }
    const ref: EventRef = {
      type: 'binding',
      source: e.source.name,
      partition: pos.partition,
      offset: pos.offset,
      receivedAt: e.receivedAt,
      baseTime: e.baseTime,
      clockOffsetMs: e.clockOffsetMs,
      lastTransactionAt: e.lastTransactionAt,
      phase: e.phase,
      kind: null,
      chainSeq: e.chain?.seq ?? null,
    };
    // A filtered fold keeps the bytes only of reports an answer can rest on (they carry a resource asked about).
    if (this.keepRaw && (resources.length > 0 || !this.filter)) ref.raw = e.raw;
    const ids = relayIdsOf(e);
    return {
      source: key.source,
      lastTx: key.lastTx,
      receivedAt: key.receivedAt,
      baseTime: key.baseTime,
      cltTime: key.cltTime,
      tie: key.tie,
      resources,
      liveUntil,
      ref,
      relayIds: ids.relayIds,
      remoteIds: ids.remoteIds,
    };
  }

  /** The most recent (order 2) of a binding's source states. */
  private static effectiveOf(states: readonly SourceState[]): SourceState | null {
    let best: SourceState | null = null;
    for (const s of states) if (best === null || compareAcrossSources(s, best) > 0) best = s;
    return best;
  }

  /**
   * After b's states changed: release what b holds that its effective report no longer
   * has, and claim what it has. `fresh` is the state just stored (for corroboration:
   * a failover partner's report that does not win still names its source).
   */
  private reconcile(b: BindingRec, t: number, cause: EventRef, reason: 'released' | 'retired', fresh?: SourceState): void {
    const prev = b.effective;
    const eff = IntervalEngine.effectiveOf(b.states);
    b.effective = eff;
    if (eff === prev) {
      if (fresh) {
        for (const r of fresh.resources) {
          const h = this.holdings.get(r.key);
          if (h && h.binding === b && r.validUntil > t) addUnique(h.sources, [fresh.source]);
        }
      }
      return;
    }
    if (prev) {
      for (const r of prev.resources) {
        const h = this.holdings.get(r.key);
        if (!h || h.binding !== b) continue;
        const still = eff?.resources.find((x) => x.key === r.key);
        if (!still || still.validUntil <= t) this.close(h, t, reason, cause, null);
      }
    }
    if (eff) this.claim(b, eff, t, cause);
  }

  private claim(b: BindingRec, eff: SourceState, t: number, cause: EventRef): void {
    for (const r of eff.resources) {
      if (r.validUntil <= t) continue;
      const h = this.holdings.get(r.key);
      if (!h) {
        this.open(b, eff, r, t);
      } else if (h.binding === b) {
        h.latest = eff.ref;
        h.preferredUntil = r.preferredUntil;
        h.validUntil = r.validUntil;
        addUnique(h.sources, [eff.source]);
        addUnique(h.relayIds, eff.relayIds);
        addUnique(h.remoteIds, eff.remoteIds);
        if (r.validUntil < h.scheduledAt) this.scheduleExpiry(h);
      } else if (this.beats(b, h.binding)) {
        this.counters.reassigned++;
        this.close(h, t, 'reassigned', cause, b);
        this.open(b, eff, r, t);
      } else {
        this.counters.lostClaims++;
      }
    }
  }

  /** Does binding a's claim beat holder h's (order 2 of their effective reports, then DUID and link)? */
  private beats(a: BindingRec, h: BindingRec): boolean {
    const c = compareAcrossSources(a.effective as SourceState, h.effective as SourceState);
    if (c !== 0) return c > 0;
    if (a.clientId !== h.clientId) return a.clientId > h.clientId;
    return a.linkKey > h.linkKey;
  }

  private open(b: BindingRec, eff: SourceState, r: StateResource, t: number): void {
    const h: Holding = {
      key: r.key,
      binding: b,
      start: t,
      opened: eff.ref,
      latest: eff.ref,
      validUntil: r.validUntil,
      preferredUntil: r.preferredUntil,
      sources: [eff.source],
      relayIds: [...eff.relayIds],
      remoteIds: [...eff.remoteIds],
      scheduledAt: Infinity,
      version: 0,
    };
    this.holdings.set(r.key, h);
    if (this.holdings.size > this.counters.maxOpenIntervals) this.counters.maxOpenIntervals = this.holdings.size;
    this.scheduleExpiry(h);
  }

  private close(h: Holding, at: number, reason: CloseReason, cause: EventRef | null, to: BindingRec | null): void {
    this.holdings.delete(h.key);
    h.version++;
    this.onClose(this.toInterval(h, at, reason, cause, to));
  }

  private toInterval(h: Holding, end: number | null, reason: CloseReason, cause: EventRef | null, to: BindingRec | null): Interval {
    const slash = h.key.indexOf('/');
    return {
      resource: resourceText(h.key),
      kind: slash < 0 ? 'address' : 'prefix',
      prefixLength: slash < 0 ? null : Number(h.key.slice(slash + 1)),
      clientId: h.binding.clientId,
      linkAddress: h.binding.linkAddress,
      start: h.start,
      end,
      closeReason: reason,
      sources: [...h.sources],
      opened: h.opened,
      latest: h.latest,
      closedBy: cause,
      reassignedTo: to ? { clientId: to.clientId, linkAddress: to.linkAddress } : null,
      validUntil: finite(h.validUntil),
      preferredUntil: finite(h.preferredUntil),
      relayIds: [...h.relayIds],
      remoteIds: [...h.remoteIds],
      ...(h.seededFrom !== undefined ? { seededFrom: h.seededFrom } : {}),
    };
  }

  // ---- seeding from a snapshot ------------------------------------------------------------

  /**
   * Starts the fold from a snapshot's state at `at` instead of from nothing: every
   * binding with every source's report, and the bulk resyncs in progress. The fold then
   * continues with the events after the snapshot's offsets. Call on a fresh engine,
   * before any apply(). A resource claimed by several bindings goes to the one whose
   * effective report wins (order 2, as claim()); nothing is closed or counted. Intervals
   * opened here carry `seededFrom` and start at the report in force (held at least
   * since). Events after the snapshot's offsets that were received before `at` (records
   * committed after the snapshot was taken) are applied at `at` without counting as
   * late: the state at any instant from `at` on does not depend on when.
   */
  seed(at: number, bindings: Iterable<SeedBinding>, resyncs: Iterable<SeedResync>, snapshot: string): void {
    if (this.bindings.size > 0 || this.t !== -Infinity) throw new Error('seed() needs a fresh engine');
    this.t = at;
    this.seedTime = at;
    for (const r of resyncs) this.resyncs.set(`${r.source}\u0000${r.resyncId}`, { source: r.source, at: r.at, scope: r.scope });
    for (const sb of bindings) {
      const linkKey = linkKeyOf(sb.linkAddress);
      const id = `${sb.clientId}@${linkKey}`;
      const b: BindingRec = { id, clientId: sb.clientId, linkAddress: sb.linkAddress, linkKey, states: [], effective: null, purgeAt: Infinity, purgeVersion: 0 };
      for (const s of sb.states) {
        const resources: StateResource[] = [];
        let liveUntil = -Infinity;
        for (const x of s.resources) {
          const valid = infinite(x.validUntil);
          if (valid > liveUntil) liveUntil = valid;
          if (this.filter && !this.filter(x.resource)) continue;
          if (resources.some((y) => y.key === x.resource.key)) continue;
          resources.push({ key: x.resource.key, validUntil: valid, preferredUntil: infinite(x.preferredUntil) });
        }
        const ref: EventRef = { ...s.ref, snapshot };
        b.states.push({ source: s.source, lastTx: s.lastTx, receivedAt: s.receivedAt, baseTime: s.baseTime, cltTime: s.cltTime, tie: s.tie, seeded: true, resources, liveUntil, ref, relayIds: s.relayIds, remoteIds: s.remoteIds });
      }
      if (b.states.length === 0) continue;
      b.effective = IntervalEngine.effectiveOf(b.states);
      this.bindings.set(id, b);
      const eff = b.effective as SourceState;
      for (const r of eff.resources) {
        if (r.validUntil <= at) continue;
        const h = this.holdings.get(r.key);
        if (h && !this.beats(b, h.binding)) continue;
        if (h) h.version++; // its expiry entry no longer applies
        this.open(b, eff, r, eff.receivedAt);
        const opened = this.holdings.get(r.key) as Holding;
        opened.seededFrom = snapshot;
        // Every source whose report of the binding carries it (a failover pair).
        for (const other of b.states) if (other !== eff && other.resources.some((x) => x.key === r.key && x.validUntil > at)) addUnique(opened.sources, [other.source]);
      }
      this.schedulePurge(b);
    }
    if (this.bindings.size > this.counters.maxBindings) this.counters.maxBindings = this.bindings.size;
  }

  // ---- schedules: one heap entry per open interval and per binding -------------------------

  private scheduleExpiry(h: Holding): void {
    if (h.validUntil === Infinity) {
      h.scheduledAt = Infinity;
      return;
    }
    h.scheduledAt = h.validUntil;
    h.version++;
    this.due.push({ at: h.validUntil, what: 0, id: h.key, version: h.version });
  }

  private expire(d: Due): void {
    const h = this.holdings.get(d.id);
    if (!h || h.version !== d.version) return;
    // Renewals only move validUntil later without a new entry; re-arm at the new instant.
    if (h.validUntil > d.at) this.scheduleExpiry(h);
    else this.close(h, h.validUntil, 'expired', null, null);
  }

  /** When b may be forgotten: its retention after the later of its last report and the end of every resource any source reported. */
  private static forgetAt(b: BindingRec, retention: number): number {
    let last = -Infinity;
    for (const s of b.states) last = Math.max(last, s.liveUntil, s.receivedAt);
    return last + retention;
  }

  private schedulePurge(b: BindingRec): void {
    const at = IntervalEngine.forgetAt(b, this.retention);
    if (at === Infinity || at >= b.purgeAt) return; // an entry at or before `at` exists; it re-arms itself
    b.purgeAt = at;
    b.purgeVersion++;
    this.due.push({ at, what: 1, id: b.id, version: b.purgeVersion });
  }

  private purge(d: Due): void {
    const b = this.bindings.get(d.id);
    if (!b || b.purgeVersion !== d.version) return;
    const at = IntervalEngine.forgetAt(b, this.retention);
    b.purgeAt = Infinity;
    if (at > d.at) {
      this.schedulePurge(b);
      return;
    }
    // Every resource of every state has expired by now, so b holds nothing.
    this.bindings.delete(b.id);
    this.counters.purgedBindings++;
  }

  // ---- source events: bulk resync retirement ----------------------------------------------

  private applySource(e: SourceEvent, pos: RecordPosition, t: number): ApplyOutcome {
    if (e.resyncId === undefined) return 'noted';
    const src = e.source.name;
    const k = `${src}\u0000${e.resyncId}`;
    if (e.kind === 'bulk-started') {
      if (this.resyncs.has(k) || this.completed.has(k)) return 'noted'; // the same marker in another partition
      this.resyncs.set(k, { source: src, at: e.at, scope: e.scope });
      const mine = [...this.resyncs].filter(([, r]) => r.source === src);
      if (mine.length > MAX_RESYNCS_PER_SOURCE) this.resyncs.delete(mine[0][0]);
      return 'applied';
    }
    if (e.kind !== 'bulk-complete') return 'noted';
    const started = this.resyncs.get(k);
    if (!started) {
      if (!this.completed.has(k)) this.counters.unmatchedResyncs++;
      return 'noted';
    }
    this.resyncs.delete(k);
    this.completed.add(k);
    if (this.completed.size > MAX_COMPLETED) this.completed.delete(this.completed.values().next().value as string);
    const scope = started.scope ?? e.scope;
    // A resync of a time window (OPTION_LQ_START_TIME) reports only what changed in the
    // window: silence about a binding says nothing (as in the projection).
    if (!scope || scope.startTime !== undefined || e.scope?.startTime !== undefined) return 'noted';
    const links = new Set(scope.linkAddresses.map(linkKeyOf));
    const relayIds = new Set(scope.relayIds);
    const cause: EventRef = {
      type: 'source',
      source: src,
      partition: pos.partition,
      offset: pos.offset,
      receivedAt: e.at,
      baseTime: e.baseTime,
      clockOffsetMs: null,
      lastTransactionAt: null,
      phase: null,
      kind: e.kind,
      chainSeq: e.chain?.seq ?? null,
    };
    for (const b of [...this.bindings.values()]) {
      const i = b.states.findIndex((s) => s.source === src);
      if (i < 0) continue;
      const s = b.states[i];
      if (s.receivedAt >= started.at) continue; // reported by the resync (or after it began)
      if (!links.has(b.linkKey) && !s.relayIds.some((r) => relayIds.has(r))) continue;
      b.states.splice(i, 1);
      this.counters.retiredStates++;
      this.reconcile(b, t, cause, 'retired');
      if (b.states.length === 0) this.bindings.delete(b.id);
      else this.schedulePurge(b);
    }
    return 'applied';
  }
}

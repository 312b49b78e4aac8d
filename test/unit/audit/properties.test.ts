// Properties of the binding history against a brute-force fold.
//
// The brute force replays every event up to an instant T with the rules stated in
// src/audit/intervals.ts, in the plainest form: each step recomputes each binding's
// effective report from all its sources' reports and re-checks every resource's
// holder, with no intervals, schedules or indexes. The engine's history - every
// interval it emitted, closed or open - must give, for any T, exactly the holders the
// brute force finds at T.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BindingEvent, LqEvent } from '../../../src/events/model.js';
import { IntervalEngine, TimeMerger, eventSort, eventTime, mergeOrder, resourceOf, type Interval, type MergeItem } from '../../../src/audit/index.js';
import { bind, sourceEvent, T0 } from './helpers.js';

const CLIENTS = ['0001000101', '0001000102', '0001000103'];
const LINKS = ['2001:db8:1::1', '2001:db8:2::1'];
const SOURCES = ['dhcp-a', 'dhcp-b'];
const ADDRS = ['2001:db8::1', '2001:db8::2', '2001:db8::3'];
const PREFIXES: [string, number][] = [
  ['2001:db8:10::', 48],
  ['2001:db8:10:100::', 56],
];
const RETENTION = 50_000;

// ---- the brute force -----------------------------------------------------------------------

type Report = BindingEvent;

function serverLastTx(e: Report): number {
  return e.cltTime === null ? -Infinity : e.baseTime - e.cltTime;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Order 1 as a tuple comparison. */
function newerSame(a: Report, b: Report): number {
  const ka = [serverLastTx(a), a.baseTime, a.receivedAt, fnv(a.raw)];
  const kb = [serverLastTx(b), b.baseTime, b.receivedAt, fnv(b.raw)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i] ? 1 : -1;
  return 0;
}

/** Order 2 as a tuple comparison (source names compare as strings). */
function newerAcross(a: Report, b: Report): number {
  const ka: (number | string)[] = [a.lastTransactionAt ?? -Infinity, a.receivedAt, a.source.name, a.baseTime, fnv(a.raw)];
  const kb: (number | string)[] = [b.lastTransactionAt ?? -Infinity, b.receivedAt, b.source.name, b.baseTime, fnv(b.raw)];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] > kb[i] ? 1 : -1;
  return 0;
}

/** Live resources of a report: key -> validUntil. */
function resourcesOf(e: Report): Map<string, number> {
  const out = new Map<string, number>();
  const add = (key: string, vl: number, vu: number | null) => {
    if (vl === 0) return;
    const v = vu ?? Infinity;
    out.set(key, Math.max(out.get(key) ?? -Infinity, v));
  };
  for (const a of e.addresses) add(resourceOf(a.address, null).key, a.validLifetime, a.validUntil);
  for (const p of e.prefixes) add(resourceOf(p.prefix, p.prefixLength).key, p.validLifetime, p.validUntil);
  return out;
}

interface NaiveBinding {
  client: string;
  link: string;
  reports: Map<string, Report>;
}

function effective(b: NaiveBinding): Report | null {
  let best: Report | null = null;
  for (const r of b.reports.values()) if (!best || newerAcross(r, best) > 0) best = r;
  return best;
}

function linkKey(text: string): string {
  return resourceOf(text, null).key;
}

/** Holders at T: resource key -> "client@link". Events in sweep order. */
function bruteForce(events: LqEvent[], T: number): Map<string, string> {
  const bindings = new Map<string, NaiveBinding>();
  const owner = new Map<string, string>();
  const resyncs = new Map<string, { at: number; scope: NonNullable<LqEvent & { type: 'source' }>['scope'] }>();
  const done = new Set<string>();
  const validAt = (id: string, key: string, t: number) => {
    const b = bindings.get(id);
    const eff = b && effective(b);
    const v = eff ? resourcesOf(eff).get(key) : undefined;
    return v !== undefined && v > t;
  };
  const settle = (t: number) => {
    for (const [key, id] of owner) if (!validAt(id, key, t)) owner.delete(key);
    for (const [id, b] of bindings) {
      let last = -Infinity;
      for (const r of b.reports.values()) {
        last = Math.max(last, r.receivedAt);
        for (const v of resourcesOf(r).values()) last = Math.max(last, v);
      }
      if (last + RETENTION <= t) bindings.delete(id);
    }
  };
  const beats = (a: string, h: string): boolean => {
    const ea = effective(bindings.get(a) as NaiveBinding) as Report;
    const eh = effective(bindings.get(h) as NaiveBinding) as Report;
    const c = newerAcross(ea, eh);
    if (c !== 0) return c > 0;
    const [ca, la] = a.split('@');
    const [ch, lh] = h.split('@');
    return ca !== ch ? ca > ch : la > lh;
  };
  const changed = (id: string, before: Report | null, t: number) => {
    const b = bindings.get(id);
    const eff = b ? effective(b) : null;
    if (eff === before) return;
    for (const [key, o] of owner) if (o === id && !validAt(id, key, t)) owner.delete(key);
    if (!eff) return;
    for (const [key, v] of resourcesOf(eff)) {
      if (v <= t) continue;
      const o = owner.get(key);
      if (o === undefined || (o !== id && beats(id, o))) owner.set(key, id);
    }
  };
  for (const e of events) {
    const t = eventTime(e);
    if (t > T) break;
    settle(t);
    if (e.type === 'binding') {
      const id = `${e.clientId}@${linkKey(e.linkAddress)}`;
      let b = bindings.get(id);
      if (!b) bindings.set(id, (b = { client: e.clientId, link: e.linkAddress, reports: new Map() }));
      const old = b.reports.get(e.source.name);
      if (old && newerSame(e, old) <= 0) continue;
      const before = effective(b);
      b.reports.set(e.source.name, e);
      changed(id, before, t);
      continue;
    }
    const k = `${e.source.name}\u0000${e.resyncId}`;
    if (e.kind === 'bulk-started' && !resyncs.has(k) && !done.has(k)) resyncs.set(k, { at: e.at, scope: e.scope });
    if (e.kind !== 'bulk-complete' || !resyncs.has(k)) continue;
    const started = resyncs.get(k) as { at: number; scope: typeof e.scope };
    resyncs.delete(k);
    done.add(k);
    const scope = started.scope;
    if (!scope || scope.startTime !== undefined) continue;
    for (const [id, b] of [...bindings]) {
      const r = b.reports.get(e.source.name);
      if (!r || r.receivedAt >= started.at) continue;
      if (!scope.linkAddresses.map(linkKey).includes(linkKey(b.link))) continue;
      const before = effective(b);
      b.reports.delete(e.source.name);
      if (b.reports.size === 0) bindings.delete(id);
      changed(id, before, t);
    }
  }
  settle(T);
  return owner;
}

// ---- the engine's answer from its history -------------------------------------------------

function holdersFromHistory(intervals: Interval[], T: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const iv of intervals) {
    if (iv.start <= T && (iv.end === null || T < iv.end)) {
      const key = resourceOf(iv.resource.split('/')[0], iv.prefixLength).key;
      expect(out.has(key), `two intervals of ${iv.resource} contain ${T}`).toBe(false);
      out.set(key, `${iv.clientId}@${linkKey(iv.linkAddress)}`);
    }
  }
  return out;
}

interface Swept extends MergeItem {
  event: LqEvent;
}

function sweepOrder(events: LqEvent[]): LqEvent[] {
  const items: Swept[] = events.map((event, i) => ({ time: eventTime(event), partition: 0, offset: BigInt(i), sort: eventSort(event), event }));
  return items.sort((a, b) => (mergeOrder(a, b) ? -1 : mergeOrder(b, a) ? 1 : 0)).map((i) => i.event);
}

function runEngine(ordered: LqEvent[], until: number): Interval[] {
  const intervals: Interval[] = [];
  const engine = new IntervalEngine({ tombstoneRetentionMs: RETENTION, onClose: (iv) => intervals.push(iv) });
  ordered.forEach((e, i) => engine.apply(e, { partition: 0, offset: String(i) }));
  engine.advanceTo(until);
  engine.closeOpen();
  return intervals;
}

// ---- arbitraries ---------------------------------------------------------------------------

const lifetime = fc.oneof(fc.constantFrom(0, 0xffffffff), fc.integer({ min: 1, max: 120 }));

const bindingArb = fc
  .record({
    source: fc.constantFrom(...SOURCES),
    client: fc.constantFrom(...CLIENTS),
    link: fc.constantFrom(...LINKS),
    dt: fc.integer({ min: 0, max: 20_000 }),
    clt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null, freq: 6 }),
    addresses: fc.subarray(ADDRS, { maxLength: 2 }).chain((as) => fc.tuple(...as.map((a) => fc.tuple(fc.constant(a), lifetime)))),
    prefixes: fc.subarray(PREFIXES, { maxLength: 1 }).chain((ps) => fc.tuple(...ps.map(([p, l]) => fc.tuple(fc.constant(p), fc.constant(l), lifetime)))),
    phase: fc.constantFrom('live' as const, 'catch-up' as const),
  })
  .map((s) => ({ kind: 'binding' as const, ...s }));

const stepArb = fc.oneof(
  { weight: 12, arbitrary: bindingArb },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), back: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bulk-started' as const), source: fc.constantFrom(...SOURCES), link: fc.constantFrom(...LINKS), windowed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bulk-complete' as const), dt: fc.integer({ min: 1, max: 5000 }) }) },
);

type Step = typeof stepArb extends fc.Arbitrary<infer S> ? S : never;

/** A sequence of events with increasing receive times, duplicates and bulk resyncs. */
function build(steps: Step[]): LqEvent[] {
  const events: LqEvent[] = [];
  let t = T0;
  let resync = 0;
  const open: Array<{ id: string; source: string; scope: { linkAddresses: string[]; relayIds: string[]; startTime?: number } }> = [];
  for (const s of steps) {
    if (s.kind === 'binding') {
      t += s.dt;
      events.push(
        bind({
          source: s.source,
          client: s.client,
          link: s.link,
          at: t,
          clt: s.clt,
          phase: s.phase,
          addresses: s.addresses.map(([a, l]) => [a, l] as [string, number]),
          prefixes: s.prefixes.map(([p, len, l]) => [p, len, l] as [string, number, number]),
        }),
      );
    } else if (s.kind === 'duplicate') {
      const bindings = events.filter((e): e is BindingEvent => e.type === 'binding');
      if (bindings.length > 0) events.push({ ...bindings[s.back % bindings.length], receivedAt: bindings[s.back % bindings.length].receivedAt });
    } else if (s.kind === 'bulk-started') {
      // Binding events (the resync's reports among them) may follow before its bulk-complete.
      const id = `r${++resync}`;
      const scope = { linkAddresses: [s.link], relayIds: [], ...(s.windowed ? { startTime: 1 } : {}) };
      t += 1;
      events.push(sourceEvent('bulk-started', { source: s.source, at: t, resyncId: id, scope }));
      open.push({ id, source: s.source, scope });
    } else {
      const r = open.shift();
      if (!r) continue;
      t += s.dt;
      events.push(sourceEvent('bulk-complete', { source: r.source, at: t, resyncId: r.id, scope: r.scope }));
    }
  }
  return events;
}

describe('binding history properties', () => {
  it('the holders at any instant equal a brute-force fold of the events up to it', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 5, maxLength: 15 }), (steps, probes) => {
        const ordered = sweepOrder(build(steps));
        if (ordered.length === 0) return;
        const last = eventTime(ordered[ordered.length - 1]);
        const until = last + 300_000;
        const intervals = runEngine(ordered, until);
        const instants = new Set<number>(probes.map((p) => T0 + p));
        // Probe every event instant and every interval boundary too (the edges are where bugs live).
        for (const e of ordered) instants.add(eventTime(e));
        for (const iv of intervals) {
          instants.add(iv.start);
          if (iv.end !== null) {
            instants.add(iv.end);
            instants.add(iv.end - 1);
          }
        }
        for (const T of instants) {
          if (T > until) continue;
          expect(Object.fromEntries(holdersFromHistory(intervals, T)), `at +${T - T0} ms`).toEqual(Object.fromEntries(bruteForce(ordered, T)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('no two intervals of one resource overlap, and every interval is [start, end) with start <= end', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
        const ordered = sweepOrder(build(steps));
        if (ordered.length === 0) return;
        const intervals = runEngine(ordered, eventTime(ordered[ordered.length - 1]) + 300_000);
        const byResource = new Map<string, Interval[]>();
        for (const iv of intervals) {
          if (iv.end !== null) expect(iv.end).toBeGreaterThanOrEqual(iv.start);
          const list = byResource.get(iv.resource) ?? [];
          list.push(iv);
          byResource.set(iv.resource, list);
        }
        for (const list of byResource.values()) {
          list.sort((a, b) => a.start - b.start);
          for (let i = 1; i < list.length; i++) expect(list[i].start).toBeGreaterThanOrEqual(list[i - 1].end ?? Infinity);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('duplicated events (every event delivered twice) change nothing', () => {
    fc.assert(
      fc.property(fc.array(bindingArb, { minLength: 1, maxLength: 30 }), (steps) => {
        const events = build(steps);
        const once = runEngine(sweepOrder(events), T0 + 10_000_000);
        const twice = runEngine(sweepOrder([...events, ...events.map((e) => ({ ...e }))]), T0 + 10_000_000);
        const strip = (ivs: Interval[]) => ivs.map((iv) => `${iv.resource} ${iv.clientId} ${iv.start} ${iv.end} ${iv.closeReason}`).sort();
        expect(strip(twice)).toEqual(strip(once));
      }),
      { numRuns: 150 },
    );
  });

  it('merging partitions read in any interleaving gives the sweep order', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), (steps, partitions, schedule) => {
        const events = build(steps);
        // Keyed like Kafka: a client's events in one partition, in time order (a duplicate
        // re-delivered later sits after its original's neighbours, within the window).
        const parts: Swept[][] = Array.from({ length: partitions }, () => []);
        const byTime = events.map((event, i) => ({ event, i })).sort((a, b) => eventTime(a.event) - eventTime(b.event) || a.i - b.i);
        for (const { event } of byTime) {
          const p = event.type === 'binding' ? CLIENTS.indexOf(event.clientId) % partitions : 0;
          parts[p].push({ time: eventTime(event), partition: p, offset: BigInt(parts[p].length), sort: eventSort(event), event });
        }
        const out: LqEvent[] = [];
        const merger = new TimeMerger<Swept>(
          parts.map((_, i) => i),
          (item) => out.push(item.event),
          { windowMs: 0, maxBuffered: 1_000_000 },
        );
        const cursor = parts.map(() => 0);
        let k = 0;
        for (;;) {
          const open = parts.map((_, i) => i).filter((i) => cursor[i] < parts[i].length);
          if (open.length === 0) break;
          const p = open[schedule[k % schedule.length] % open.length];
          const n = 1 + (schedule[(k * 7 + 3) % schedule.length] % 3);
          k++;
          const batch = parts[p].slice(cursor[p], cursor[p] + n);
          cursor[p] += batch.length;
          for (const item of batch) merger.push(item);
          if (cursor[p] >= parts[p].length) merger.done(p);
          merger.release();
        }
        for (let p = 0; p < partitions; p++) merger.done(p);
        merger.flush();
        expect(merger.stats().late).toBe(0);
        const withOffsets = (list: LqEvent[]) => list.map((e) => `${eventTime(e)} ${eventSort(e)} ${e.type === 'binding' ? e.raw : e.kind}`);
        expect(withOffsets(out)).toEqual(withOffsets(sweepOrder(events)));
      }),
      { numRuns: 200 },
    );
  });
});

// The interval engine on hand-made event sequences: each close reason, failover
// pairs, catch-up duplicates, prefixes, bulk retirement.
import { describe, expect, it } from 'vitest';
import { IntervalEngine, eventSort, eventTime, matchResource, parseAddressArg, peekEvent, resourceOf } from '../../../src/audit/index.js';
import { emptyChainHead, encodeEvent, linkEvent } from '../../../src/events/index.js';
import { bind, brief, history, HOUR, INF, MIN, relay, sourceEvent, T0 } from './helpers.js';

const A = '000300010200000000aa';
const B = '000300010200000000bb';

describe('interval engine', () => {
  it('release closes the interval at the releasing report', () => {
    const grant = bind({ client: A, addresses: ['2001:db8::5'], at: T0 });
    const release = bind({ client: A, addresses: [], at: T0 + 10 * MIN });
    const { intervals } = history([grant, release]);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+600s released [dhcp-a]']);
    expect(intervals[0].closedBy?.offset).toBe('1');
    expect(intervals[0].opened.offset).toBe('0');
  });

  it('a zero valid lifetime is a release', () => {
    const { intervals } = history([bind({ client: A, addresses: ['2001:db8::5'] }), bind({ client: A, addresses: [['2001:db8::5', 0]], at: T0 + MIN })]);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+60s released [dhcp-a]']);
  });

  it('expiry closes at validUntil; renewals extend without splitting', () => {
    const events = [
      bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0 }),
      bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0 + 30_000, clt: 0 }),
      bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0 + 80_000, clt: 0 }),
    ];
    const { intervals } = history(events, { until: T0 + HOUR });
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+140s expired [dhcp-a]']);
    expect(intervals[0].closedBy).toBeNull();
    expect(intervals[0].latest.offset).toBe('2');
  });

  it('a renewal after expiry opens a new interval', () => {
    const { intervals } = history(
      [bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0 }), bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0 + 120_000 })],
      { until: T0 + HOUR },
    );
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+60s expired [dhcp-a]', '2001:db8::5 aa +120s..+180s expired [dhcp-a]']);
  });

  it('a resource already expired when received is never held', () => {
    const e = bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0 });
    e.addresses[0].validUntil = T0 - 1;
    expect(history([e]).intervals).toEqual([]);
  });

  it('catch-up duplicates and older reports do not split an interval', () => {
    const live = bind({ client: A, addresses: ['2001:db8::5'], at: T0 + 10 * MIN, clt: 0 });
    const events = [
      bind({ client: A, addresses: ['2001:db8::5'], at: T0, clt: 0 }),
      live,
      { ...live }, // the same report again (at-least-once delivery upstream)
      // a catch-up replaying an older state (older transaction) that lacked the address
      bind({ client: A, addresses: [], at: T0 + 11 * MIN, clt: 11 * 60 + 5, phase: 'catch-up' }),
      bind({ client: A, addresses: ['2001:db8::5'], at: T0 + 12 * MIN, clt: 0, phase: 'catch-up' }),
    ];
    const { intervals, engine } = history(events);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..open open [dhcp-a]']);
    expect(engine.stats()).toMatchObject({ duplicate: 1, stale: 1, applied: 3 });
  });

  it('a failover pair yields one interval naming both sources; the newer transaction decides', () => {
    const events = [
      bind({ source: 'dhcp-a', client: A, addresses: ['2001:db8::5'], at: T0, clt: 0 }),
      bind({ source: 'dhcp-b', client: A, addresses: ['2001:db8::5'], at: T0 + 1000, clt: 1 }),
      // dhcp-b reports an OLDER transaction without the address: it loses to dhcp-a's state
      bind({ source: 'dhcp-b', client: A, addresses: [], at: T0 + 2000, clt: 60, skewMs: 0 }),
      // dhcp-a reports the release (newest transaction)
      bind({ source: 'dhcp-a', client: A, addresses: [], at: T0 + 5 * MIN, clt: 0 }),
    ];
    const { intervals } = history(events);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+300s released [dhcp-a,dhcp-b]']);
  });

  it('a failover partner with a newer transaction that dropped the resource releases it', () => {
    const events = [
      bind({ source: 'dhcp-a', client: A, addresses: ['2001:db8::5'], at: T0, clt: 0 }),
      bind({ source: 'dhcp-b', client: A, addresses: ['2001:db8::6'], at: T0 + MIN, clt: 0 }),
    ];
    const { intervals } = history(events);
    expect(intervals.map(brief).sort()).toEqual(['2001:db8::5 aa +0s..+60s released [dhcp-a]', '2001:db8::6 aa +60s..open open [dhcp-b]']);
  });

  it('reassignment: a newer transaction of another client takes the resource over', () => {
    const events = [
      bind({ client: A, addresses: ['2001:db8::5'], at: T0, clt: 0 }),
      bind({ client: B, addresses: ['2001:db8::5'], at: T0 + MIN, clt: 0 }),
    ];
    const { intervals, engine } = history(events);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+60s reassigned [dhcp-a]', '2001:db8::5 bb +60s..open open [dhcp-a]']);
    expect(intervals[0].reassignedTo).toEqual({ clientId: B, linkAddress: '2001:db8:1::1' });
    expect(intervals[0].closedBy?.offset).toBe('1');
    expect(engine.stats().reassigned).toBe(1);
  });

  it('an older claim loses to the holder, and a beaten claim does not come back when the holder lets go', () => {
    const events = [
      bind({ client: B, addresses: ['2001:db8::5'], at: T0, clt: 0 }),
      // A's report arrives later but its transaction is older than B's: not held
      bind({ client: A, addresses: ['2001:db8::5'], at: T0 + MIN, clt: 120 }),
      bind({ client: B, addresses: [], at: T0 + 2 * MIN, clt: 0 }),
    ];
    const { intervals, engine } = history(events);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 bb +0s..+120s released [dhcp-a]']);
    expect(engine.stats().lostClaims).toBe(1);
    // ...until A's source reports it again
    const again = history([...events, bind({ client: A, addresses: ['2001:db8::5'], at: T0 + 3 * MIN, clt: 200 })]);
    expect(again.intervals.map(brief)).toEqual(['2001:db8::5 bb +0s..+120s released [dhcp-a]', '2001:db8::5 aa +180s..open open [dhcp-a]']);
  });

  it('prefixes are keyed by their masked bits and length', () => {
    const events = [bind({ client: A, prefixes: [['2001:db8:12::', 56]], at: T0 }), bind({ client: A, prefixes: [['2001:db8:12:0:ffff::', 56]], at: T0 + MIN })];
    const { intervals } = history(events);
    expect(intervals.map(brief)).toEqual(['2001:db8:12::/56 aa +0s..open open [dhcp-a]']);
    expect(intervals[0].kind).toBe('prefix');
    expect(intervals[0].prefixLength).toBe(56);
  });

  it('infinite lifetimes never expire', () => {
    const { intervals } = history([bind({ client: A, addresses: [['2001:db8::5', INF]] })], { until: T0 + 1000 * 24 * HOUR });
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..open open [dhcp-a]']);
    expect(intervals[0].validUntil).toBeNull();
  });

  it('a filter keeps only the resources asked about; expiry of the others still counts for forgetting', () => {
    const q = parseAddressArg('2001:db8:12::77');
    const engine = new IntervalEngine({ filter: (r) => matchResource(q, r) !== null });
    engine.apply(bind({ client: A, addresses: ['2001:db8::5'], prefixes: [['2001:db8:12::', 56]] }), { partition: 0, offset: '0' });
    engine.apply(bind({ client: B, addresses: ['2001:db8:12::77'] }), { partition: 1, offset: '0' });
    expect([...engine.openIntervals()].map((iv) => iv.resource).sort()).toEqual(['2001:db8:12::/56', '2001:db8:12::77']);
    expect(matchResource(q, resourceOf('2001:db8:12::', 56))).toBe('covering');
  });

  it('relay-ids and remote-ids of the reports are kept on the interval', () => {
    const { intervals } = history([bind({ client: A, addresses: ['2001:db8::5'], relay: relay({ relayId: '0102', remoteId: [3561, 'cafe'] }) })]);
    expect(intervals[0].relayIds).toEqual(['0102']);
    expect(intervals[0].remoteIds).toEqual(['3561:cafe']);
  });

  it('a full bulk resync retires what it did not report; a windowed one does not', () => {
    const scope = { linkAddresses: ['2001:db8:1::1'], relayIds: [] };
    const events = [
      bind({ client: A, addresses: ['2001:db8::5'], at: T0 }),
      bind({ client: B, addresses: ['2001:db8::6'], at: T0 }),
      sourceEvent('bulk-started', { at: T0 + MIN, resyncId: 'r1', scope }),
      bind({ client: B, addresses: ['2001:db8::6'], at: T0 + MIN + 100, phase: 'bulk', clt: 60 }),
      sourceEvent('bulk-complete', { at: T0 + 2 * MIN, resyncId: 'r1', scope }),
      // the marker again, from another partition: nothing more happens
      sourceEvent('bulk-complete', { at: T0 + 2 * MIN, resyncId: 'r1', scope }),
    ];
    const { intervals, engine } = history(events);
    expect(intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+120s retired [dhcp-a]', '2001:db8::6 bb +0s..open open [dhcp-a]']);
    expect(intervals[0].closedBy).toMatchObject({ type: 'source', kind: 'bulk-complete', offset: '4' });
    expect(engine.stats().unmatchedResyncs).toBe(0);

    const windowed = { ...scope, startTime: 1 };
    const w = history([events[0], sourceEvent('bulk-started', { at: T0 + MIN, resyncId: 'r2', scope: windowed }), sourceEvent('bulk-complete', { at: T0 + 2 * MIN, resyncId: 'r2', scope: windowed })]);
    expect(w.intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..open open [dhcp-a]']);
  });

  it('forgets a released binding after the tombstone retention, not before', () => {
    const events = [
      bind({ client: A, addresses: [['2001:db8::5', 60]], at: T0, clt: 0 }),
      bind({ client: A, addresses: [], at: T0 + 10_000, clt: 0 }),
      // an old catch-up report within the retention: stale
      bind({ client: A, addresses: [['2001:db8::5', 600]], at: T0 + 20_000, clt: 30, phase: 'catch-up' }),
    ];
    const kept = history(events, { tombstoneRetentionMs: HOUR });
    expect(kept.intervals.map(brief)).toEqual(['2001:db8::5 aa +0s..+10s released [dhcp-a]']);
    const engine = kept.engine;
    engine.advanceTo(T0 + 2 * HOUR);
    expect(engine.stats()).toMatchObject({ bindings: 0, purgedBindings: 1 });
  });

  it('a late event is applied at the sweep instant and counted', () => {
    const engine = new IntervalEngine();
    engine.apply(bind({ client: A, addresses: ['2001:db8::5'], at: T0 + MIN }), { partition: 0, offset: '0' });
    engine.apply(bind({ client: B, addresses: ['2001:db8::6'], at: T0 }), { partition: 0, offset: '1' });
    const open = [...engine.openIntervals()];
    expect(open.find((iv) => iv.clientId === B)?.start).toBe(T0 + MIN);
    expect(engine.stats().late).toBe(1);
  });

  it('the merge order read from the record bytes equals the decoded event\'s', () => {
    let head = emptyChainHead();
    const events = [
      bind({ client: A, addresses: ['2001:db8::5'], prefixes: [['2001:db8:12::', 56]], relay: relay({ relayId: '0102', remoteId: [3561, 'cafe'] }), at: T0 - 5 }),
      bind({ client: B, link: '2001:db8:99::1', addresses: [], at: T0 + 123_456 }),
      sourceEvent('bulk-complete', { source: 'dhcp-b', at: T0 + 7, resyncId: 'r', scope: { linkAddresses: ['2001:db8:1::1'], relayIds: [], startTime: 5 } }),
      sourceEvent('connected', { at: T0 }),
    ];
    for (const e of events) {
      head = linkEvent(e, head);
      expect(peekEvent(encodeEvent(e).value)).toEqual({ time: eventTime(e), sort: eventSort(e) });
    }
    // Anything unusual is left to the full decoder.
    const odd = bind({ source: 'dhcp "quoted"', client: A, at: T0 });
    expect(peekEvent(encodeEvent(odd).value)).toBeUndefined();
    expect(peekEvent(Buffer.from('{oops'))).toBeUndefined();
  });
});


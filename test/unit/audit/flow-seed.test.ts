// Flow control of the time merge (steer) and seeding the interval engine from a
// snapshot's state (seed).
import { describe, expect, it } from 'vitest';
import { IntervalEngine, TimeMerger, resourceOf, type EventRef, type MergeItem, type SeedState } from '../../../src/audit/index.js';
import { bind, HOUR, MIN, T0 } from './helpers.js';

const item = (partition: number, time: number, offset: number): MergeItem => ({ partition, time, offset: BigInt(offset), sort: '' });

describe('TimeMerger.steer', () => {
  it('pauses partitions more than the window ahead of the slowest one still read, resumes them when it catches up', () => {
    const out: MergeItem[] = [];
    const m = new TimeMerger<MergeItem>([0, 1, 2], (x) => out.push(x), { windowMs: 1_000, maxBuffered: 1_000 });
    m.push(item(1, 10_000, 0));
    m.release();
    // 0 and 2 have shown nothing yet: they are the slowest, 1 waits for them.
    expect(m.steer()).toEqual({ pause: [1], resume: [] });
    m.push(item(0, 2_000, 0));
    m.push(item(2, 9_500, 0));
    m.release();
    // Slowest is 0 at 2 s: 1 (10 s) stays paused, 2 (9.5 s) is paused too; 0 never is.
    expect(m.steer()).toEqual({ pause: [2], resume: [] });
    expect(m.paused()).toEqual([1, 2]);
    m.push(item(0, 9_000, 1));
    m.release();
    // 0 at 9 s: 2 is within the window, 1 is 1 s ahead (not more): both resume.
    expect(m.steer()).toEqual({ pause: [], resume: [1, 2] });
    expect(m.stats()).toMatchObject({ pauses: 2, resumes: 2, late: 0 });
    // A partition that is done no longer holds the others back.
    m.push(item(1, 30_000, 1));
    m.release();
    expect(m.steer().pause).toEqual([1]);
    m.done(0);
    m.done(2);
    m.release();
    expect(m.steer()).toEqual({ pause: [], resume: [1] });
    expect(m.paused()).toEqual([]);
  });
});

function seedState(e: ReturnType<typeof bind>, partition: number): SeedState {
  const ref: EventRef = {
    type: 'binding',
    source: e.source.name,
    partition,
    offset: '',
    receivedAt: e.receivedAt,
    baseTime: e.baseTime,
    clockOffsetMs: e.clockOffsetMs,
    lastTransactionAt: e.lastTransactionAt,
    phase: e.phase,
    kind: null,
    chainSeq: null,
  };
  return {
    source: e.source.name,
    lastTx: e.lastTransactionAt,
    receivedAt: e.receivedAt,
    baseTime: e.baseTime,
    cltTime: e.cltTime,
    tie: 12345,
    resources: e.addresses.map((a) => ({ resource: resourceOf(a.address, null), validUntil: a.validUntil, preferredUntil: a.preferredUntil })),
    ref,
    relayIds: [],
    remoteIds: [],
  };
}

describe('IntervalEngine.seed', () => {
  const A = '000300010200000000aa';
  const B = '000300010200000000bb';

  it('holds what the snapshot holds, flagged; the newest claim of a contested resource wins; the fold goes on from there', () => {
    const a = bind({ client: A, addresses: [['2001:db8::5', 86_400]], at: T0 });
    const b = bind({ client: B, addresses: [['2001:db8::5', 86_400]], at: T0 + HOUR });
    const bPartner = bind({ client: B, source: 'dhcp-b', addresses: [['2001:db8::5', 86_400]], at: T0 + HOUR + 3 });
    const e = new IntervalEngine();
    const S = T0 + 2 * HOUR;
    e.seed(
      S,
      [
        { clientId: A, linkAddress: a.linkAddress, states: [seedState(a, 0)] },
        { clientId: B, linkAddress: b.linkAddress, states: [seedState(b, 1), seedState(bPartner, 1)] },
      ],
      [],
      'projection-000000000001.lqsnap',
    );
    const open = [...e.openIntervals()];
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ clientId: B, start: T0 + HOUR + 3, seededFrom: 'projection-000000000001.lqsnap', closeReason: 'open' });
    expect(open[0].sources.sort()).toEqual(['dhcp-a', 'dhcp-b']);
    expect(open[0].opened.snapshot).toBe('projection-000000000001.lqsnap');
    expect(e.stats()).toMatchObject({ reassigned: 0, lostClaims: 0, bindings: 2 });

    // The same report again (as read after the snapshot's offsets): a duplicate, whatever the tie.
    expect(e.apply(b, { partition: 1, offset: '7' })).toBe('duplicate');
    // A record committed after the snapshot but received before it: applied at its time, not late.
    const release = bind({ client: B, addresses: [], at: S - MIN });
    const partnerRelease = bind({ client: B, source: 'dhcp-b', addresses: [], at: S - MIN + 3 });
    expect(e.apply(release, { partition: 1, offset: '8' })).toBe('applied');
    expect(e.apply(partnerRelease, { partition: 1, offset: '9' })).toBe('applied');
    expect(e.stats()).toMatchObject({ late: 0, beforeSeed: 3 });
    expect([...e.openIntervals()]).toEqual([]);
    // After the sweep moved past the snapshot's time, an old event is late again.
    e.apply(bind({ client: A, addresses: [['2001:db8::6', 600]], at: S + MIN }), { partition: 0, offset: '3' });
    e.apply(bind({ client: B, addresses: [['2001:db8::7', 600]], at: S - 2 * MIN }), { partition: 1, offset: '10' });
    expect(e.stats()).toMatchObject({ late: 1, beforeSeed: 3 });
  });
});

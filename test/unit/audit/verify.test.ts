// The chain verifier over in-memory "partitions": an intact chain passes; removed,
// altered, reordered, duplicated and forged events are each reported with where they are.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChainVerifier, TimeMerger, type MergeItem, type VerifyReport } from '../../../src/audit/index.js';
import { emptyChainHead, encodeEvent, linkEvent, type ChainHead, type LqEvent } from '../../../src/events/index.js';
import { bind, sourceEvent, T0 } from './helpers.js';

interface Rec {
  partition: number;
  timestamp: number;
  value: Buffer | null;
}

/** A source's chain of `n` events spread over `partitions` by client, one ms apart, plus the head. */
function chain(n: number, opts: { source?: string; partitions?: number; start?: number } = {}): { recs: Rec[]; head: ChainHead; events: LqEvent[] } {
  const source = opts.source ?? 'dhcp-a';
  const partitions = opts.partitions ?? 3;
  let head = emptyChainHead();
  const recs: Rec[] = [];
  const events: LqEvent[] = [];
  for (let i = 0; i < n; i++) {
    const at = (opts.start ?? T0) + i;
    const e: LqEvent = i % 7 === 3 ? sourceEvent('connected', { source, at }) : bind({ source, client: `00030001${(i % 5).toString(16).padStart(4, '0')}`, addresses: [`2001:db8::${i + 1}`], at });
    head = linkEvent(e, head);
    events.push(e);
    const partition = e.type === 'binding' ? Number.parseInt(e.clientId.slice(-2), 16) % partitions : 0;
    recs.push({ partition, timestamp: at, value: encodeEvent(e).value });
  }
  return { recs, head, events };
}

/** Feeds records through the time merge (partitions in offset order) into a verifier. */
function verify(recs: Rec[], opts: { heads?: Map<string, ChainHead>; toEnd?: boolean; fromStart?: boolean; source?: string; windowMs?: number; partitions?: number[] } = {}): VerifyReport {
  const partitions = opts.partitions ?? [...new Set(recs.map((r) => r.partition))];
  const v = new ChainVerifier({ fromStart: opts.fromStart ?? true, source: opts.source, windowMs: opts.windowMs ?? 10, partitions });
  interface Item extends MergeItem {
    value: Buffer | null;
  }
  const m = new TimeMerger<Item>(partitions, (it) => v.record(it.partition, it.offset, it.time, it.value), { windowMs: opts.windowMs ?? 10, maxBuffered: 1e6 });
  const offsets = new Map<number, number>();
  for (const r of recs) {
    const o = offsets.get(r.partition) ?? 0;
    offsets.set(r.partition, o + 1);
    m.push({ time: r.timestamp, partition: r.partition, offset: BigInt(o), sort: '', value: r.value });
    m.release();
  }
  m.flush();
  return v.finish(opts.heads, opts.toEnd ?? true);
}

function heads(...list: Array<[string, ChainHead]>): Map<string, ChainHead> {
  return new Map(list);
}

/** Re-encode an event object, keeping its chain as it is (an attacker's edit). */
function raw(e: unknown): Buffer {
  return Buffer.from(JSON.stringify(e));
}

describe('chain verification', () => {
  it('an intact chain over several partitions passes, from genesis to the head', () => {
    const { recs, head } = chain(50);
    const r = verify(recs, { heads: heads(['dhcp-a', head]) });
    expect(r.breaks).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.sources).toMatchObject([{ source: 'dhcp-a', events: 50, firstSeq: 1, lastSeq: 50, fromGenesis: true, headChecked: true }]);
  });

  it('two sources interleaved are checked independently', () => {
    const a = chain(20, { source: 'dhcp-a' });
    const b = chain(20, { source: 'dhcp-b', start: T0 + 5 });
    const r = verify([...a.recs, ...b.recs].sort((x, y) => x.timestamp - y.timestamp), { heads: heads(['dhcp-a', a.head], ['dhcp-b', b.head]) });
    expect(r.ok).toBe(true);
    expect(r.sources.map((s) => [s.source, s.lastSeq])).toEqual([
      ['dhcp-a', 20],
      ['dhcp-b', 20],
    ]);
  });

  it('a removed event is reported as missing, with the next one present', () => {
    const { recs, head } = chain(30);
    const removed = recs.filter((_, i) => i !== 11);
    const r = verify(removed, { heads: heads(['dhcp-a', head]) });
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ kind: 'missing', source: 'dhcp-a', seq: 12 });
    expect(r.firstBreak?.message).toContain('next present: seq 13');
    expect(r.breakCount).toBe(1);
  });

  it('the first events removed from the start of the topic are reported (not genesis)', () => {
    const { recs, head } = chain(10);
    const r = verify(recs.slice(2), { heads: heads(['dhcp-a', head]) });
    expect(r.firstBreak).toMatchObject({ kind: 'not-genesis', seq: 3 });
    // a range that starts mid-topic anchors there instead
    expect(verify(recs.slice(2), { heads: heads(['dhcp-a', head]), fromStart: false }).ok).toBe(true);
  });

  it('events removed at the end are caught by the head in lq.sources', () => {
    const { recs, head } = chain(10);
    const r = verify(recs.slice(0, 8), { heads: heads(['dhcp-a', head]) });
    expect(r.firstBreak).toMatchObject({ kind: 'head-mismatch', seq: 10 });
    expect(r.firstBreak?.message).toContain('seq 9..10 missing at the end');
    // not checked when the range does not reach the end
    expect(verify(recs.slice(0, 8), { heads: heads(['dhcp-a', head]), toEnd: false }).ok).toBe(true);
  });

  it('an altered event fails its own hash', () => {
    const { recs, head, events } = chain(10);
    const e = JSON.parse(JSON.stringify(events[4])) as { addresses: Array<{ address: string }> };
    e.addresses[0].address = '2001:db8::dead';
    const altered = recs.map((r, i) => (i === 4 ? { ...r, value: raw(e) } : r));
    const r = verify(altered, { heads: heads(['dhcp-a', head]) });
    expect(r.breaks.map((b) => [b.kind, b.seq])).toEqual([['hash-mismatch', 5]]);
    expect(r.firstBreak?.partition).toBe(recs[4].partition);
  });

  it('an altered event with a recomputed hash breaks its successor\'s link', () => {
    const { recs, head, events } = chain(10);
    const e = JSON.parse(JSON.stringify(events[4])) as LqEvent & { chain: { prev: string; hash: string } };
    (e as { receivedAt: number }).receivedAt += 1;
    const { chain: c, ...body } = e;
    c.hash = createHash('sha256').update(c.prev).update('\n').update(JSON.stringify(body)).digest('hex');
    const altered = recs.map((r, i) => (i === 4 ? { ...r, value: raw({ ...body, chain: c }) } : r));
    const r = verify(altered, { heads: heads(['dhcp-a', head]) });
    expect(r.breaks.map((b) => [b.kind, b.seq])).toEqual([['prev-mismatch', 6]]);
  });

  it('records moved within a partition are reported as reordered', () => {
    const { recs, head } = chain(20, { partitions: 1 });
    const moved = [...recs];
    [moved[5], moved[6]] = [moved[6], moved[5]];
    // keep timestamps in offset order, as a rewrite of the log would
    [moved[5].timestamp, moved[6].timestamp] = [moved[6].timestamp, moved[5].timestamp];
    const r = verify(moved, { heads: heads(['dhcp-a', head]) });
    expect(r.firstBreak).toMatchObject({ kind: 'reordered', seq: 6, partition: 0 });
  });

  it('a record moved far from its place is reported missing there, then moved', () => {
    const { recs, head } = chain(40, { partitions: 1 });
    const moved = [...recs.slice(0, 5), ...recs.slice(6), { ...recs[5], timestamp: recs[39].timestamp }];
    const r = verify(moved, { heads: heads(['dhcp-a', head]) });
    expect(r.breaks.map((b) => [b.kind, b.seq])).toEqual([
      ['missing', 6],
      ['reordered', 6],
    ]);
  });

  it('a duplicated event and a forged copy of one seq are told apart', () => {
    const { recs, head, events } = chain(10);
    const dup = [...recs.slice(0, 6), { ...recs[3], timestamp: recs[5].timestamp }, ...recs.slice(6)];
    const r1 = verify(dup, { heads: heads(['dhcp-a', head]) });
    expect(r1.breaks.map((b) => [b.kind, b.seq])).toEqual([['duplicate', 4]]);

    // a different event claiming seq 4, correctly hashed onto seq 3
    const forged = bind({ source: 'dhcp-a', client: '000300010000', addresses: ['2001:db8::bad'], at: recs[5].timestamp });
    linkEvent(forged, { seq: 3, hash: (events[2].chain as { hash: string }).hash });
    const r2 = verify([...recs.slice(0, 6), { partition: 0, timestamp: recs[5].timestamp, value: encodeEvent(forged).value }, ...recs.slice(6)], { heads: heads(['dhcp-a', head]) });
    expect(r2.breaks.map((b) => [b.kind, b.seq])).toEqual([['conflict', 4]]);
  });

  it('events arriving out of order across partitions within the window are fine', () => {
    const { recs, head } = chain(30);
    // a partition lagging by a few ms: still within the 10 ms window
    const lagged = recs.map((r) => (r.partition === 1 ? { ...r, timestamp: r.timestamp + 5 } : r));
    expect(verify(lagged, { heads: heads(['dhcp-a', head]) }).ok).toBe(true);
  });

  it('records that are not events, and events without a chain, are breaks', () => {
    const { recs, head } = chain(5);
    const unchained = bind({ source: 'dhcp-a', at: T0 + 100 });
    const r = verify([...recs, { partition: 0, timestamp: T0 + 50, value: Buffer.from('{oops') }, { partition: 0, timestamp: T0 + 100, value: encodeEvent(unchained).value }], { heads: heads(['dhcp-a', head]) });
    expect(r.breaks.map((b) => b.kind)).toEqual(['not-an-event', 'unchained']);
    expect(r.nonEvents).toBe(1);
  });

  it('bulk markers are in every partition: copies are not duplicates, a missing copy is a break', () => {
    let head = emptyChainHead();
    const recs: Rec[] = [];
    const add = (e: LqEvent, partitions: number[]) => {
      head = linkEvent(e, head);
      for (const p of partitions) recs.push({ partition: p, timestamp: e.type === 'binding' ? e.receivedAt : e.at, value: encodeEvent(e).value });
    };
    add(bind({ client: '000300010001', addresses: ['2001:db8::1'], at: T0 }), [1]);
    add(sourceEvent('bulk-started', { at: T0 + 1, resyncId: 'r1', scope: { linkAddresses: [], relayIds: [] } }), [0, 1, 2]);
    add(bind({ client: '000300010002', addresses: ['2001:db8::2'], at: T0 + 2 }), [2]);
    add(sourceEvent('bulk-complete', { at: T0 + 3, resyncId: 'r1', scope: { linkAddresses: [], relayIds: [] } }), [0, 1, 2]);
    const ok = verify(recs, { heads: heads(['dhcp-a', head]), partitions: [0, 1, 2] });
    expect(ok.breaks).toEqual([]);
    expect(ok.sources[0]).toMatchObject({ events: 4, lastSeq: 4 });
    const lost = verify(recs.filter((r, i) => !(i === recs.length - 1)), { heads: heads(['dhcp-a', head]), partitions: [0, 1, 2] });
    expect(lost.breaks.map((b) => [b.kind, b.seq, b.partition])).toEqual([['missing', 4, 2]]);
    expect(lost.firstBreak?.message).toMatch(/bulk-complete seq 4 .* missing from partition\(s\) 2/);
    const twice = verify([...recs, { ...recs[recs.length - 1] }], { heads: heads(['dhcp-a', head]), partitions: [0, 1, 2] });
    expect(twice.breaks.map((b) => [b.kind, b.seq])).toEqual([['duplicate', 4]]);
  });

  it('--source checks one chain only', () => {
    const a = chain(10, { source: 'dhcp-a' });
    const b = chain(10, { source: 'dhcp-b' });
    const r = verify([...a.recs, ...b.recs.filter((_, i) => i !== 4)].sort((x, y) => x.timestamp - y.timestamp), { source: 'dhcp-a', heads: heads(['dhcp-a', a.head], ['dhcp-b', b.head]) });
    expect(r.ok).toBe(true);
    expect(r.sources.map((s) => s.source)).toEqual(['dhcp-a']);
  });
});

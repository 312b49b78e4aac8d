import { describe, expect, it } from 'vitest';
import { LeaseDb } from '../../../src/lab/db.js';
import { addressKey, keyToAddress, prefixKey } from '../../../src/lab/keys.js';
import { Topology } from '../../../src/lab/topology.js';
import { parseIPv6 } from '../../../src/protocol/index.js';

function makeDb(opts: { clients?: number; historySize?: number; clock?: { t: number } } = {}) {
  const clock = opts.clock ?? { t: 1_700_000_000_000 };
  const topology = new Topology({ seed: 5, clients: opts.clients ?? 100, links: 4, pdRatio: 0.5 });
  const db = new LeaseDb({ topology, historySize: opts.historySize ?? 50, hostClock: () => clock.t });
  return { db, topology, clock };
}

const key = (a: string) => addressKey(parseIPv6(a));

describe('LeaseDb', () => {
  it('finds a binding by exact address', () => {
    const { db, topology } = makeDb();
    const c = [...Array(100).keys()].find((i) => topology.kind(i) !== 'pd')!;
    db.bind(c, 2);
    const r = db.findByAddress(addressKey(topology.address(c, 2)));
    expect(r?.client).toBe(c);
    expect(r?.link).toBe(2);
  });

  it('finds the binding of the delegated prefix containing an address (longest prefix)', () => {
    const { db, topology } = makeDb();
    const c = [...Array(100).keys()].find((i) => topology.kind(i) !== 'na')!;
    db.bind(c, 1);
    const pfx = topology.prefix(c);
    const inside = Buffer.from(pfx);
    inside[15] = 0x42; // an address inside the delegated prefix (every length used is >= /56... and <= /64)
    expect(db.findByAddress(addressKey(inside))?.client).toBe(c);
    const outside = Buffer.from(pfx);
    outside[5] ^= 0xff; // flips bits above /48: not in the prefix
    expect(db.findByAddress(addressKey(outside))).toBeUndefined();
  });

  it('address keys round-trip; prefixKey masks to the prefix length', () => {
    expect(keyToAddress(key('2001:db8::1:2')).equals(parseIPv6('2001:db8::1:2'))).toBe(true);
    expect(prefixKey(key('2001:db8:8000:1ff::'), 60)).toBe(prefixKey(key('2001:db8:8000:1f0::'), 60));
    expect(prefixKey(key('2001:db8:8000:1ff::'), 56)).toBe(key('2001:db8:8000:100::').slice(0, 4));
    expect(prefixKey(key('2001:db8:8000:1ff::'), 56)).not.toBe(prefixKey(key('2001:db8:8000:2ff::'), 56));
    expect(prefixKey(key('2001:db8:1:2:3:4:5:6'), 128)).toBe(key('2001:db8:1:2:3:4:5:6'));
    expect(prefixKey(key('2001:db8:1:2:3:4:5:6'), 0)).toBe('');
  });

  it('release leaves a tombstone that no address lookup finds, and that pruning removes', () => {
    const { db, topology, clock } = makeDb();
    const c = [...Array(100).keys()].find((i) => topology.kind(i) === 'both')!;
    const r = db.bind(c, 0);
    db.drop(r.key, 'release');
    expect(db.findByAddress(addressKey(topology.address(c, 0)))).toBeUndefined();
    expect(db.get(r.key)?.addr).toBeNull();
    expect(db.activeBindings).toBe(0);
    clock.t += db.tombstoneRetentionMs + 1;
    expect(db.pruneTombstones()).toBe(1);
    expect(db.get(r.key)).toBeUndefined();
    expect(db.linksOf(c)).toEqual([]);
  });

  it('move drops the old link binding and binds on the new one', () => {
    const { db } = makeDb();
    db.bind(3, 0);
    db.move(3, 2);
    const recs = db.recordsOfClient(3);
    expect(recs.map((r) => [r.link, r.addr !== null || r.prefix !== null]).sort()).toEqual([
      [0, false],
      [2, true],
    ]);
  });

  it('keeps a bounded history and reports how far back it reaches', () => {
    const { db, clock } = makeDb({ historySize: 10 });
    const t0 = clock.t;
    expect(db.historySince(t0)).toBeUndefined(); // nothing before the DB existed is in the history
    clock.t += 1000;
    for (let i = 0; i < 5; i++) {
      db.bind(i, 0);
      clock.t += 1000;
    }
    expect(db.historySince(t0 + 1)?.length).toBe(5);
    expect(db.historySince(t0 + 3000)?.map((r) => r.client)).toEqual([2, 3, 4]);
    for (let i = 5; i < 20; i++) {
      db.bind(i, 1);
      clock.t += 1000;
    }
    // 20 changes, 10 kept: the first kept one is client 10's, made at t0 + 11000.
    expect(db.historySince(t0 + 1)).toBeUndefined();
    expect(db.historySince(t0 + 11_000)?.length).toBe(10);
    expect(db.historySince(t0 + 10_999)?.length).toBe(10);
    expect(db.historySince(t0 + 10_000)).toBeUndefined();
  });

  it('applies the clock offset to every instant', () => {
    const clock = { t: 1_700_000_000_000 };
    const topology = new Topology({ seed: 1, clients: 10, links: 1, pdRatio: 0 });
    const db = new LeaseDb({ topology, clockOffsetMs: -3_600_000, hostClock: () => clock.t });
    const r = db.bind(0, 0);
    expect(r.changedAt).toBe(clock.t - 3_600_000);
    expect(r.validUntil).toBe(clock.t - 3_600_000 + 3_600_000);
  });
});

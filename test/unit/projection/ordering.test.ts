import { describe, expect, it } from 'vitest';
import type { Binding } from '../../../src/leasequery/view.js';
import { binding, bytes, clock, ip, projection, sourceEvent, T0 } from './helpers.js';

const A = '000300010200000000aa';
const B = '000300010200000000bb';
const L1 = '2001:db8:1::1';
const L2 = '2001:db8:2::1';
const clientOf = (b: Binding | undefined): string | undefined => b?.clientDuid.toString('hex');

describe('apply: idempotent and order-tolerant', () => {
  it('applying an event twice is applying it once (no second change, no second notification)', () => {
    const p = projection();
    const seen: Binding[] = [];
    p.subscribe((b) => seen.push(b));
    const e = binding({ client: A, addresses: ['2001:db8:1::100'] });
    expect(p.apply(e)).toBe('applied');
    const once = p.dump();
    expect(p.apply(e)).toBe('duplicate');
    expect(p.apply(structuredClone(e))).toBe('duplicate');
    expect(p.dump()).toEqual(once);
    expect(seen).toHaveLength(1);
    expect(p.stats()).toMatchObject({ applied: 1, duplicate: 2, bindings: 1, resources: 1 });
  });

  it('a record at or below the partition offset already applied is a duplicate', () => {
    const p = projection();
    expect(p.apply(binding({ client: A, addresses: ['2001:db8:1::100'] }), { partition: 3, offset: '41' })).toBe('applied');
    // Even a different, newer event: the offset says it was consumed already.
    expect(p.apply(binding({ client: A, addresses: ['2001:db8:1::200'], at: T0 + 1000 }), { partition: 3, offset: 41n })).toBe('duplicate');
    expect(p.apply(binding({ client: A, addresses: ['2001:db8:1::200'], at: T0 + 1000 }), { partition: 4, offset: '0' })).toBe('applied');
    expect(p.positions()).toEqual(new Map([[3, 41n], [4, 0n]]));
    expect(p.stats().offsets).toEqual({ '3': '41', '4': '0' });
  });

  it('a binding names the report it rests on: source, Kafka position, both clocks', () => {
    const p = projection();
    const e = binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 + 5_250, clt: 7, skewMs: 2_000 });
    p.apply(e, { partition: 2, offset: 1234n });
    expect(p.byAddress(ip('2001:db8:1::100'))?.provenance).toEqual({ source: 'dhcp-a', partition: 2, offset: 1234, receivedAt: T0 + 5_250, baseTime: e.baseTime, cltTime: 7, phase: 'live' });
    // Without a position (a test, a tool): no Kafka place to name.
    const q = projection();
    q.apply(binding({ client: A, addresses: ['2001:db8:1::100'], clt: null, phase: 'catch-up' }));
    expect(q.byAddress(ip('2001:db8:1::100'))?.provenance).toMatchObject({ partition: null, offset: null, cltTime: null, phase: 'catch-up' });
  });

  it('one source\'s reports in one partition stand in log order, whatever the server clock did', () => {
    // The server's clock is stepped back 60 s after its first report: its next change of
    // the same binding says an older transaction, yet it is the newer state (the log is
    // the server's order). Without positions only the clock can tell: the old rule.
    const before = binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 + 100_000, clt: 0 });
    const after = binding({ client: A, addresses: ['2001:db8:1::200'], at: T0 + 101_000, clt: 0, skewMs: 60_000 });
    expect(after.baseTime).toBeLessThan(before.baseTime);
    const p = projection();
    p.apply(before, { partition: 1, offset: 10n });
    expect(p.apply(after, { partition: 1, offset: 11n })).toBe('applied');
    expect(p.byAddress(ip('2001:db8:1::100'))).toBeUndefined();
    expect(clientOf(p.byAddress(ip('2001:db8:1::200')))).toBe(A);
    const q = projection();
    q.apply(before);
    expect(q.apply(after)).toBe('stale');
    // Two changes in one server second received in the same millisecond: the later record
    // stands, not the one whose content hash is larger.
    const one = binding({ client: B, addresses: ['2001:db8:1::300'], at: T0 + 5_000, clt: 0 });
    const two = binding({ client: B, addresses: [], at: T0 + 5_000, clt: 0 });
    for (const [first, second] of [
      [one, two],
      [two, one],
    ]) {
      const r = projection();
      r.apply(first, { partition: 4, offset: 7n });
      expect(r.apply(second, { partition: 4, offset: 8n })).toBe('applied');
      expect(r.byAddress(ip('2001:db8:1::300')) === undefined).toBe(second === two);
    }
  });

  it('an older catch-up report for a (source, client, link) changes nothing', () => {
    const p = projection();
    p.apply(binding({ client: A, addresses: ['2001:db8:1::200'], at: T0 + 60_000, clt: 0 }));
    // Catch-up replaying history: received later, but its client transaction is older.
    const stale = binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 + 120_000, clt: 100, phase: 'catch-up' });
    expect(p.apply(stale)).toBe('stale');
    expect(p.byAddress(ip('2001:db8:1::100'))).toBeUndefined();
    expect(clientOf(p.byAddress(ip('2001:db8:1::200')))).toBe(A);
    expect(p.stats().stale).toBe(1);
  });

  it('a later report of the same transaction (e.g. reclaim) wins despite connector-clock jitter', () => {
    const p = projection();
    // Live report 0.9 s into a server second; the later report is rounded the other way:
    // its connector-clock lastTransactionAt is earlier, its server-clock transaction equal.
    p.apply(binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 + 900, clt: 0 }));
    const later = binding({ client: A, addresses: [], at: T0 + 600_100, clt: 600 });
    expect(later.lastTransactionAt).toBeLessThan(T0 + 900);
    expect(p.apply(later)).toBe('applied');
    expect(p.byAddress(ip('2001:db8:1::100'))).toBeUndefined();
  });

  it('release: an empty resource set, or zero valid lifetimes, releases the binding (and is reported)', () => {
    const p = projection();
    const seen: Binding[] = [];
    p.subscribe((b) => seen.push(b));
    p.apply(binding({ client: A, addresses: ['2001:db8:1::100'], prefixes: [['2001:db8:8000:1200::', 56]] }));
    p.apply(binding({ client: A, addresses: [['2001:db8:1::100', 0]], prefixes: [['2001:db8:8000:1200::', 56, 0]], at: T0 + 1000 }));
    expect(p.byAddress(ip('2001:db8:1::100'))).toBeUndefined();
    expect(p.byAddress(ip('2001:db8:8000:1200::1'))).toBeUndefined();
    expect(seen.map((b) => b.addresses.length + b.prefixes.length)).toEqual([2, 0]);
    expect(seen[1].seq).toBeGreaterThan(seen[0].seq);
    // The tombstone stays (time-filtered queries), with no resources.
    expect(p.byClientId(bytes(A))[0]).toMatchObject({ addresses: [], prefixes: [], changedAt: T0 + 1000 });
    expect(p.stats()).toMatchObject({ bindings: 1, resources: 0 });
    // ...and keeps an older report from resurrecting the address.
    expect(p.apply(binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 + 500 }))).toBe('stale');
  });

  it('renewal keeps the resource slots and reports the new lifetimes', () => {
    const p = projection();
    const seen: Binding[] = [];
    p.subscribe((b) => seen.push(b));
    p.apply(binding({ client: A, addresses: [['2001:db8:1::100', 3600]] }));
    p.apply(binding({ client: A, addresses: [['2001:db8:1::100', 7200]], at: T0 + 1800_000 }));
    expect(p.byAddress(ip('2001:db8:1::100'))?.addresses[0].validUntil).toBe(T0 + 1800_000 + 7200_000);
    expect(seen).toHaveLength(2);
    expect(p.stats().resources).toBe(1);
  });

  it('failover pair: the most recent client transaction wins; the other server keeps its state', () => {
    const p = projection();
    const seen: Binding[] = [];
    p.subscribe((b) => seen.push(b));
    // Server b handled the client's latest Renew; server a reports later but knows an older transaction.
    p.apply(binding({ source: 'dhcp-b', client: A, addresses: ['2001:db8:1::200'], at: T0 + 10_000, clt: 0 }));
    p.apply(binding({ source: 'dhcp-a', client: A, addresses: ['2001:db8:1::100'], at: T0 + 20_000, clt: 3600 }));
    expect(p.byClientId(bytes(A))).toHaveLength(1);
    expect(p.byClientId(bytes(A))[0].addresses.map((a) => a.address)).toEqual([ip('2001:db8:1::200')]);
    expect(p.byAddress(ip('2001:db8:1::100'))).toBeUndefined();
    expect(seen).toHaveLength(1); // the losing state changed nothing visible
    const d = p.dump()[0];
    expect(d.winner.source).toBe('dhcp-b');
    expect(d.others.map((s) => s.source)).toEqual(['dhcp-a']);
    // A newer transaction on server a takes over.
    p.apply(binding({ source: 'dhcp-a', client: A, addresses: ['2001:db8:1::100'], at: T0 + 30_000, clt: 0 }));
    expect(p.byClientId(bytes(A))[0].addresses.map((a) => a.address)).toEqual([ip('2001:db8:1::100')]);
    expect(p.byAddress(ip('2001:db8:1::200'))).toBeUndefined();
    expect(p.dump()[0].others.map((s) => s.source)).toEqual(['dhcp-b']);
  });

  it("failover pair: when the winner's state is retired, the other server's state takes over", () => {
    const p = projection();
    const scope = { linkAddresses: [L1], relayIds: [] };
    p.apply(binding({ source: 'dhcp-a', client: A, addresses: ['2001:db8:1::100'], at: T0, clt: 600 }));
    p.apply(binding({ source: 'dhcp-b', client: A, addresses: ['2001:db8:1::200'], at: T0 + 1000, clt: 0 }));
    expect(p.byClientId(bytes(A))[0].addresses.map((a) => a.address)).toEqual([ip('2001:db8:1::200')]);
    // dhcp-b resyncs fully and does not report the client: its state goes, dhcp-a's stands.
    p.apply(sourceEvent('bulk-started', T0 + 5000, { source: 'dhcp-b', resyncId: 'r1', scope }));
    p.apply(sourceEvent('bulk-complete', T0 + 6000, { source: 'dhcp-b', resyncId: 'r1', scope }));
    expect(p.byClientId(bytes(A))[0].addresses.map((a) => a.address)).toEqual([ip('2001:db8:1::100')]);
    expect(p.dump()[0].others).toEqual([]);
    expect(p.stats().retired).toBe(1);
  });

  it('a client that moved: its delegated prefix follows it to the new link', () => {
    const p = projection();
    const seen: string[] = [];
    p.subscribe((b) => seen.push(`${b.key}:${b.prefixes.length}`));
    p.apply(binding({ source: 'dhcp-a', client: A, link: L1, prefixes: [['2001:db8:8000:1200::', 56]], at: T0 }));
    // Re-homed behind another relay, served by another server that knows nothing of L1.
    p.apply(binding({ source: 'dhcp-b', client: A, link: L2, prefixes: [['2001:db8:8000:1200::', 56]], at: T0 + 60_000 }));
    expect(p.byAddress(ip('2001:db8:8000:1200::1'))?.key).toBe(`${A}@${L2}`);
    const byLink = Object.fromEntries(p.byClientId(bytes(A)).map((b) => [b.key, b.prefixes.length]));
    expect(byLink).toEqual({ [`${A}@${L1}`]: 0, [`${A}@${L2}`]: 1 });
    // Both changes were reported: L2 gained the prefix, L1 lost it.
    expect([...seen].sort()).toEqual([`${A}@${L1}:0`, `${A}@${L1}:1`, `${A}@${L2}:1`]);
    expect(seen).toHaveLength(3);
    // The newer binding releases it: the older claim is still valid and takes the prefix back.
    p.apply(binding({ source: 'dhcp-b', client: A, link: L2, prefixes: [], at: T0 + 120_000 }));
    expect(p.byAddress(ip('2001:db8:8000:1200::1'))?.key).toBe(`${A}@${L1}`);
  });

  it('a re-assigned address belongs to the most recent client, whatever order the partitions deliver in', () => {
    for (const order of [[0, 1, 2], [1, 0, 2], [1, 2, 0], [2, 1, 0]]) {
      const p = projection();
      const events = [
        binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 }), // A had it
        binding({ client: B, addresses: ['2001:db8:1::100'], at: T0 + 60_000 }), // then B got it
        binding({ client: A, addresses: [], at: T0 + 30_000 }), // A released it in between
      ];
      for (const i of order) p.apply(events[i]);
      expect(clientOf(p.byAddress(ip('2001:db8:1::100')))).toBe(B);
      expect(p.byClientId(bytes(A))[0].addresses).toEqual([]);
    }
  });

  it('a newer claim takes an address from a binding whose release is not seen yet', () => {
    const p = projection();
    p.apply(binding({ client: A, addresses: ['2001:db8:1::100'], at: T0 }));
    p.apply(binding({ client: B, addresses: ['2001:db8:1::100'], at: T0 + 60_000 }));
    expect(clientOf(p.byAddress(ip('2001:db8:1::100')))).toBe(B);
    expect(p.byClientId(bytes(A))[0].addresses).toEqual([]);
    expect(p.stats().contestedResources).toBe(1);
    // B lets it go: A's claim (still valid for A's server) is what remains.
    p.apply(binding({ client: B, addresses: [], at: T0 + 90_000 }));
    expect(clientOf(p.byAddress(ip('2001:db8:1::100')))).toBe(A);
    expect(p.stats().contestedResources).toBe(0);
  });

  it('a listener that throws does not break apply', () => {
    const p = projection();
    p.subscribe(() => {
      throw new Error('boom');
    });
    const seen: string[] = [];
    const off = p.subscribe((b) => seen.push(b.key));
    expect(p.apply(binding({ client: A, addresses: ['2001:db8:1::100'] }))).toBe('applied');
    off();
    p.apply(binding({ client: B, addresses: ['2001:db8:1::101'] }));
    expect(seen).toEqual([`${A}@${L1}`]);
  });

  it('invalid text in an event is rejected with ProjectionInputError before anything changes', () => {
    const p = projection(clock());
    p.apply(binding({ client: A, addresses: ['2001:db8:1::100'] }));
    const before = p.dump();
    expect(() => p.apply(binding({ client: B, addresses: ['2001:db8:1::zz'] }))).toThrow(/not an IPv6 address/);
    expect(() => p.apply({ ...binding({ client: B }), clientId: 'abc' })).toThrow(expect.objectContaining({ name: 'ProjectionInputError' }));
    expect(p.dump()).toEqual(before);
  });
});

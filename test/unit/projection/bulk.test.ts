import { describe, expect, it } from 'vitest';
import type { BulkScope } from '../../../src/events/model.js';
import { binding, bytes, ip, latin1Hex, projection, relayChain, sourceEvent, T0 } from './helpers.js';

const L1 = '2001:db8:1::1';
const L2 = '2001:db8:2::1';
const client = (i: number): string => `00030001020000${i.toString(16).padStart(6, '0')}`;
const full: BulkScope = { linkAddresses: [L1], relayIds: [] };

function resync(p: ReturnType<typeof projection>, partitions: number[], id: string, startedAt: number, scope: BulkScope, offsets: Map<number, number>, source = 'dhcp-a'): void {
  // The connector writes each marker to every partition (binding events are keyed by client).
  for (const part of partitions) p.apply(sourceEvent('bulk-started', startedAt, { source, resyncId: id, scope }), { partition: part, offset: String(next(offsets, part)) });
  for (const part of partitions) p.apply(sourceEvent('bulk-complete', startedAt + 5000, { source, resyncId: id, scope }), { partition: part, offset: String(next(offsets, part)) });
}

function next(offsets: Map<number, number>, part: number): number {
  const o = (offsets.get(part) ?? -1) + 1;
  offsets.set(part, o);
  return o;
}

describe('bulk resync retire (bulk-started / bulk-complete)', () => {
  it('retires, per partition, the bindings in scope that the full resync did not report', () => {
    const p = projection();
    const offsets = new Map<number, number>();
    // Clients 1 and 2 in partition 0, 3 in partition 1, 4 on another link, 5 from another source.
    p.apply(binding({ client: client(1), link: L1, addresses: ['2001:db8:1::1:1'] }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(binding({ client: client(2), link: L1, addresses: ['2001:db8:1::1:2'] }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(binding({ client: client(3), link: L1, addresses: ['2001:db8:1::1:3'] }), { partition: 1, offset: String(next(offsets, 1)) });
    p.apply(binding({ client: client(4), link: L2, addresses: ['2001:db8:2::1:4'] }), { partition: 1, offset: String(next(offsets, 1)) });
    p.apply(binding({ source: 'dhcp-b', client: client(5), link: L1, addresses: ['2001:db8:1::1:5'] }), { partition: 0, offset: String(next(offsets, 0)) });

    const started = T0 + 10_000;
    p.apply(sourceEvent('bulk-started', started, { resyncId: 'r1', scope: full }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(sourceEvent('bulk-started', started, { resyncId: 'r1', scope: full }), { partition: 1, offset: String(next(offsets, 1)) });
    // The resync reports client 2 again (partition 0) and client 3 (partition 1).
    p.apply(binding({ client: client(2), link: L1, addresses: ['2001:db8:1::1:2'], at: started + 100, phase: 'bulk' }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(binding({ client: client(3), link: L1, addresses: ['2001:db8:1::1:3'], at: started + 200, phase: 'bulk' }), { partition: 1, offset: String(next(offsets, 1)) });

    // bulk-complete seen in partition 1 only so far: partition 0's client 1 stays.
    p.apply(sourceEvent('bulk-complete', started + 1000, { resyncId: 'r1', scope: full }), { partition: 1, offset: String(next(offsets, 1)) });
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
    // Then in partition 0: client 1 was not reported -> retired.
    const gone: string[] = [];
    p.subscribe((b) => gone.push(`${b.clientDuid.toString('hex')}:${b.addresses.length}`));
    p.apply(sourceEvent('bulk-complete', started + 1000, { resyncId: 'r1', scope: full }), { partition: 0, offset: String(next(offsets, 0)) });
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeUndefined();
    expect(p.byClientId(bytes(client(1)))).toEqual([]);
    expect(gone).toEqual([`${client(1)}:0`]);
    // Reported, other link, other source: untouched.
    for (const a of ['2001:db8:1::1:2', '2001:db8:1::1:3', '2001:db8:2::1:4', '2001:db8:1::1:5']) expect(p.byAddress(ip(a))).toBeDefined();
    expect(p.stats()).toMatchObject({ retired: 1, bindings: 4 });
    expect(p.verifyIntegrity()).toEqual([]);
  });

  it('a binding whose latest event came from another partition is left to that partition', () => {
    const p = projection();
    const offsets = new Map<number, number>();
    // Client 1's events moved from partition 0 to 1 (e.g. repartitioning): its latest is in 1.
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'], at: T0 }), { partition: 0, offset: '0' });
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'], at: T0 + 1000 }), { partition: 1, offset: '0' });
    offsets.set(0, 0).set(1, 0);
    p.apply(sourceEvent('bulk-started', T0 + 5000, { resyncId: 'r', scope: full }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(sourceEvent('bulk-complete', T0 + 6000, { resyncId: 'r', scope: full }), { partition: 0, offset: String(next(offsets, 0)) });
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
    p.apply(sourceEvent('bulk-started', T0 + 5000, { resyncId: 'r', scope: full }), { partition: 1, offset: String(next(offsets, 1)) });
    p.apply(sourceEvent('bulk-complete', T0 + 6000, { resyncId: 'r', scope: full }), { partition: 1, offset: String(next(offsets, 1)) });
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeUndefined();
  });

  it('a resync of a time window (start time, RFC 7653 8.3.1) retires nothing', () => {
    const p = projection();
    const offsets = new Map<number, number>();
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'] }), { partition: 0, offset: String(next(offsets, 0)) });
    resync(p, [0], 'w1', T0 + 10_000, { linkAddresses: [L1], relayIds: [], startTime: 753_000_000 }, offsets);
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
    expect(p.stats().retired).toBe(0);
  });

  it('does not retire bindings received after the resync started', () => {
    const p = projection();
    const offsets = new Map<number, number>();
    p.apply(sourceEvent('bulk-started', T0, { resyncId: 'r', scope: full }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'], at: T0 + 1, phase: 'live' }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(sourceEvent('bulk-complete', T0 + 2, { resyncId: 'r', scope: full }), { partition: 0, offset: String(next(offsets, 0)) });
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
  });

  it('scope by relay-id: retires states whose relay chain carries it, on any link', () => {
    const p = projection();
    const offsets = new Map<number, number>();
    p.apply(binding({ client: client(1), link: L1, addresses: ['2001:db8:1::1:1'], relay: relayChain({ link: L1, relay: 'relay-1' }) }), { partition: 0, offset: String(next(offsets, 0)) });
    p.apply(binding({ client: client(2), link: L2, addresses: ['2001:db8:2::1:2'], relay: relayChain({ link: L2, relay: 'relay-2', agg: 'agg-9' }) }), { partition: 0, offset: String(next(offsets, 0)) });
    resync(p, [0], 'r', T0 + 10_000, { linkAddresses: [], relayIds: [latin1Hex('agg-9')] }, offsets);
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
    expect(p.byAddress(ip('2001:db8:2::1:2'))).toBeUndefined();
  });

  it('bulk-complete without its bulk-started retires nothing and is counted', () => {
    const p = projection();
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'] }), { partition: 0, offset: '0' });
    p.apply(sourceEvent('bulk-complete', T0 + 5000, { resyncId: 'lost', scope: full }), { partition: 0, offset: '1' });
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
    expect(p.stats().unmatchedResyncs).toBe(1);
  });

  it('replayed markers are no-ops (idempotent)', () => {
    const p = projection();
    const offsets = new Map<number, number>();
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'] }), { partition: 0, offset: String(next(offsets, 0)) });
    resync(p, [0], 'r', T0 + 10_000, full, offsets);
    p.apply(binding({ client: client(1), addresses: ['2001:db8:1::1:1'], at: T0 + 20_000 }), { partition: 0, offset: String(next(offsets, 0)) });
    // The same bulk-complete again (without position: a replay through another path).
    p.apply(sourceEvent('bulk-complete', T0 + 15_000, { resyncId: 'r', scope: full }));
    expect(p.byAddress(ip('2001:db8:1::1:1'))).toBeDefined();
  });
});

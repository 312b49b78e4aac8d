import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Binding } from '../../../src/leasequery/view.js';
import { ExpiryQueue } from '../../../src/projection/expiry.js';
import { binding, bytes, clock, ip, projection, T0 } from './helpers.js';

const client = (i: number): string => `00030001020000${i.toString(16).padStart(6, '0')}`;
const addr = (i: number): string => `2001:db8:1::${(i + 1).toString(16)}`;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('expiry', () => {
  it('retires only what is due, without scanning the tables', () => {
    const c = clock();
    const p = projection(c);
    for (let i = 0; i < 2000; i++) p.apply(binding({ client: client(i), addresses: [[addr(i), i < 3 ? 60 : 86_400]] }));
    const pops = vi.spyOn(ExpiryQueue.prototype, 'pop');
    c.now = T0 + 59_999;
    expect(p.expire(c.now)).toEqual({ resources: 0, bindings: 0 });
    expect(pops).toHaveBeenCalledTimes(0);
    c.now = T0 + 60_000;
    expect(p.expire(c.now)).toEqual({ resources: 3, bindings: 0 });
    expect(pops).toHaveBeenCalledTimes(3); // the three due bindings, nothing else
    expect(p.stats()).toMatchObject({ bindings: 2000, resources: 1997, expiredResources: 3 });
    expect(p.byAddress(ip(addr(0)))).toBeUndefined();
    expect(p.byAddress(ip(addr(3)))?.clientDuid.toString('hex')).toBe(client(3));
    expect(p.verifyIntegrity()).toEqual([]);
  });

  it('reports an expiry to the change feed (RFC 7653: expiries are binding changes)', () => {
    const c = clock();
    const p = projection(c);
    p.apply(binding({ client: client(1), addresses: [[addr(1), 60], [addr(2), 120]] }));
    const seen: Binding[] = [];
    p.subscribe((b) => seen.push(b));
    c.now = T0 + 60_000;
    p.expire(c.now);
    c.now = T0 + 120_000;
    p.expire(c.now);
    expect(seen.map((b) => b.addresses.map((a) => a.address))).toEqual([[ip(addr(2))], []]);
    expect(seen[1].seq).toBeGreaterThan(seen[0].seq);
  });

  it('forgets a tombstone after the retention, not before', () => {
    const c = clock();
    const p = projection(c, { tombstoneRetentionMs: 600_000 });
    p.apply(binding({ client: client(1), addresses: [addr(1)] }));
    p.apply(binding({ client: client(1), addresses: [], at: T0 + 1000 }));
    c.now = T0 + 1000 + 599_999;
    p.expire(c.now);
    expect(p.byClientId(bytes(client(1)))).toHaveLength(1);
    c.now = T0 + 1000 + 600_000;
    expect(p.expire(c.now)).toEqual({ resources: 0, bindings: 1 });
    expect(p.byClientId(bytes(client(1)))).toEqual([]);
    expect(p.stats()).toMatchObject({ bindings: 0, purgedBindings: 1 });
    expect(p.verifyIntegrity()).toEqual([]);
  });

  it('a binding whose resources all expire is reported, then forgotten after the retention', () => {
    const c = clock();
    const p = projection(c, { tombstoneRetentionMs: 0 });
    p.apply(binding({ client: client(1), addresses: [[addr(1), 60]] }));
    const seen: Binding[] = [];
    p.subscribe((b) => seen.push(b));
    c.now = T0 + 60_000;
    expect(p.expire(c.now)).toEqual({ resources: 1, bindings: 1 });
    expect(seen).toHaveLength(1);
    expect(seen[0].addresses).toEqual([]);
    expect(p.stats().bindings).toBe(0);
  });

  it('when the newest claim on an address expires, an older claim still valid takes over', () => {
    const c = clock();
    const p = projection(c);
    p.apply(binding({ client: client(1), addresses: [[addr(9), 86_400]], at: T0 }));
    p.apply(binding({ client: client(2), addresses: [[addr(9), 60]], at: T0 + 1000 }));
    expect(p.byAddress(ip(addr(9)))?.clientDuid.toString('hex')).toBe(client(2));
    c.now = T0 + 61_000;
    p.expire(c.now);
    expect(p.byAddress(ip(addr(9)))?.clientDuid.toString('hex')).toBe(client(1));
    expect(p.verifyIntegrity()).toEqual([]);
  });

  it('infinite lifetimes never expire', () => {
    const c = clock();
    const p = projection(c);
    p.apply(binding({ client: client(1), addresses: [[addr(1), 0xffffffff]] }));
    c.now = T0 + 100 * 365 * 86_400_000;
    expect(p.expire(c.now)).toEqual({ resources: 0, bindings: 0 });
    expect(p.byAddress(ip(addr(1)))?.addresses[0].validUntil).toBe(Infinity);
  });
});

// Per-prefix token buckets (src/leasequery/server/ratelimit.ts), on a fake clock.
import { describe, expect, it } from 'vitest';
import { PrefixRateLimiter, RateLimitConfigError, parseRate, prefixKey, rateLimitFromFlags } from '../../../src/leasequery/index.js';

function fakeClock(start = 1_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('prefixKey', () => {
  it('masks IPv6 sources to the prefix length, IPv4 and IPv4-mapped sources to theirs', () => {
    expect(prefixKey('2001:db8:1:2:aaaa::1')).toBe(prefixKey('2001:db8:1:2:ffff::9'));
    expect(prefixKey('2001:db8:1:2::1')).not.toBe(prefixKey('2001:db8:1:3::1'));
    expect(prefixKey('2001:db8:1:2::1', 48)).toBe(prefixKey('2001:db8:1:3::1', 48));
    expect(prefixKey('2001:db8:1:2::1', 60)).toBe('6:2001:db8:1::/60');
    expect(prefixKey('fe80::1%eth0')).toBe(prefixKey('fe80::2'));
    expect(prefixKey('::ffff:192.0.2.7')).toBe(prefixKey('192.0.2.7'));
    expect(prefixKey('192.0.2.7')).not.toBe(prefixKey('192.0.2.8'));
    expect(prefixKey('192.0.2.7', 64, 24)).toBe('4:192.0.2.0/24');
    expect(prefixKey('192.0.2.7', 64, 0)).toBe('4:0.0.0.0/0');
    expect(prefixKey('not an address')).toBeUndefined();
  });
});

describe('PrefixRateLimiter', () => {
  it('lets a burst through, then refills at the rate', () => {
    const c = fakeClock();
    const l = new PrefixRateLimiter({ ratePerSecond: 10, burst: 5 }, { now: c.now });
    const a = '2001:db8::1';
    for (let i = 0; i < 5; i++) expect(l.allow(a)).toBe(true);
    expect(l.allow(a)).toBe(false);
    c.t += 99; // 0.99 token
    expect(l.allow(a)).toBe(false);
    c.t += 2; // > 1 token
    expect(l.allow(a)).toBe(true);
    expect(l.allow(a)).toBe(false);
    c.t += 10_000; // refills to the burst, no further
    let n = 0;
    while (l.allow(a)) n++;
    expect(n).toBe(5);
    expect(l.limited).toBe(4); // the last check of the loop included
  });

  it('sustains exactly the configured rate over time', () => {
    const c = fakeClock();
    const l = new PrefixRateLimiter({ ratePerSecond: 100, burst: 1 }, { now: c.now });
    let ok = 0;
    // 10 s of one query per ms: 1000/s offered, 100/s allowed (+ the initial token).
    for (let i = 0; i < 10_000; i++, c.t += 1) if (l.allow('10.0.0.1')) ok++;
    expect(ok).toBeGreaterThanOrEqual(1000);
    expect(ok).toBeLessThanOrEqual(1001);
  });

  it('hosts in one prefix share a bucket; another prefix has its own', () => {
    const c = fakeClock();
    const l = new PrefixRateLimiter({ ratePerSecond: 1, burst: 2 }, { now: c.now });
    expect(l.allow('2001:db8:0:1::a')).toBe(true);
    expect(l.allow('2001:db8:0:1::b')).toBe(true);
    expect(l.allow('2001:db8:0:1::c')).toBe(false); // same /64
    expect(l.allow('2001:db8:0:2::a')).toBe(true); // next /64
    expect(l.allow('::ffff:127.0.0.1')).toBe(true);
    expect(l.allow('127.0.0.1')).toBe(true);
    expect(l.allow('::ffff:127.0.0.1')).toBe(false); // mapped and plain IPv4 are one source
    expect(l.allow('127.0.0.2')).toBe(true); // IPv4 /32 by default
    expect(l.size).toBe(4);
  });

  it('keeps at most maxBuckets prefixes: idle (refilled) ones are swept first, else the least recently used is evicted', () => {
    const c = fakeClock();
    const l = new PrefixRateLimiter({ ratePerSecond: 1, burst: 1 }, { now: c.now, maxBuckets: 100 });
    for (let i = 0; i < 100; i++) expect(l.allow(`2001:db8:${i.toString(16)}::1`)).toBe(true);
    expect(l.size).toBe(100);
    // All 100 are empty now; a flood of new prefixes evicts the least recently used, never grows the table.
    for (let i = 100; i < 10_000; i++) l.allow(`2001:db8:${i.toString(16)}::1`);
    expect(l.size).toBeLessThanOrEqual(100);
    expect(l.evictions).toBeGreaterThan(0);
    // After a quiet second every bucket has refilled: they are swept, nothing is evicted.
    c.t += 1_000;
    const before = l.evictions;
    for (let i = 0; i < 100; i++) l.allow(`2002:db8:${i.toString(16)}::1`);
    expect(l.evictions).toBe(before);
    expect(l.size).toBeLessThanOrEqual(100);
  });

  it('an evicted prefix starts again with a full bucket (errs towards answering)', () => {
    const c = fakeClock();
    const l = new PrefixRateLimiter({ ratePerSecond: 1, burst: 1 }, { now: c.now, maxBuckets: 1 });
    expect(l.allow('10.0.0.1')).toBe(true);
    expect(l.allow('10.0.0.1')).toBe(false);
    expect(l.allow('10.0.0.2')).toBe(true); // evicts 10.0.0.1
    expect(l.allow('10.0.0.1')).toBe(true);
    expect(l.size).toBe(1);
  });

  it('memory stays bounded under a flood of distinct sources', () => {
    const c = fakeClock();
    const l = new PrefixRateLimiter({ ratePerSecond: 1000, burst: 2000 }, { now: c.now, maxBuckets: 1000 });
    for (let i = 0; i < 50_000; i++) {
      c.t += 0.01;
      l.allow(`2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`);
    }
    expect(l.size).toBeLessThanOrEqual(1000);
  });

  it('rejects nonsense configuration with a typed error', () => {
    expect(() => new PrefixRateLimiter({ ratePerSecond: 0 })).toThrow(RateLimitConfigError);
    expect(() => new PrefixRateLimiter({ ratePerSecond: 1, burst: 0.5 })).toThrow(RateLimitConfigError);
    expect(() => new PrefixRateLimiter({ ratePerSecond: 1 }, { ipv6PrefixLength: 129 })).toThrow(RateLimitConfigError);
    expect(() => new PrefixRateLimiter({ ratePerSecond: 1 }, { maxBuckets: 0 })).toThrow(RateLimitConfigError);
  });
});

describe('rate flags', () => {
  it('parses N, N/s, N/m, N/h', () => {
    expect(parseRate('1000/s')).toBe(1000);
    expect(parseRate('1000')).toBe(1000);
    expect(parseRate('60/m')).toBe(1);
    expect(parseRate('3600/h')).toBe(1);
    expect(parseRate('2.5/s')).toBe(2.5);
    for (const bad of ['', 'x', '-1/s', '0/s', '10/d', '1e3']) expect(() => parseRate(bad)).toThrow(RateLimitConfigError);
  });

  it('builds the engine option; no rate means no limit', () => {
    expect(rateLimitFromFlags({})).toBeUndefined();
    expect(rateLimitFromFlags({ rate: '1000/s', burst: '2000', prefix6: '56' })).toEqual({
      udp: { ratePerSecond: 1000, burst: 2000 },
      tcp: { ratePerSecond: 1000, burst: 2000 },
      ipv6PrefixLength: 56,
    });
    expect(rateLimitFromFlags({ rate: '1000/s', connRate: '10/s' })).toEqual({ udp: { ratePerSecond: 1000 }, tcp: { ratePerSecond: 10 } });
    expect(rateLimitFromFlags({ connRate: '5/s', connBurst: '5' })).toEqual({ tcp: { ratePerSecond: 5, burst: 5 } });
    expect(() => rateLimitFromFlags({ burst: '10' })).toThrow(/need --rate-limit/);
    expect(() => rateLimitFromFlags({ rate: '10', prefix4: '33' })).toThrow(RateLimitConfigError);
  });
});

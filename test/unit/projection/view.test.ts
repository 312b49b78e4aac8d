// The LeaseView contract around the tables: history provider, clock, stats, positions.
import { describe, expect, it } from 'vitest';
import type { HistoryResult } from '../../../src/leasequery/view.js';
import { binding, clock, projection, sourceEvent, T0 } from './helpers.js';

describe('Projection as a LeaseView', () => {
  it('answers historySince from the injected provider, never from memory', () => {
    expect(projection().historySince(T0)).toEqual({ available: false });
    const asked: number[] = [];
    const history = (since: number): HistoryResult => {
      asked.push(since);
      return { available: false, horizon: since + 1 };
    };
    const p = projection(clock(), { history });
    expect(p.historySince(T0 - 5000)).toEqual({ available: false, horizon: T0 - 4999 });
    expect(asked).toEqual([T0 - 5000]);
  });

  it('takes now() from the injected clock', () => {
    const c = clock(T0 + 42);
    const p = projection(c);
    expect(p.now()).toBe(T0 + 42);
    c.now = T0 + 43;
    expect(p.now()).toBe(T0 + 43);
  });

  it('counts what it applied, and the offsets per partition', () => {
    const p = projection();
    p.apply(binding({ client: '0001', addresses: ['2001:db8:1::1'], prefixes: [['2001:db8:8000::', 48]] }), { partition: 0, offset: '5' });
    p.apply(binding({ client: '0001', addresses: ['2001:db8:1::1'], prefixes: [['2001:db8:8000::', 48]] }), { partition: 0, offset: '6' });
    p.apply(binding({ source: 'dhcp-b', client: '0002', addresses: ['2001:db8:1::2'] }), { partition: 1, offset: '9' });
    p.apply(sourceEvent('connected', T0, { source: 'dhcp-c' }), { partition: 1, offset: '10' });
    p.notePosition({ partition: 2, offset: 77n });
    expect(p.stats()).toEqual({
      bindings: 2,
      resources: 3,
      sources: 3,
      relayTemplates: 0,
      contestedResources: 0,
      applied: 2,
      stale: 0,
      duplicate: 1,
      sourceEvents: 1,
      retired: 0,
      expiredResources: 0,
      purgedBindings: 0,
      unmatchedResyncs: 0,
      offsets: { '0': '6', '1': '10', '2': '77' },
    });
  });
});

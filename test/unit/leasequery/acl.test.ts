import { describe, expect, it } from 'vitest';
import { Acl } from '../../../src/leasequery/index.js';

describe('Acl', () => {
  it('defaults to loopback only, every transport and query type', () => {
    const acl = new Acl();
    expect(acl.allows('::1', 'udp', 1)).toBe(true);
    expect(acl.allows('127.0.0.1', 'active', 0)).toBe(true);
    expect(acl.allows('::ffff:127.0.0.1', 'bulk', 3)).toBe(true);
    expect(acl.allows('2001:db8::1', 'udp', 1)).toBe(false);
    expect(acl.allows('10.0.0.1', 'bulk')).toBe(false);
  });

  it('first matching rule decides; rules can name transports and query types', () => {
    const acl = new Acl([
      { prefix: '2001:db8:bad::/48', allow: false },
      { prefix: '2001:db8::/32', transports: ['udp'], queryTypes: [1, 2] },
      { prefix: '2001:db8:ac::/48', transports: ['bulk', 'active'] },
      { prefix: '10.0.0.0/8' },
    ]);
    expect(acl.allows('2001:db8:bad::1', 'udp', 1)).toBe(false);
    expect(acl.allows('2001:db8:1::1', 'udp', 1)).toBe(true);
    expect(acl.allows('2001:db8:1::1', 'udp', 5)).toBe(false);
    expect(acl.allows('2001:db8:1::1', 'bulk')).toBe(false);
    expect(acl.allows('2001:db8:ac::1', 'bulk')).toBe(true);
    expect(acl.allows('2001:db8:ac::1', 'active', 3)).toBe(true);
    expect(acl.allows('::ffff:10.1.2.3', 'udp', 2)).toBe(true);
    expect(acl.allows('not an address', 'udp', 1)).toBe(false);
  });

  it('rejects a bad rule at construction', () => {
    expect(() => new Acl([{ prefix: '2001:db8::/129' }])).toThrow(/prefix/);
    expect(() => new Acl([{ prefix: '::/0', queryTypes: [0] }])).toThrow(/query type/);
  });
});

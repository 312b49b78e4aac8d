import { describe, expect, it } from 'vitest';
import { clientDataOption, isActiveAt, lifetimeAt } from '../../../src/leasequery/server/reply.js';
import type { Binding } from '../../../src/leasequery/index.js';
import { INFINITY, MessageType, parseIPv6 } from '../../../src/protocol/index.js';

const now = 1_700_000_000_000;
const binding: Binding = {
  key: 'k',
  clientDuid: Buffer.from('000300010a0b0c0d0e0f', 'hex'),
  linkAddress: parseIPv6('2001:db8:1::1'),
  addresses: [
    { address: parseIPv6('2001:db8:1::10'), preferredUntil: now + 1800_500, validUntil: now + 3600_900 },
    { address: parseIPv6('2001:db8:1::11'), preferredUntil: now - 10, validUntil: now + 500 }, // < 1 s left: expired
  ],
  prefixes: [{ prefix: parseIPv6('2001:db8:8000::'), length: 56, preferredUntil: Infinity, validUntil: Infinity }],
  lastTransactionAt: now - 42_300,
  relay: { peerAddress: parseIPv6('fd00::1'), relayMessage: { kind: 'relay', msgType: MessageType.RELAY_FORW, hopCount: 0, linkAddress: parseIPv6('2001:db8:1::1'), peerAddress: parseIPv6('fe80::1'), options: [] } },
  extraOptions: [{ name: 'unknown', code: 23, data: parseIPv6('2001:db8::53') }],
  changedAt: now - 42_300,
  seq: 1,
};

describe('reply construction', () => {
  it('lifetimes are whole seconds left at reply time; infinity stays infinity', () => {
    expect(lifetimeAt(now + 3600_900, now)).toBe(3600);
    expect(lifetimeAt(now - 5, now)).toBe(0);
    expect(lifetimeAt(Infinity, now)).toBe(INFINITY);
  });

  it('CLIENT_DATA: CLIENTID, live resources, CLT_TIME; requested options unless sensitive', () => {
    const plain = clientDataOption(binding, now, { requested: new Set(), sensitive: new Set() });
    expect(plain.options.map((o) => o.name)).toEqual(['clientId', 'iaAddr', 'iaPrefix', 'cltTime']);
    expect(plain.options[1]).toMatchObject({ preferredLifetime: 1800, validLifetime: 3600 });
    expect(plain.options[2]).toMatchObject({ preferredLifetime: INFINITY, validLifetime: INFINITY, prefixLength: 56 });
    expect(plain.options[3]).toMatchObject({ seconds: 43 }); // whole seconds: now - floor(transaction) (42.3 s ago)
    const asked = clientDataOption(binding, now, { requested: new Set([47, 23]), sensitive: new Set() });
    expect(asked.options.map((o) => o.code)).toEqual([1, 5, 26, 46, 47, 23]);
    const sensitive = clientDataOption(binding, now, { requested: new Set([47, 23]), sensitive: new Set([23, 47]) });
    expect(sensitive.options.map((o) => o.code)).toEqual([1, 5, 26, 46]);
  });

  it('base time - CLT_TIME is the transaction\'s second in every report of it, wherever in a second the report falls', () => {
    // The projection orders one source's reports by that difference (src/events/report-order.ts).
    const tx = now + 300;
    for (const at of [now + 60_200, now + 60_999, now + 70_000, now + 70_500, now + 3_600_001]) {
      const clt = clientDataOption({ ...binding, lastTransactionAt: tx }, at, { requested: new Set(), sensitive: new Set() }).options.find((o) => o.name === 'cltTime');
      expect(Math.floor(at / 1000) - (clt as { seconds: number }).seconds).toBe(Math.floor(tx / 1000));
    }
  });

  it('a binding is active while a resource has at least a second of valid lifetime', () => {
    expect(isActiveAt(binding, now)).toBe(true);
    expect(isActiveAt({ ...binding, prefixes: [], addresses: [binding.addresses[1]] }, now)).toBe(false);
  });
});

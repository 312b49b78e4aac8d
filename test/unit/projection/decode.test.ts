// The event fast path and the fast IPv6 parser against their authorities (decodeEvent,
// parseIPv6): they may only be faster, never different.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent, EventDecodeError } from '../../../src/events/index.js';
import { formatIPv6, parseIPv6 } from '../../../src/protocol/index.js';
import { decodeEventFast } from '../../../src/projection/index.js';
import { ipv6Into } from '../../../src/projection/text.js';
import { binding, relayChain, sourceEvent, T0 } from './helpers.js';

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message };
  }
}

const valid = [
  binding({ addresses: ['2001:db8:1::100'], prefixes: [['2001:db8:8000:1200::', 56]], relay: relayChain({ remoteId: 'cm' }) }),
  binding({ clt: null, relay: null }),
  { ...binding({}), chain: { seq: 1, prev: '0'.repeat(64), hash: 'ab'.repeat(32) } },
  sourceEvent('bulk-started', T0, { resyncId: 'r', scope: { linkAddresses: ['2001:db8:1::1'], relayIds: [] } }),
];

/** Mutations that break (or keep) the schema in the ways a bad producer might. */
const mutation = fc.oneof(
  fc.record({ path: fc.constantFrom('clientId', 'linkAddress', 'baseTime', 'cltTime', 'receivedAt', 'phase', 'raw', 'relay', 'addresses', 'schemaVersion', 'type', 'extra', 'lastTransactionAt', 'source'), value: fc.jsonValue() }),
  fc.record({ path: fc.constantFrom('addresses.0.validLifetime', 'addresses.0.address', 'addresses.0.extra', 'prefixes.0.prefixLength', 'relay.hops.0.hopCount', 'relay.hops.1.remoteId', 'relay.hops.1.remoteId.id', 'relay.remoteId.enterpriseNumber', 'relay.extra', 'source.serverDuid', 'source.name'), value: fc.jsonValue() }),
);

function mutate(e: unknown, path: string, value: unknown): unknown {
  const copy = structuredClone(e) as Record<string, unknown>;
  const keys = path.split('.');
  let o: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) return copy;
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
  return copy;
}

describe('decodeEventFast', () => {
  it('returns what decodeEvent returns for valid events', () => {
    for (const e of valid) {
      const value = encodeEvent(e as never).value;
      expect(decodeEventFast(value)).toEqual(decodeEvent(value));
    }
  });

  it('accepts and rejects exactly what decodeEvent does, with the same typed error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), mutation, (e, m) => {
        const text = JSON.stringify(mutate(e, m.path, m.value));
        expect(outcome(() => decodeEventFast(text))).toEqual(outcome(() => decodeEvent(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects non-JSON with EventDecodeError', () => {
    expect(() => decodeEventFast(Buffer.from('{nope'))).toThrow(EventDecodeError);
  });
});

describe('ipv6Into (fast path of parseIPv6)', () => {
  const into = (s: string): Buffer => {
    const b = Buffer.alloc(16);
    ipv6Into(s, b, 0);
    return b;
  };

  it('agrees with parseIPv6 on canonical and uncompressed text of random addresses', () => {
    const addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => {
      // Zero runs are what '::' compresses: make them common.
      for (let i = 0; i < 16; i++) if (a[i] < 96) a[i] = 0;
      return Buffer.from(a);
    });
    fc.assert(
      fc.property(addr, fc.boolean(), (a, upper) => {
        const canonical = formatIPv6(a);
        const full = [...Array(8).keys()].map((i) => a.readUInt16BE(2 * i).toString(16)).join(':');
        for (const text of [canonical, full, upper ? canonical.toUpperCase() : canonical]) {
          expect(into(text)).toEqual(parseIPv6(text));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('defers everything else to parseIPv6, including its errors', () => {
    expect(into('::ffff:192.0.2.1')).toEqual(parseIPv6('::ffff:192.0.2.1'));
    for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '12345::', '1:2', 'g::', '', '::1:', '1:2:3:4:5:6:7:8::']) {
      expect(() => into(bad), bad).toThrow(expect.objectContaining({ name: 'ProjectionInputError' }));
    }
  });
});

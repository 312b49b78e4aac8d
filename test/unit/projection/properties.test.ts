// Order tolerance, as properties: any permutation of a set of events, with duplicates,
// leaves the same tables as applying them in order (Kafka delivers one partition in
// order, but several partitions, catch-up and replays interleave arbitrarily).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BindingEvent } from '../../../src/events/model.js';
import { binding, INF, projection, relayChain, T0, type EventSpec } from './helpers.js';

const CLIENTS = ['000300010200000000aa', '000300010200000000bb', '000100010000000102000000cc'];
const LINKS = ['2001:db8:1::1', '2001:db8:2::1'];
const ADDRESSES = ['2001:db8:1::100', '2001:db8:1::200', '2001:db8:2::100'];
const PREFIXES: [string, number][] = [['2001:db8:8000:1200::', 56], ['2001:db8:8000:1234::', 64], ['2001:db8:8000::', 40]];

const lifetime = fc.constantFrom(0, 600, 3600, INF);

function spec(oneKey: boolean): fc.Arbitrary<EventSpec> {
  return fc.record({
    source: oneKey ? fc.constant('dhcp-a') : fc.constantFrom('dhcp-a', 'dhcp-b'),
    client: oneKey ? fc.constant(CLIENTS[0]) : fc.constantFrom(...CLIENTS),
    link: oneKey ? fc.constant(LINKS[0]) : fc.constantFrom(...LINKS),
    addresses: fc.subarray(ADDRESSES).chain((as) => fc.tuple(...as.map((a) => fc.tuple(fc.constant(a), lifetime)))),
    prefixes: fc.subarray(PREFIXES).chain((ps) => fc.tuple(...ps.map(([p, l]) => fc.tuple(fc.constant(p), fc.constant(l), lifetime)))),
    // Coarse instants and CLT values so that equal keys and ties happen.
    at: fc.integer({ min: 0, max: 6 }).map((k) => T0 + k * 1000),
    clt: fc.constantFrom(0, 1, 3, null),
    skewMs: fc.constantFrom(0, 1500),
    lastTxOffsetMs: fc.constantFrom(0, 0, 0, 7),
    phase: fc.constantFrom('live' as const, 'catch-up' as const, 'bulk' as const),
    relay: fc.constantFrom(null, 'r1', 'r2', 'r3').map((r) =>
      r === null ? null : relayChain({ relay: r === 'r3' ? 'relay-9' : 'relay-1', remoteId: r === 'r1' ? 'cm-1' : 'cm-2', interfaceId: r }),
    ),
  }) as fc.Arbitrary<EventSpec>;
}

/** A set of events, and a delivery of it: shuffled, some repeated. */
function deliveries(oneKey: boolean): fc.Arbitrary<{ events: BindingEvent[]; delivery: BindingEvent[] }> {
  return fc.array(spec(oneKey), { minLength: 1, maxLength: 12 }).chain((specs) => {
    const events = specs.map(binding);
    return fc
      .tuple(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.constantFrom(...events), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }))
      .map(([shuffled, repeats, where]) => {
        const delivery = [...shuffled];
        repeats.forEach((e, i) => delivery.splice((where[i] ?? 0) % (delivery.length + 1), 0, e));
        return { events, delivery };
      });
  });
}

function finalState(events: BindingEvent[]): { dump: unknown; problems: string[] } {
  const p = projection();
  for (const e of events) p.apply(e);
  return { dump: p.dump(), problems: p.verifyIntegrity() };
}

describe('apply is order-tolerant (fast-check)', () => {
  it('events of one (source, client, link): any permutation with duplicates = in order', () => {
    fc.assert(
      fc.property(deliveries(true), ({ events, delivery }) => {
        const inOrder = finalState(events);
        const shuffled = finalState(delivery);
        expect(shuffled.problems).toEqual([]);
        expect(shuffled.dump).toEqual(inOrder.dump);
      }),
      { numRuns: 300 },
    );
  });

  it('events across sources, clients, links and shared resources: any permutation with duplicates = in order', () => {
    fc.assert(
      fc.property(deliveries(false), ({ events, delivery }) => {
        const inOrder = finalState(events);
        const shuffled = finalState(delivery);
        expect(inOrder.problems).toEqual([]);
        expect(shuffled.problems).toEqual([]);
        expect(shuffled.dump).toEqual(inOrder.dump);
      }),
      { numRuns: 500 },
    );
  });

  it('applying every event twice, anywhere, changes nothing', () => {
    fc.assert(
      fc.property(deliveries(false), ({ events }) => {
        expect(finalState([...events, ...events]).dump).toEqual(finalState(events).dump);
      }),
      { numRuns: 200 },
    );
  });
});

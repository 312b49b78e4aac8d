import { describe, expect, it } from 'vitest';
import type { Binding, RelayInfo } from '../../../src/leasequery/view.js';
import type { Dhcp6Option, RelayMessage } from '../../../src/protocol/index.js';
import { binding, bytes, clock, ip, latin1Hex, projection, relayChain, T0 } from './helpers.js';

const A = '000300010200000000aa';
const B = '000300010200000000bb';
const C = '000300010200000000cc';
const L1 = '2001:db8:1::1';
const L2 = '2001:db8:2::1';

function keys(bs: Iterable<Binding>): string[] {
  return [...bs].map((b) => b.key).sort();
}

function hopOptions(m: RelayMessage): Dhcp6Option[] {
  return m.options.filter((o) => o.name !== 'relayMsg');
}

describe('Projection lookups (LeaseView)', () => {
  it('QUERY_BY_ADDRESS: exact address, with the binding materialized from the tables', () => {
    const p = projection();
    p.apply(binding({ client: A, link: L1, addresses: [['2001:db8:1::100', 3600]], at: T0, clt: 5 }));
    const b = p.byAddress(ip('2001:db8:1::100'));
    expect(b?.clientDuid.toString('hex')).toBe(A);
    expect(b?.linkAddress).toEqual(ip(L1));
    expect(b?.key).toBe(`${A}@${L1}`);
    expect(b?.addresses).toEqual([{ address: ip('2001:db8:1::100'), preferredUntil: T0 + 1_800_000, validUntil: T0 + 3_600_000 }]);
    expect(b?.prefixes).toEqual([]);
    expect(b?.lastTransactionAt).toBe(T0 - 5000);
    expect(b?.changedAt).toBe(T0);
    expect(b?.relay).toBeUndefined();
    expect(p.byAddress(ip('2001:db8:1::101'))).toBeUndefined();
  });

  it('keeps a lastTransactionAt that is not derived from receivedAt and CLT_TIME', () => {
    const p = projection();
    p.apply(binding({ client: A, addresses: ['2001:db8:1::100'], clt: 5, lastTxOffsetMs: 123 }));
    p.apply(binding({ client: B, addresses: ['2001:db8:1::101'], clt: null }));
    expect(p.byAddress(ip('2001:db8:1::100'))?.lastTransactionAt).toBe(T0 - 5000 + 123);
    // Without CLT_TIME the report itself is the latest sign of life.
    expect(p.byAddress(ip('2001:db8:1::101'))?.lastTransactionAt).toBe(T0);
  });

  it('prefix containment: an address inside delegated prefixes resolves to the longest one', () => {
    const p = projection();
    p.apply(binding({ client: A, link: L1, prefixes: [['2001:db8:8000::', 40]] }));
    p.apply(binding({ client: B, link: L1, prefixes: [['2001:db8:8000:1200::', 56]] }));
    p.apply(binding({ client: C, link: L2, prefixes: [['2001:db8:8000:1234::', 64]] }));
    expect(p.byAddress(ip('2001:db8:8000:1234::99'))?.clientDuid.toString('hex')).toBe(C);
    expect(p.byAddress(ip('2001:db8:8000:12ff::1'))?.clientDuid.toString('hex')).toBe(B);
    expect(p.byAddress(ip('2001:db8:80ff::1'))?.clientDuid.toString('hex')).toBe(A);
    expect(p.byAddress(ip('2001:db8:8100::1'))).toBeUndefined();
    // The prefix itself, and the binding's answer.
    const b = p.byAddress(ip('2001:db8:8000:1200::'));
    expect(b?.prefixes).toEqual([{ prefix: ip('2001:db8:8000:1200::'), length: 56, preferredUntil: T0 + 1_800_000, validUntil: T0 + 3_600_000 }]);
  });

  it('prefix bits beyond the length are ignored (the canonical prefix is stored)', () => {
    const p = projection();
    p.apply(binding({ client: A, prefixes: [['2001:db8:8000:12ff::', 56]] }));
    expect(p.byAddress(ip('2001:db8:8000:1201::1'))?.prefixes[0].prefix).toEqual(ip('2001:db8:8000:1200::'));
  });

  it('link restriction: a link-address limits byAddress, byClientId, byRelayId and byRemoteId; :: means every link', () => {
    const p = projection();
    p.apply(binding({ client: A, link: L1, addresses: ['2001:db8:1::100'], prefixes: [['2001:db8:8000:1200::', 56]], relay: relayChain({ link: L1, remoteId: 'cm-a' }) }));
    p.apply(binding({ client: A, link: L2, addresses: ['2001:db8:2::100'], relay: relayChain({ link: L2, remoteId: 'cm-a' }) }));
    p.apply(binding({ client: B, link: L2, prefixes: [['2001:db8:8000:1234::', 64]], relay: relayChain({ link: L2, remoteId: 'cm-b' }) }));

    expect(p.byAddress(ip('2001:db8:1::100'), ip(L1))?.key).toBe(`${A}@${L1}`);
    expect(p.byAddress(ip('2001:db8:1::100'), ip(L2))).toBeUndefined();
    expect(p.byAddress(ip('2001:db8:1::100'), ip('::'))?.key).toBe(`${A}@${L1}`);
    // Longest match is on L2; restricted to L1 the /56 on L1 answers.
    expect(p.byAddress(ip('2001:db8:8000:1234::1'))?.key).toBe(`${B}@${L2}`);
    expect(p.byAddress(ip('2001:db8:8000:1234::1'), ip(L1))?.key).toBe(`${A}@${L1}`);
    expect(p.byAddress(ip('2001:db8:1::100'), ip('2001:db8:99::1'))).toBeUndefined(); // unknown link

    expect(p.byClientId(bytes(A)).map((b) => b.key).sort()).toEqual([`${A}@${L1}`, `${A}@${L2}`]);
    expect(p.byClientId(bytes(A), ip(L2)).map((b) => b.key)).toEqual([`${A}@${L2}`]);
    expect(p.byClientId(bytes(C))).toEqual([]);

    const relay1 = bytes(latin1Hex('relay-1'));
    expect(keys(p.byRelayId(relay1))).toEqual([`${A}@${L1}`, `${A}@${L2}`, `${B}@${L2}`]);
    expect(keys(p.byRelayId(relay1, ip('::')))).toEqual([`${A}@${L1}`, `${A}@${L2}`, `${B}@${L2}`]);
    expect(keys(p.byRelayId(relay1, ip(L2)))).toEqual([`${A}@${L2}`, `${B}@${L2}`]);
    // The outer (aggregation) relay's relay-id finds the bindings behind it too (RFC 5460 5.3.1).
    expect(keys(p.byRelayId(bytes(latin1Hex('agg-0')), ip(L1)))).toEqual([`${A}@${L1}`]);
    expect(keys(p.byRelayId(bytes(latin1Hex('nobody'))))).toEqual([]);

    const cmA = { enterpriseNumber: 4491, remoteId: Buffer.from('cm-a') };
    expect(keys(p.byRemoteId(cmA))).toEqual([`${A}@${L1}`, `${A}@${L2}`]);
    expect(keys(p.byRemoteId(cmA, ip(L1)))).toEqual([`${A}@${L1}`]);
    expect(keys(p.byRemoteId({ enterpriseNumber: 9, remoteId: Buffer.from('cm-a') }))).toEqual([]);

    expect(keys(p.byLinkAddress(ip(L2)))).toEqual([`${A}@${L2}`, `${B}@${L2}`]);
    expect(keys(p.byLinkAddress(ip('2001:db8:99::1')))).toEqual([]);
  });

  it('QUERY_BY_REMOTE_ID also finds a remote-id carried by an outer relay hop', () => {
    const p = projection();
    const chain = relayChain({ link: L1 });
    chain.hops[0].remoteId = { enterpriseNumber: 3561, id: latin1Hex('dslam-7') };
    p.apply(binding({ client: A, link: L1, addresses: ['2001:db8:1::100'], relay: chain }));
    p.apply(binding({ client: B, link: L1, addresses: ['2001:db8:1::101'], relay: relayChain({ link: L1, remoteId: 'dslam-7' }) }));
    expect(keys(p.byRemoteId({ enterpriseNumber: 3561, remoteId: Buffer.from('dslam-7') }))).toEqual([`${A}@${L1}`]);
    expect(keys(p.byRemoteId({ enterpriseNumber: 4491, remoteId: Buffer.from('dslam-7') }))).toEqual([`${B}@${L1}`]);
  });

  it('rebuilds the relay chain as RELAY-FORW messages, outermost first (RFC 5007 4.1.2.5)', () => {
    const p = projection();
    const chain = relayChain({ link: L1, remoteId: 'cm-a', interfaceId: 'ge-0/1/2', peer: 'fe80::1:2' });
    p.apply(binding({ client: A, link: L1, addresses: ['2001:db8:1::100'], relay: chain }));
    const relay = p.byAddress(ip('2001:db8:1::100'))?.relay as RelayInfo;
    expect(relay.peerAddress).toEqual(ip('fd00::a:1'));
    const outer = relay.relayMessage;
    expect(outer).toMatchObject({ kind: 'relay', msgType: 12, hopCount: 1, linkAddress: ip('::'), peerAddress: ip('fd00::1:1') });
    expect(hopOptions(outer)).toEqual([
      { name: 'interfaceId', code: 18, data: Buffer.from('agg-port-1') },
      { name: 'relayId', code: 53, duid: Buffer.from('agg-0') },
    ]);
    const inner = outer.options.find((o) => o.name === 'relayMsg');
    expect(inner?.name === 'relayMsg' && inner.message).toMatchObject({ kind: 'relay', msgType: 12, hopCount: 0, linkAddress: ip(L1), peerAddress: ip('fe80::1:2') });
    if (inner?.name !== 'relayMsg' || inner.message.kind !== 'relay') throw new Error('no inner hop');
    expect(inner.message.options).toEqual([
      { name: 'interfaceId', code: 18, data: Buffer.from('ge-0/1/2') },
      { name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: Buffer.from('cm-a') },
      { name: 'relayId', code: 53, duid: Buffer.from('relay-1') },
    ]);
  });

  it('never returns expired resources, even before expire() ran', () => {
    const c = clock();
    const p = projection(c);
    p.apply(binding({ client: A, addresses: [['2001:db8:1::100', 60], ['2001:db8:1::200', 3600]], prefixes: [['2001:db8:8000:1200::', 56, 60]] }));
    c.now = T0 + 60_000;
    const b = p.byClientId(bytes(A))[0];
    expect(b.addresses.map((a) => a.address)).toEqual([ip('2001:db8:1::200')]);
    expect(b.prefixes).toEqual([]);
    expect(p.byAddress(ip('2001:db8:1::100'))).toBeUndefined();
    expect(p.byAddress(ip('2001:db8:8000:1200::1'))).toBeUndefined();
  });

  it('drops resources that had expired before the event arrived (a late catch-up)', () => {
    const c = clock(T0 + 10_000_000);
    const p = projection(c);
    p.apply(binding({ client: A, addresses: [['2001:db8:1::100', 3600]], at: T0 }));
    expect(p.byClientId(bytes(A))[0].addresses).toEqual([]);
    expect(p.stats().resources).toBe(0);
  });

  it('bulk lookups are lazy and tolerate changes between pulls', () => {
    const p = projection();
    for (let i = 0; i < 10; i++) p.apply(binding({ client: `0003000102000000${i.toString(16).padStart(4, '0')}`, link: L1, addresses: [`2001:db8:1::${i + 1}`] }));
    const it = p.byLinkAddress(ip(L1))[Symbol.iterator]();
    const first = it.next().value as Binding;
    // Release one that is not yet pulled, add one: the iteration neither breaks nor repeats.
    const later = first.clientDuid.toString('hex') === '00030001020000000003' ? '00030001020000000004' : '00030001020000000003';
    p.apply(binding({ client: later, link: L1, addresses: [], at: T0 + 1000 }));
    p.apply(binding({ client: '000300010200000000ff', link: L1, addresses: ['2001:db8:1::ff'] }));
    const rest = [first];
    for (let r = it.next(); !r.done; r = it.next()) rest.push(r.value);
    expect(new Set(rest.map((b) => b.key)).size).toBe(10);
    expect(rest.find((b) => b.clientDuid.toString('hex') === later)?.addresses).toEqual([]);
  });
});

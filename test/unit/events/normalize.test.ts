import { describe, expect, it } from 'vitest';
import { BindingEvent, normalizeClientData, encodeEvent, decodeEvent, EventDecodeError, linkEvent, verifyLink, emptyChainHead } from '../../../src/events/index.js';
import { parseIPv6, dhcpTimeToUnixMs, encodeOptions, type ClientDataOption, type Dhcp6Message } from '../../../src/protocol/index.js';

const duid = Buffer.from('000100011c39cf88080027fe8f95', 'hex');
const relayId = Buffer.from('0002000009bf0102', 'hex');

// A two-hop chain as a server would put it in OPTION_LQ_RELAY_DATA: the outer relay
// (nearest the server) with a zero link-address, the inner one naming the client's link.
function chain(): Dhcp6Message {
  const inner: Dhcp6Message = {
    kind: 'relay', msgType: 12, hopCount: 0,
    linkAddress: parseIPv6('2001:db8:1::1'), peerAddress: parseIPv6('fe80::1'),
    options: [
      { name: 'interfaceId', code: 18, data: Buffer.from('eth0') },
      { name: 'remoteId', code: 37, enterpriseNumber: 3561, remoteId: Buffer.from('cpe-42') },
    ],
  };
  return {
    kind: 'relay', msgType: 12, hopCount: 1,
    linkAddress: parseIPv6('::'), peerAddress: parseIPv6('2001:db8:ffff::2'),
    options: [
      { name: 'relayId', code: 53, duid: relayId },
      { name: 'relayMsg', code: 9, message: inner },
    ],
  };
}

function clientData(): ClientDataOption {
  return {
    name: 'clientData', code: 45,
    options: [
      { name: 'clientId', code: 1, duid },
      { name: 'iaAddr', code: 5, address: parseIPv6('2001:db8:1::100'), preferredLifetime: 1800, validLifetime: 3600, options: [] },
      { name: 'iaPrefix', code: 26, preferredLifetime: 0xffffffff, validLifetime: 0xffffffff, prefixLength: 56, prefix: parseIPv6('2001:db8:12::'), options: [] },
      { name: 'cltTime', code: 46, seconds: 30 },
      { name: 'lqRelayData', code: 47, peerAddress: parseIPv6('2001:db8:1::100'), relayMessage: chain() },
    ],
  };
}

const baseTime = 815_000_000; // server clock, seconds since 2000-01-01Z
const ctx = (receivedAt: number) => ({ source: { name: 'dhcp-a', serverDuid: '0003000102030405' }, phase: 'live' as const, baseTime, receivedAt });

describe('normalizeClientData', () => {
  it('keeps server-clock values as received and derives connector-clock instants', () => {
    const serverNowMs = dhcpTimeToUnixMs(baseTime);
    const receivedAt = serverNowMs + 7_250; // this connector's clock runs 7.25 s ahead
    const e = normalizeClientData(clientData(), undefined, ctx(receivedAt));
    expect(BindingEvent.parse(e)).toEqual(e);
    expect(e.clientId).toBe(duid.toString('hex'));
    expect(e.baseTime).toBe(baseTime);
    expect(e.clockOffsetMs).toBe(7_250);
    expect(e.cltTime).toBe(30);
    expect(e.lastTransactionAt).toBe(receivedAt - 30_000);
    expect(e.addresses).toEqual([
      { address: '2001:db8:1::100', preferredLifetime: 1800, validLifetime: 3600, preferredUntil: receivedAt + 1_800_000, validUntil: receivedAt + 3_600_000 },
    ]);
    expect(e.prefixes).toEqual([
      { prefix: '2001:db8:12::', prefixLength: 56, preferredLifetime: 0xffffffff, validLifetime: 0xffffffff, preferredUntil: null, validUntil: null },
    ]);
  });

  it('walks the relay chain: link from the innermost non-zero link-address, ids from the relay nearest the client', () => {
    const e = normalizeClientData(clientData(), undefined, ctx(Date.now()));
    expect(e.linkAddress).toBe('2001:db8:1::1');
    expect(e.relay?.hops.map((h) => h.linkAddress)).toEqual(['::', '2001:db8:1::1']);
    expect(e.relay?.relayId).toBe(relayId.toString('hex'));
    expect(e.relay?.remoteId).toEqual({ enterpriseNumber: 3561, id: Buffer.from('cpe-42').toString('hex') });
    expect(e.relay?.interfaceId).toBe(Buffer.from('eth0').toString('hex'));
    expect(e.relay?.peerAddress).toBe('2001:db8:1::100');
  });

  it('falls back to the query link, then ::, when there is no relay data', () => {
    const cd: ClientDataOption = { name: 'clientData', code: 45, options: [{ name: 'clientId', code: 1, duid }] };
    expect(normalizeClientData(cd, undefined, { ...ctx(1), queryLink: parseIPv6('2001:db8:9::') }).linkAddress).toBe('2001:db8:9::');
    const e = normalizeClientData(cd, undefined, ctx(1));
    expect(e.linkAddress).toBe('::');
    expect(e.addresses).toEqual([]);
    expect(e.lastTransactionAt).toBeNull();
  });

  it('stores the raw option bytes: given ones verbatim, else the re-encoding', () => {
    const cd = clientData();
    const bytes = encodeOptions([cd]);
    expect(normalizeClientData(cd, undefined, ctx(1)).raw).toBe(bytes.toString('base64'));
    const given = Buffer.from('002d0000', 'hex');
    expect(normalizeClientData(cd, given, ctx(1)).raw).toBe(given.toString('base64'));
  });
});

describe('event serialization', () => {
  it('round-trips through a Kafka record with key and headers', () => {
    const e = normalizeClientData(clientData(), undefined, ctx(1_700_000_000_000));
    const rec = encodeEvent(e);
    expect(rec.key).toBe(e.clientId);
    expect(rec.headers).toEqual({ 'lq-event-type': 'binding', 'lq-schema-version': '1' });
    expect(decodeEvent(rec.value)).toEqual(e);
  });

  it('rejects non-JSON and schema violations with a typed error naming the field', () => {
    expect(() => decodeEvent('{nope')).toThrow(EventDecodeError);
    const e = normalizeClientData(clientData(), undefined, ctx(1));
    const bad = { ...e, baseTime: -1 };
    try {
      decodeEvent(JSON.stringify(bad));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(EventDecodeError);
      expect((err as EventDecodeError).issues.join()).toContain('baseTime');
    }
  });
});

describe('integrity chain', () => {
  it('links events and detects an altered one', () => {
    let head = emptyChainHead();
    const a = normalizeClientData(clientData(), undefined, ctx(1));
    const b = normalizeClientData(clientData(), undefined, ctx(2));
    head = linkEvent(a, head);
    head = linkEvent(b, head);
    expect(head.seq).toBe(2);
    expect(b.chain?.prev).toBe(a.chain?.hash);
    expect(verifyLink(a) && verifyLink(b)).toBe(true);
    const tampered = decodeEvent(encodeEvent(b).value);
    if (tampered.type !== 'binding') throw new Error('type');
    tampered.addresses[0].validLifetime = 7;
    expect(verifyLink(tampered)).toBe(false);
  });
});

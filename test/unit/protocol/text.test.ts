// Text forms: RFC 5952 addresses, DUIDs (RFC 8415 section 11), DHCPv6 times.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, test } from 'vitest';
import { describeDuid, dhcpTimeToIso, dhcpTimeToUnixMs, formatIPv6, isInfiniteLifetime, parseIPv6, unixMsToDhcpTime } from '../../../src/protocol/index.js';
import { DUID_EN, DUID_LL, DUID_LLT, hx } from './helpers.js';

describe('formatIPv6 (RFC 5952)', () => {
  test.each([
    ['20010db8000000000000000000000001', '2001:db8::1'], // section 4.2.1: longest zero run compressed
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // section 4.2.3: first of equal runs
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // section 4.2.2: one zero group stays
    ['20010db8000000000001000000000000', '2001:db8:0:0:1::'], // the longer (later) run wins
    ['20010DB8AAAABBBBCCCCDDDDEEEE0001'.toLowerCase(), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1'], // section 4.3: lowercase
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['fe800000000000000216 3efffe112233'.replace(' ', ''), 'fe80::216:3eff:fe11:2233'],
    ['00000000000000000000ffffc0000201', '::ffff:c000:201'], // IPv4-mapped stays hex (documented)
    ['00010000000000000000000000000000', '1::'],
  ])('%s -> %s', (hex, text) => {
    expect(formatIPv6(hx(hex))).toBe(text);
    expect(parseIPv6(text)).toEqual(hx(hex));
  });

  test('agrees with ipaddr.js on random addresses (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.integer({ min: 0, max: 7 })), (bytes, zeroGroups) => {
        for (const g of zeroGroups) bytes[2 * g] = bytes[2 * g + 1] = 0; // make zero runs common
        const addr = ipaddr.fromByteArray(Array.from(bytes)) as ipaddr.IPv6;
        if (addr.isIPv4MappedAddress()) return; // ipaddr.js uses dotted form there
        expect(formatIPv6(bytes)).toBe(addr.toRFC5952String());
        expect(parseIPv6(formatIPv6(bytes))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  test('rejects anything but 16 bytes', () => {
    expect(() => formatIPv6(Buffer.alloc(4))).toThrow('an IPv6 address is 16 bytes, got 4');
  });
});

describe('parseIPv6', () => {
  test('accepts any valid form, including a dotted IPv4 suffix', () => {
    expect(parseIPv6('::ffff:192.0.2.1')).toEqual(hx('00000000000000000000ffffc0000201'));
    expect(parseIPv6(' 2001:DB8::1 ')).toEqual(hx('20010db8000000000000000000000001'));
  });

  test.each(['192.0.2.1', '2001:db8::1::2', 'fe80::1%eth0', '', 'x', '2001:db8:0:0:0:0:0:1:2'])('rejects %j with a clear error', (text) => {
    expect(() => parseIPv6(text)).toThrow(/is not an IPv6 address|zone index/);
  });
});

describe('describeDuid (RFC 8415 section 11)', () => {
  test('DUID-LLT', () => {
    expect(describeDuid(hx(DUID_LLT))).toEqual({
      type: 1,
      typeName: 'DUID-LLT',
      hardwareType: 1,
      time: 0x2d2b1c00,
      timeIso: '2024-01-05T19:58:56Z',
      linkLayerAddress: '00:16:3e:11:22:33',
      hex: '000100012d2b1c0000163e112233',
    });
  });

  test('DUID-EN (the section 11.3 example)', () => {
    expect(describeDuid(hx(DUID_EN))).toEqual({ type: 2, typeName: 'DUID-EN', enterpriseNumber: 9, identifier: '0cc084d303000912', hex: '0002000000090cc084d303000912' });
  });

  test('DUID-LL', () => {
    expect(describeDuid(hx(DUID_LL))).toEqual({ type: 3, typeName: 'DUID-LL', hardwareType: 1, linkLayerAddress: '0a:0b:0c:0d:0e:0f', hex: '000300010a0b0c0d0e0f' });
  });

  test('DUID-UUID (RFC 6355)', () => {
    expect(describeDuid(hx('0004 9f3a6c1e 2b4d 4e8a 8c7b 0123456789ab'))).toEqual({
      type: 4,
      typeName: 'DUID-UUID',
      uuid: '9f3a6c1e-2b4d-4e8a-8c7b-0123456789ab',
      hex: '00049f3a6c1e2b4d4e8a8c7b0123456789ab',
    });
  });

  test('unknown types and DUIDs too short for their type are opaque', () => {
    expect(describeDuid(hx('0005 0102'))).toEqual({ type: 5, typeName: 'opaque', hex: '00050102' });
    expect(describeDuid(hx('0001 0001 00000000'))).toEqual({ type: 1, typeName: 'opaque', hex: '0001000100000000' });
    expect(describeDuid(hx('0004 00'))).toMatchObject({ type: 4, typeName: 'opaque' });
    expect(describeDuid(hx('00'))).toEqual({ type: null, typeName: 'opaque', hex: '00' });
  });
});

describe('DHCPv6 time (seconds since 2000-01-01T00:00:00Z, mod 2^32)', () => {
  test('epoch and known instants', () => {
    expect(dhcpTimeToUnixMs(0)).toBe(946_684_800_000);
    expect(dhcpTimeToIso(0)).toBe('2000-01-01T00:00:00Z');
    expect(dhcpTimeToIso(783_746_040)).toBe('2024-11-01T03:14:00Z');
    expect(unixMsToDhcpTime(Date.UTC(2024, 10, 1, 3, 14, 0, 999))).toBe(783_746_040);
    expect(dhcpTimeToIso(0xffffffff)).toBe('2136-02-07T06:28:15Z');
  });

  test('wraps modulo 2^32 in both directions', () => {
    expect(unixMsToDhcpTime(946_684_799_000)).toBe(0xffffffff); // one second before the epoch
    expect(unixMsToDhcpTime(dhcpTimeToUnixMs(0xffffffff) + 1000)).toBe(0); // one second after the last
  });

  test('round-trips every uint32 (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (t) => unixMsToDhcpTime(dhcpTimeToUnixMs(t)) === t));
  });

  test('infinite lifetime', () => {
    expect(isInfiniteLifetime(0xffffffff)).toBe(true);
    expect(isInfiniteLifetime(0xfffffffe)).toBe(false);
  });
});

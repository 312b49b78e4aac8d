// Byte-exact fixtures for every message type the project meets, written by hand from
// the RFC figures: the client/server header (RFC 8415 section 8: msg-type(1)
// transaction-id(3)) and the relay header (RFC 8415 section 9: msg-type(1)
// hop-count(1) link-address(16) peer-address(16)), each followed by options.
import { describe, expect, test } from 'vitest';
import { decodeMessage, encodedLength, encodeFramedMessage, encodeMessageInto, FrameDecoder, type IaAddrOption } from '../../../src/protocol/index.js';
import { A1, A2, DUID_EN, DUID_LL, DUID_LLT, hx, ip, LINK, PEER, PFX, RELAY2, roundTrip, ZERO } from './helpers.js';

const clientId = { name: 'clientId', code: 1, duid: hx(DUID_LLT) } as const;
const serverId = { name: 'serverId', code: 2, duid: hx(DUID_EN) } as const;
const addr = (text: string, preferredLifetime: number, validLifetime: number): IaAddrOption => ({
  name: 'iaAddr',
  code: 5,
  address: ip(text),
  preferredLifetime,
  validLifetime,
  options: [],
});

describe('message fixtures', () => {
  test('LEASEQUERY (14), RFC 5007 sections 4.1.1 and 4.1.2.1: CLIENTID, LQ_QUERY by address asking for relay data', () => {
    roundTrip(
      `0e | abcdef
       0001 000e ${DUID_LLT}
       002c 0033 | 01 | ${ZERO} | 0005 0018 ${A1} 00000000 00000000 | 0006 0002 002f`,
      {
        kind: 'client-server',
        msgType: 14,
        transactionId: 0xabcdef,
        options: [
          clientId,
          { name: 'lqQuery', code: 44, queryType: 1, linkAddress: ip('::'), options: [addr('2001:db8:1::1a', 0, 0), { name: 'oro', code: 6, codes: [47] }] },
        ],
      },
    );
  });

  test('LEASEQUERY-REPLY (15), RFC 5007 section 4.4.2: SERVERID, CLIENTID, STATUS_CODE, CLIENT_DATA with addresses, a prefix and relay data', () => {
    roundTrip(
      `0f | abcdef
       0002 000e ${DUID_EN}
       0001 000e ${DUID_LLT}
       000d 0009 0000 73756363657373
       002d 00a5
         0001 000e ${DUID_LLT}
         0005 0018 ${A1} 00000e10 00001c20
         0005 0018 ${A2} 00000e10 00001c20
         001a 0019 00000e10 00001c20 38 ${PFX}
         002e 0004 00000078
         002f 0032 ${PEER} | 0c 00 ${LINK} ${PEER}`,
      {
        kind: 'client-server',
        msgType: 15,
        transactionId: 0xabcdef,
        options: [
          serverId,
          clientId,
          { name: 'statusCode', code: 13, status: 0, message: 'success' },
          {
            name: 'clientData',
            code: 45,
            options: [
              clientId,
              addr('2001:db8:1::1a', 3600, 7200),
              addr('2001:db8:1::1b', 3600, 7200),
              { name: 'iaPrefix', code: 26, preferredLifetime: 3600, validLifetime: 7200, prefixLength: 56, prefix: ip('2001:db8:12:3400::'), options: [] },
              { name: 'cltTime', code: 46, seconds: 120 },
              {
                name: 'lqRelayData',
                code: 47,
                peerAddress: ip('fe80::216:3eff:fe11:2233'),
                relayMessage: { kind: 'relay', msgType: 12, hopCount: 0, linkAddress: ip('2001:db8:1::1'), peerAddress: ip('fe80::216:3eff:fe11:2233'), options: [] },
              },
            ],
          },
        ],
      },
    );
  });

  test("LEASEQUERY-DONE (16), RFC 5460 section 5.2.2: QueryTerminated 'shutting down'", () => {
    roundTrip('10 | 000002 | 000d 000f 000b 73 68 75 74 74 69 6e 67 20 64 6f 77 6e', {
      kind: 'client-server',
      msgType: 16,
      transactionId: 2,
      options: [{ name: 'statusCode', code: 13, status: 11, message: 'shutting down' }],
    });
  });

  test('LEASEQUERY-DONE (16) with no options (the normal end of a bulk reply)', () => {
    roundTrip('10 | 000003', { kind: 'client-server', msgType: 16, transactionId: 3, options: [] });
  });

  test('LEASEQUERY-DATA (17), RFC 5460 section 5.2.1: CLIENT_DATA with a two-hop LQ_RELAY_DATA, and LQ_BASE_TIME', () => {
    // LQ_RELAY_DATA (RFC 5007 section 4.1.2.4): the outer relay (hop-count 1, link ::)
    // carries a RELAY_ID and, in RELAY_MSG, the inner relay (hop-count 0) whose own
    // RELAY_MSG (the client's message) the server removed.
    roundTrip(
      `11 | 000002
       002d 00c4
         0001 000e ${DUID_LLT}
         0005 0018 ${A1} 00000e10 00001c20
         0005 0018 ${A2} 00000e10 00001c20
         002e 0004 00000078
         002f 006e ${RELAY2}
           0c 01 ${ZERO} ${RELAY2}
           0035 000a ${DUID_LL}
           0009 002a
             0c 00 ${LINK} ${PEER}
             0012 0004 65746831
       0064 0004 2eb703f8`,
      {
        kind: 'client-server',
        msgType: 17,
        transactionId: 2,
        options: [
          {
            name: 'clientData',
            code: 45,
            options: [
              clientId,
              addr('2001:db8:1::1a', 3600, 7200),
              addr('2001:db8:1::1b', 3600, 7200),
              { name: 'cltTime', code: 46, seconds: 120 },
              {
                name: 'lqRelayData',
                code: 47,
                peerAddress: ip('2001:db8:ffff::2'),
                relayMessage: {
                  kind: 'relay',
                  msgType: 12,
                  hopCount: 1,
                  linkAddress: ip('::'),
                  peerAddress: ip('2001:db8:ffff::2'),
                  options: [
                    { name: 'relayId', code: 53, duid: hx(DUID_LL) },
                    {
                      name: 'relayMsg',
                      code: 9,
                      message: {
                        kind: 'relay',
                        msgType: 12,
                        hopCount: 0,
                        linkAddress: ip('2001:db8:1::1'),
                        peerAddress: ip('fe80::216:3eff:fe11:2233'),
                        options: [{ name: 'interfaceId', code: 18, data: Buffer.from('eth1') }],
                      },
                    },
                  ],
                },
              },
            ],
          },
          { name: 'lqBaseTime', code: 100, time: 783_746_040 },
        ],
      },
    );
  });

  test('ACTIVELEASEQUERY (22), RFC 7653: CLIENTID, ORO for base time and relay data, LQ_START_TIME, LQ_QUERY by link address', () => {
    roundTrip(
      `16 | 00beef
       0001 000e ${DUID_LLT}
       0006 0004 0064 002f
       0065 0004 2eb6d680
       002c 0017 | 04 | ${LINK} | 0006 0002 002f`,
      {
        kind: 'client-server',
        msgType: 22,
        transactionId: 0x00beef,
        options: [
          clientId,
          { name: 'oro', code: 6, codes: [100, 47] },
          { name: 'lqStartTime', code: 101, time: 783_734_400 },
          { name: 'lqQuery', code: 44, queryType: 4, linkAddress: ip('2001:db8:1::1'), options: [{ name: 'oro', code: 6, codes: [47] }] },
        ],
      },
    );
  });

  test('STARTTLS (23), RFC 7653: CLIENTID only', () => {
    roundTrip(`17 | 000001 | 0001 000e ${DUID_LLT}`, { kind: 'client-server', msgType: 23, transactionId: 1, options: [clientId] });
  });

  test("RELAY-FORW (12), RFC 8415 section 9.1: INTERFACE_ID and a client's SOLICIT in RELAY_MSG", () => {
    roundTrip(
      `0c | 01 | ${LINK} | ${PEER}
       0012 0004 65746831
       0009 001c | 01 010203 | 0001 000e ${DUID_LLT} | 0008 0002 0000`,
      {
        kind: 'relay',
        msgType: 12,
        hopCount: 1,
        linkAddress: ip('2001:db8:1::1'),
        peerAddress: ip('fe80::216:3eff:fe11:2233'),
        options: [
          { name: 'interfaceId', code: 18, data: Buffer.from('eth1') },
          {
            name: 'relayMsg',
            code: 9,
            message: { kind: 'client-server', msgType: 1, transactionId: 0x010203, options: [clientId, { name: 'unknown', code: 8, data: hx('0000') }] },
          },
        ],
      },
    );
  });

  test("RELAY-REPL (13), RFC 8415 section 9.2: a server's REPLY in RELAY_MSG", () => {
    roundTrip(
      `0d | 00 | ${LINK} | ${PEER}
       0012 0004 65746831
       0009 0016 | 07 010203 | 0002 000e ${DUID_EN}`,
      {
        kind: 'relay',
        msgType: 13,
        hopCount: 0,
        linkAddress: ip('2001:db8:1::1'),
        peerAddress: ip('fe80::216:3eff:fe11:2233'),
        options: [
          { name: 'interfaceId', code: 18, data: Buffer.from('eth1') },
          { name: 'relayMsg', code: 9, message: { kind: 'client-server', msgType: 7, transactionId: 0x010203, options: [serverId] } },
        ],
      },
    );
  });

  test('any other msg-type decodes with the client/server header and round-trips', () => {
    roundTrip('ff | 000000 | 0008 0002 ffff', { kind: 'client-server', msgType: 255, transactionId: 0, options: [{ name: 'unknown', code: 8, data: hx('ffff') }] });
    roundTrip('00 | ffffff', { kind: 'client-server', msgType: 0, transactionId: 0xffffff, options: [] });
  });
});

describe('encoding', () => {
  const starttls = hx(`17 000001 0001 000e ${DUID_LLT}`);
  const msg = decodeMessage(starttls);

  test('encodedLength is the exact size', () => {
    expect(encodedLength(msg)).toBe(starttls.length);
  });

  test('encodeMessageInto writes at an offset and refuses a buffer that is too small', () => {
    const buf = Buffer.alloc(starttls.length + 5, 0xaa);
    expect(encodeMessageInto(msg, buf, 3)).toBe(3 + starttls.length);
    expect(buf.subarray(3, 3 + starttls.length)).toEqual(starttls);
    expect(buf[2]).toBe(0xaa);
    expect(() => encodeMessageInto(msg, Buffer.alloc(10))).toThrow(/needs 22 bytes/);
  });

  test('encodeFramedMessage prepends the RFC 5460 section 5.1 message-size (0x0016 here)', () => {
    const framed = encodeFramedMessage(msg);
    expect(framed.toString('hex')).toBe('0016' + starttls.toString('hex'));
    expect(new FrameDecoder().push(framed)).toEqual([starttls]);
  });
});

// JSON form of messages: names from the registry, addresses as RFC 5952 text, DUIDs
// explained, times raw and ISO, infinity marked, unknown options as hex.
import { describe, expect, test } from 'vitest';
import { decodeMessage, messageToJson, optionToJson } from '../../../src/protocol/index.js';
import { A1, DUID_EN, DUID_LL, DUID_LLT, hx, LINK, PEER, PFX, ZERO } from './helpers.js';

describe('messageToJson', () => {
  test('a LEASEQUERY-REPLY with client data, relay data and base time', () => {
    const msg = decodeMessage(
      hx(`0f 123456
          0002 000e ${DUID_EN}
          000d 0009 0000 73756363657373
          0064 0004 2eb703f8
          002d 0091
            0001 000e ${DUID_LLT}
            0005 0018 ${A1} 00000e10 ffffffff
            001a 0019 00000e10 00001c20 38 ${PFX}
            002e 0004 00000078
            002f 003a ${PEER} | 0c 00 ${LINK} ${PEER} | 0012 0004 65746831
          004f 0002 abcd`),
    );
    expect(JSON.parse(JSON.stringify(messageToJson(msg)))).toEqual({
      type: 'LEASEQUERY-REPLY',
      msgType: 15,
      transactionId: 0x123456,
      transactionIdHex: '123456',
      options: [
        { name: 'serverId', code: 2, duid: { type: 2, typeName: 'DUID-EN', enterpriseNumber: 9, identifier: '0cc084d303000912', hex: '0002000000090cc084d303000912' } },
        { name: 'statusCode', code: 13, status: 0, statusName: 'Success', message: 'success' },
        { name: 'lqBaseTime', code: 100, time: 783_746_040, iso: '2024-11-01T03:14:00Z' },
        {
          name: 'clientData',
          code: 45,
          options: [
            {
              name: 'clientId',
              code: 1,
              duid: { type: 1, typeName: 'DUID-LLT', hardwareType: 1, time: 757_799_936, timeIso: '2024-01-05T19:58:56Z', linkLayerAddress: '00:16:3e:11:22:33', hex: '000100012d2b1c0000163e112233' },
            },
            { name: 'iaAddr', code: 5, address: '2001:db8:1::1a', preferredLifetime: 3600, validLifetime: 0xffffffff, validLifetimeInfinite: true, options: [] },
            { name: 'iaPrefix', code: 26, prefix: '2001:db8:12:3400::/56', prefixLength: 56, preferredLifetime: 3600, validLifetime: 7200, options: [] },
            { name: 'cltTime', code: 46, seconds: 120 },
            {
              name: 'lqRelayData',
              code: 47,
              peerAddress: 'fe80::216:3eff:fe11:2233',
              relayMessage: {
                type: 'RELAY-FORW',
                msgType: 12,
                hopCount: 0,
                linkAddress: '2001:db8:1::1',
                peerAddress: 'fe80::216:3eff:fe11:2233',
                options: [{ name: 'interfaceId', code: 18, data: '65746831', dataText: 'eth1' }],
              },
            },
          ],
        },
        { name: 'unknown', code: 79, data: 'abcd' },
      ],
    });
  });

  test('queries: query type names, ORO names, times, relay-id, remote-id, links', () => {
    const msg = decodeMessage(
      hx(`0e 000001
          0006 0006 0064 002f 1234
          0065 0004 2eb58500
          0066 0004 2eb82800
          002c 001f 03 ${ZERO} 0035 000a ${DUID_LL}
          002c 0019 05 ${ZERO} 0025 0004 0000118b
          0030 0010 ${LINK}`),
    );
    const json = messageToJson(msg);
    expect(json.options).toEqual([
      { name: 'oro', code: 6, codes: [100, 47, 0x1234], names: ['lqBaseTime', 'lqRelayData', 'option-4660'] },
      { name: 'lqStartTime', code: 101, time: 783_648_000, iso: '2024-10-31T00:00:00Z' },
      { name: 'lqEndTime', code: 102, time: 783_820_800, iso: '2024-11-02T00:00:00Z' },
      {
        name: 'lqQuery',
        code: 44,
        queryType: 3,
        queryTypeName: 'QUERY_BY_RELAY_ID',
        linkAddress: '::',
        options: [{ name: 'relayId', code: 53, duid: { type: 3, typeName: 'DUID-LL', hardwareType: 1, linkLayerAddress: '0a:0b:0c:0d:0e:0f', hex: '000300010a0b0c0d0e0f' } }],
      },
      { name: 'lqQuery', code: 44, queryType: 5, queryTypeName: 'QUERY_BY_REMOTE_ID', linkAddress: '::', options: [{ name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: '' }] },
      { name: 'lqClientLink', code: 48, linkAddresses: ['2001:db8:1::1'] },
    ]);
  });

  test('IA_NA / IA_PD T1 and T2, RELAY_MSG with an RFC 8415 message name, binary ids without text', () => {
    const msg = decodeMessage(
      hx(`0c 00 ${LINK} ${PEER}
          0026 0002 0001
          0009 0024 01 abcdef 0003 000c 00000001 ffffffff 00000000 0019 000c 00000002 00000708 00000b40`),
    );
    const json = messageToJson(msg);
    expect(json.options).toEqual([
      { name: 'subscriberId', code: 38, data: '0001' },
      {
        name: 'relayMsg',
        code: 9,
        message: {
          type: 'SOLICIT',
          msgType: 1,
          transactionId: 0xabcdef,
          transactionIdHex: 'abcdef',
          options: [
            { name: 'iaNa', code: 3, iaid: 1, t1: 0xffffffff, t1Infinite: true, t2: 0, options: [] },
            { name: 'iaPd', code: 25, iaid: 2, t1: 1800, t2: 2880, options: [] },
          ],
        },
      },
    ]);
  });

  test('status names, including unnamed codes; unknown msg-types', () => {
    expect(optionToJson({ name: 'statusCode', code: 13, status: 15, message: '' })).toMatchObject({ statusName: 'TLSConnectionRefused' });
    expect(optionToJson({ name: 'statusCode', code: 13, status: 99, message: '' })).toMatchObject({ statusName: 'Status99' });
    expect(messageToJson({ kind: 'client-server', msgType: 200, transactionId: 1, options: [] }).type).toBe('UNKNOWN-200');
  });
});

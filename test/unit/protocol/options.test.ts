// Byte-exact fixtures for every modelled option, written by hand from the option
// figures of the RFCs (each case names its section). Every case decodes to the
// expected model and re-encodes to the same bytes.
import { describe, expect, test } from 'vitest';
import { decodeOptions, encodeOptions, findOption, findOptions, optionRegistry, type Dhcp6Option } from '../../../src/protocol/index.js';
import { A1, A2, DUID_EN, DUID_LL, DUID_LLT, hx, ip, LINK, LINK2, PEER, PFX, ZERO } from './helpers.js';

interface Fixture {
  title: string;
  hex: string;
  option: Dhcp6Option;
}

const fixtures: Fixture[] = [
  {
    title: 'OPTION_CLIENTID (1), RFC 8415 section 21.2: code, len 14, DUID-LLT',
    hex: `0001 000e | ${DUID_LLT}`,
    option: { name: 'clientId', code: 1, duid: hx(DUID_LLT) },
  },
  {
    title: 'OPTION_SERVERID (2), RFC 8415 section 21.3: the DUID-EN example of section 11.3',
    hex: `0002 000e | ${DUID_EN}`,
    option: { name: 'serverId', code: 2, duid: hx(DUID_EN) },
  },
  {
    title: 'OPTION_IA_NA (3), RFC 8415 section 21.4: IAID 1, T1 1800, T2 2880, one IAADDR',
    hex: `0003 0028 | 00000001 | 00000708 | 00000b40 | 0005 0018 ${A1} 00000e10 00001c20`,
    option: {
      name: 'iaNa',
      code: 3,
      iaid: 1,
      t1: 1800,
      t2: 2880,
      options: [{ name: 'iaAddr', code: 5, address: ip('2001:db8:1::1a'), preferredLifetime: 3600, validLifetime: 7200, options: [] }],
    },
  },
  {
    title: 'OPTION_IAADDR (5), RFC 8415 section 21.6: address, preferred 3600, valid 7200, a STATUS_CODE inside',
    hex: `0005 001e | ${A1} | 00000e10 | 00001c20 | 000d 0002 0000`,
    option: {
      name: 'iaAddr',
      code: 5,
      address: ip('2001:db8:1::1a'),
      preferredLifetime: 3600,
      validLifetime: 7200,
      options: [{ name: 'statusCode', code: 13, status: 0, message: '' }],
    },
  },
  {
    title: 'OPTION_ORO (6), RFC 8415 section 21.7: requests 47, 46, 100',
    hex: '0006 0006 | 002f 002e 0064',
    option: { name: 'oro', code: 6, codes: [47, 46, 100] },
  },
  {
    title: 'OPTION_ORO (6) empty',
    hex: '0006 0000',
    option: { name: 'oro', code: 6, codes: [] },
  },
  {
    title: 'OPTION_RELAY_MSG (9), RFC 8415 section 21.10: a SOLICIT with an ELAPSED_TIME (unmodelled)',
    hex: '0009 000a | 01 010203 | 0008 0002 0000',
    option: {
      name: 'relayMsg',
      code: 9,
      message: { kind: 'client-server', msgType: 1, transactionId: 0x010203, options: [{ name: 'unknown', code: 8, data: hx('0000') }] },
    },
  },
  {
    title: "OPTION_STATUS_CODE (13), RFC 8415 section 21.13: Success 'success'",
    hex: '000d 0009 | 0000 | 73 75 63 63 65 73 73',
    option: { name: 'statusCode', code: 13, status: 0, message: 'success' },
  },
  {
    title: "OPTION_STATUS_CODE (13) with UTF-8: QueryTerminated 'réessayez'",
    hex: '000d 000c | 000b | 72 c3a9 65 73 73 61 79 65 7a',
    option: { name: 'statusCode', code: 13, status: 11, message: 'réessayez' },
  },
  {
    title: 'OPTION_STATUS_CODE (13) keeps a leading BOM (so it re-encodes identically)',
    hex: '000d 0006 | 0001 | efbbbf 78',
    option: { name: 'statusCode', code: 13, status: 1, message: '\ufeffx' },
  },
  {
    title: "OPTION_INTERFACE_ID (18), RFC 8415 section 21.18: 'eth1'",
    hex: '0012 0004 | 65 74 68 31',
    option: { name: 'interfaceId', code: 18, data: Buffer.from('eth1') },
  },
  {
    title: 'OPTION_IA_PD (25), RFC 8415 section 21.21: IAID 2, T1 1800, T2 2880, one IAPREFIX',
    hex: `0019 0029 | 00000002 | 00000708 | 00000b40 | 001a 0019 00000e10 00001c20 38 ${PFX}`,
    option: {
      name: 'iaPd',
      code: 25,
      iaid: 2,
      t1: 1800,
      t2: 2880,
      options: [{ name: 'iaPrefix', code: 26, preferredLifetime: 3600, validLifetime: 7200, prefixLength: 56, prefix: ip('2001:db8:12:3400::'), options: [] }],
    },
  },
  {
    title: 'OPTION_IAPREFIX (26), RFC 8415 section 21.22: infinite lifetimes, /48',
    hex: `001a 0019 | ffffffff | ffffffff | 30 | ${PFX}`,
    option: { name: 'iaPrefix', code: 26, preferredLifetime: 0xffffffff, validLifetime: 0xffffffff, prefixLength: 48, prefix: ip('2001:db8:12:3400::'), options: [] },
  },
  {
    title: 'OPTION_REMOTE_ID (37), RFC 4649 section 3: enterprise 4491, remote-id 00163e112233',
    hex: '0025 000a | 0000118b | 00163e112233',
    option: { name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: hx('00163e112233') },
  },
  {
    title: 'OPTION_REMOTE_ID (37) with an empty remote-id',
    hex: '0025 0004 | 0000118b',
    option: { name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: Buffer.alloc(0) },
  },
  {
    title: "OPTION_SUBSCRIBER_ID (38), RFC 4580 section 2: 'sub-1'",
    hex: '0026 0005 | 73 75 62 2d 31',
    option: { name: 'subscriberId', code: 38, data: Buffer.from('sub-1') },
  },
  {
    title: 'OPTION_LQ_QUERY (44), RFC 5007 section 4.1.2.1: QUERY_BY_ADDRESS, link ::, an IAADDR',
    hex: `002c 002d | 01 | ${ZERO} | 0005 0018 ${A1} 00000000 00000000`,
    option: {
      name: 'lqQuery',
      code: 44,
      queryType: 1,
      linkAddress: ip('::'),
      options: [{ name: 'iaAddr', code: 5, address: ip('2001:db8:1::1a'), preferredLifetime: 0, validLifetime: 0, options: [] }],
    },
  },
  {
    title: 'OPTION_LQ_QUERY (44), RFC 5460 section 5.3.2: QUERY_BY_LINK_ADDRESS, no query-options',
    hex: `002c 0011 | 04 | ${LINK}`,
    option: { name: 'lqQuery', code: 44, queryType: 4, linkAddress: ip('2001:db8:1::1'), options: [] },
  },
  {
    title: 'OPTION_CLIENT_DATA (45), RFC 5007 sections 4.1.2.2 and 4.4.2: CLIENTID, two IAADDR directly inside, CLT_TIME',
    hex: `002d 0052 | 0001 000e ${DUID_LLT} | 0005 0018 ${A1} 00000e10 00001c20 | 0005 0018 ${A2} 00000e10 00001c20 | 002e 0004 00000078`,
    option: {
      name: 'clientData',
      code: 45,
      options: [
        { name: 'clientId', code: 1, duid: hx(DUID_LLT) },
        { name: 'iaAddr', code: 5, address: ip('2001:db8:1::1a'), preferredLifetime: 3600, validLifetime: 7200, options: [] },
        { name: 'iaAddr', code: 5, address: ip('2001:db8:1::1b'), preferredLifetime: 3600, validLifetime: 7200, options: [] },
        { name: 'cltTime', code: 46, seconds: 120 },
      ],
    },
  },
  {
    title: 'OPTION_CLT_TIME (46), RFC 5007 section 4.1.2.3: 120 seconds',
    hex: '002e 0004 | 00000078',
    option: { name: 'cltTime', code: 46, seconds: 120 },
  },
  {
    title: "OPTION_LQ_RELAY_DATA (47), RFC 5007 section 4.1.2.4: peer-address, a one-hop RELAY-FORW without its RELAY_MSG, INTERFACE_ID 'eth1'",
    hex: `002f 003a | ${PEER} | 0c 00 ${LINK} ${PEER} | 0012 0004 65746831`,
    option: {
      name: 'lqRelayData',
      code: 47,
      peerAddress: ip('fe80::216:3eff:fe11:2233'),
      relayMessage: {
        kind: 'relay',
        msgType: 12,
        hopCount: 0,
        linkAddress: ip('2001:db8:1::1'),
        peerAddress: ip('fe80::216:3eff:fe11:2233'),
        options: [{ name: 'interfaceId', code: 18, data: Buffer.from('eth1') }],
      },
    },
  },
  {
    title: 'OPTION_LQ_CLIENT_LINK (48), RFC 5007 section 4.1.2.5: two links',
    hex: `0030 0020 | ${LINK} | ${LINK2}`,
    option: { name: 'lqClientLink', code: 48, linkAddresses: [ip('2001:db8:1::1'), ip('2001:db8:2::1')] },
  },
  {
    title: 'OPTION_RELAY_ID (53), RFC 5460 section 5.4.1: a DUID-LL',
    hex: `0035 000a | ${DUID_LL}`,
    option: { name: 'relayId', code: 53, duid: hx(DUID_LL) },
  },
  {
    title: 'OPTION_LQ_BASE_TIME (100), RFC 7653 (seeds/001 section 6.3.1): 2024-11-01T03:14:00Z',
    hex: '0064 0004 | 2eb703f8',
    option: { name: 'lqBaseTime', code: 100, time: 783_746_040 },
  },
  {
    title: 'OPTION_LQ_START_TIME (101), RFC 7653 (seeds/001 section 6.3.2): 2024-10-31T00:00:00Z',
    hex: '0065 0004 | 2eb58500',
    option: { name: 'lqStartTime', code: 101, time: 783_648_000 },
  },
  {
    title: 'OPTION_LQ_END_TIME (102), RFC 7653 (seeds/001 section 6.3.3): 2024-11-02T00:00:00Z',
    hex: '0066 0004 | 2eb82800',
    option: { name: 'lqEndTime', code: 102, time: 783_820_800 },
  },
  {
    title: 'an unmodelled option (79, OPTION_CLIENT_LINKLAYER_ADDR, RFC 6939) stays raw',
    hex: '004f 0008 | 0001 00163e112233',
    option: { name: 'unknown', code: 79, data: hx('000100163e112233') },
  },
  {
    title: 'an unmodelled option with code 65535 and no data',
    hex: 'ffff 0000',
    option: { name: 'unknown', code: 65535, data: Buffer.alloc(0) },
  },
];

describe('option fixtures', () => {
  test.each(fixtures)('$title', ({ hex, option }) => {
    const bytes = hx(hex);
    const decoded = decodeOptions(bytes);
    expect(decoded).toEqual([option]);
    expect(encodeOptions(decoded).toString('hex')).toBe(bytes.toString('hex'));
    expect(encodeOptions([option]).toString('hex')).toBe(bytes.toString('hex'));
  });

  test('every modelled option has a fixture', () => {
    const covered = new Set(fixtures.map((f) => f.option.code));
    for (const codec of optionRegistry.codecs) expect(covered.has(codec.code), codec.label).toBe(true);
    expect(optionRegistry.codecs).toHaveLength(21);
  });

  test('decoded byte fields are views of the input (no copies)', () => {
    const bytes = hx(`0005 0018 ${A1} 00000e10 00001c20`);
    const [opt] = decodeOptions(bytes);
    expect(opt.name === 'iaAddr' && opt.address.buffer).toBe(bytes.buffer);
  });
});

describe('registry', () => {
  test('maps code <-> name <-> label', () => {
    expect(optionRegistry.byCode(47)?.name).toBe('lqRelayData');
    expect(optionRegistry.byName('lqRelayData').code).toBe(47);
    expect(optionRegistry.byName('iaPrefix').label).toBe('OPTION_IAPREFIX');
    expect(optionRegistry.byCode(79)).toBeUndefined();
    expect(optionRegistry.byCode(70000)).toBeUndefined();
    expect(optionRegistry.nameOf(100)).toBe('lqBaseTime');
    expect(optionRegistry.nameOf(79)).toBe('option-79');
  });
});

describe('findOption / findOptions', () => {
  const options = decodeOptions(hx(fixtures.find((f) => f.option.name === 'clientData')!.hex));
  const clientData = findOption(options, 'clientData');

  test('find the first or every option of a name, typed', () => {
    expect(clientData?.options).toHaveLength(4);
    const inner = clientData?.options ?? [];
    expect(findOption(inner, 'clientId')?.duid.toString('hex')).toBe(hx(DUID_LLT).toString('hex'));
    const addrs = findOptions(inner, 'iaAddr').map((a) => a.address.toString('hex'));
    expect(addrs).toEqual([hx(A1).toString('hex'), hx(A2).toString('hex')]);
    expect(findOption(inner, 'cltTime')?.seconds).toBe(120);
  });

  test('return undefined / [] when absent, and do not search nested lists', () => {
    expect(findOption(options, 'iaAddr')).toBeUndefined();
    expect(findOptions(options, 'iaPrefix')).toEqual([]);
  });
});

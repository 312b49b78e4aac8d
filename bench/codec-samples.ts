// Sample messages for the codec benchmark and the fuzzer: every message type and every
// modelled option at least once, plus the realistic LEASEQUERY-DATA the benchmark
// measures. Built through the model (the hand-written byte fixtures live beside the
// unit tests).
import { parseIPv6, type Dhcp6Message, type Dhcp6Option, type RelayMessage } from '../src/protocol/index.js';

const ip = parseIPv6;
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/** DUID-LLT, hardware type 1 (Ethernet), a time, and a MAC address. */
export const clientDuid = hex('000100012d2b1c0000163e112233');
export const serverDuid = hex('0002000009bf736572766572312d6c61622d6462'); // DUID-EN 2495 'server1-lab-db'
export const relayDuid = hex('000300010a0b0c0d0e0f'); // DUID-LL

function relayForw(hopCount: number, link: string, peer: string, options: Dhcp6Option[]): RelayMessage {
  return { kind: 'relay', msgType: 12, hopCount, linkAddress: ip(link), peerAddress: ip(peer), options };
}

/**
 * The benchmark's message: a LEASEQUERY-DATA with one CLIENT_DATA holding a CLIENTID,
 * two IAADDR, one IAPREFIX, CLT_TIME and an LQ_RELAY_DATA with one relay hop.
 */
export function realisticLeasequeryData(transactionId = 0x123456): Dhcp6Message {
  return {
    kind: 'client-server',
    msgType: 17,
    transactionId,
    options: [
      {
        name: 'clientData',
        code: 45,
        options: [
          { name: 'clientId', code: 1, duid: clientDuid },
          { name: 'iaAddr', code: 5, address: ip('2001:db8:1::1a'), preferredLifetime: 3600, validLifetime: 7200, options: [] },
          { name: 'iaAddr', code: 5, address: ip('2001:db8:1::1b'), preferredLifetime: 3600, validLifetime: 7200, options: [] },
          { name: 'iaPrefix', code: 26, preferredLifetime: 3600, validLifetime: 7200, prefixLength: 56, prefix: ip('2001:db8:12:3400::'), options: [] },
          { name: 'cltTime', code: 46, seconds: 120 },
          {
            name: 'lqRelayData',
            code: 47,
            peerAddress: ip('fe80::216:3eff:fe11:2233'),
            relayMessage: relayForw(0, '2001:db8:1::1', 'fe80::216:3eff:fe11:2233', [
              { name: 'interfaceId', code: 18, data: Buffer.from('ge-0/0/1.100') },
              { name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: hex('00163e112233') },
            ]),
          },
        ],
      },
    ],
  };
}

/** One message of every type, together holding every modelled option and some unknown ones. */
export function sampleMessages(): Dhcp6Message[] {
  const lqBaseTime: Dhcp6Option = { name: 'lqBaseTime', code: 100, time: 784_000_000 };
  return [
    // LEASEQUERY by address, asking for relay data per client (RFC 5007).
    {
      kind: 'client-server',
      msgType: 14,
      transactionId: 0xabcdef,
      options: [
        { name: 'clientId', code: 1, duid: clientDuid },
        {
          name: 'lqQuery',
          code: 44,
          queryType: 1,
          linkAddress: ip('::'),
          options: [
            { name: 'iaAddr', code: 5, address: ip('2001:db8:1::1a'), preferredLifetime: 0, validLifetime: 0, options: [] },
            { name: 'oro', code: 6, codes: [47, 46] },
          ],
        },
      ],
    },
    // Bulk LEASEQUERY by relay-id, by remote-id, by link-address with a time window (RFC 5460, RFC 7653).
    {
      kind: 'client-server',
      msgType: 14,
      transactionId: 2,
      options: [
        { name: 'clientId', code: 1, duid: clientDuid },
        { name: 'oro', code: 6, codes: [100] },
        { name: 'lqQuery', code: 44, queryType: 3, linkAddress: ip('2001:db8:1::1'), options: [{ name: 'relayId', code: 53, duid: relayDuid }] },
      ],
    },
    {
      kind: 'client-server',
      msgType: 14,
      transactionId: 3,
      options: [
        { name: 'lqQuery', code: 44, queryType: 5, linkAddress: ip('::'), options: [{ name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: hex('0a0b0c') }] },
        { name: 'lqStartTime', code: 101, time: 783_990_000 },
        { name: 'lqEndTime', code: 102, time: 784_000_000 },
      ],
    },
    // LEASEQUERY-REPLY with status, client data with relay chain, base time.
    {
      kind: 'client-server',
      msgType: 15,
      transactionId: 0xabcdef,
      options: [
        { name: 'serverId', code: 2, duid: serverDuid },
        { name: 'clientId', code: 1, duid: clientDuid },
        { name: 'statusCode', code: 13, status: 0, message: 'success' },
        lqBaseTime,
        ...(realisticLeasequeryData().options as Dhcp6Option[]),
      ],
    },
    // LEASEQUERY-REPLY listing the client's links.
    {
      kind: 'client-server',
      msgType: 15,
      transactionId: 7,
      options: [
        { name: 'serverId', code: 2, duid: serverDuid },
        { name: 'lqClientLink', code: 48, linkAddresses: [ip('2001:db8:1::1'), ip('2001:db8:2::1')] },
      ],
    },
    // LEASEQUERY-DONE with a non-ASCII status message.
    { kind: 'client-server', msgType: 16, transactionId: 2, options: [{ name: 'statusCode', code: 13, status: 11, message: 'arrêt du serveur — réessayez' }] },
    // LEASEQUERY-DATA with a two-hop relay chain in LQ_RELAY_DATA.
    {
      kind: 'client-server',
      msgType: 17,
      transactionId: 2,
      options: [
        {
          name: 'clientData',
          code: 45,
          options: [
            { name: 'clientId', code: 1, duid: clientDuid },
            { name: 'iaPrefix', code: 26, preferredLifetime: 0xffffffff, validLifetime: 0xffffffff, prefixLength: 48, prefix: ip('2001:db8:77::'), options: [] },
            { name: 'cltTime', code: 46, seconds: 0 },
            {
              name: 'lqRelayData',
              code: 47,
              peerAddress: ip('2001:db8:ffff::2'),
              relayMessage: relayForw(1, '::', '2001:db8:ffff::2', [
                { name: 'relayId', code: 53, duid: relayDuid },
                {
                  name: 'relayMsg',
                  code: 9,
                  message: relayForw(0, '2001:db8:1::1', 'fe80::1', [
                    { name: 'interfaceId', code: 18, data: Buffer.from('eth1') },
                    { name: 'subscriberId', code: 38, data: Buffer.from('subscriber-42') },
                  ]),
                },
              ]),
            },
          ],
        },
        lqBaseTime,
      ],
    },
    // ACTIVELEASEQUERY resuming from a start time (RFC 7653).
    {
      kind: 'client-server',
      msgType: 22,
      transactionId: 0x00beef,
      options: [
        { name: 'clientId', code: 1, duid: clientDuid },
        { name: 'oro', code: 6, codes: [100, 47] },
        { name: 'lqStartTime', code: 101, time: 783_999_000 },
        { name: 'lqQuery', code: 44, queryType: 4, linkAddress: ip('2001:db8:1::1'), options: [{ name: 'oro', code: 6, codes: [47] }] },
      ],
    },
    // STARTTLS.
    { kind: 'client-server', msgType: 23, transactionId: 1, options: [{ name: 'clientId', code: 1, duid: clientDuid }] },
    // RELAY-FORW carrying a client's SOLICIT with IA_NA and IA_PD, and an unmodelled option.
    relayForw(0, '2001:db8:1::1', 'fe80::216:3eff:fe11:2233', [
      { name: 'interfaceId', code: 18, data: Buffer.from('ge-0/0/1.100') },
      { name: 'unknown', code: 79, data: hex('000100163e112233') }, // OPTION_CLIENT_LINKLAYER_ADDR (RFC 6939)
      {
        name: 'relayMsg',
        code: 9,
        message: {
          kind: 'client-server',
          msgType: 1,
          transactionId: 0x010203,
          options: [
            { name: 'clientId', code: 1, duid: clientDuid },
            { name: 'unknown', code: 8, data: hex('0000') }, // OPTION_ELAPSED_TIME
            {
              name: 'iaNa',
              code: 3,
              iaid: 1,
              t1: 0,
              t2: 0,
              options: [{ name: 'iaAddr', code: 5, address: ip('2001:db8:1::1a'), preferredLifetime: 0, validLifetime: 0, options: [] }],
            },
            {
              name: 'iaPd',
              code: 25,
              iaid: 2,
              t1: 1800,
              t2: 2880,
              options: [
                {
                  name: 'iaPrefix',
                  code: 26,
                  preferredLifetime: 3600,
                  validLifetime: 7200,
                  prefixLength: 56,
                  prefix: ip('2001:db8:12:3400::'),
                  options: [{ name: 'statusCode', code: 13, status: 0, message: '' }],
                },
              ],
            },
          ],
        },
      },
    ]),
    // RELAY-REPL (not used by leasequery, but the header must round-trip).
    {
      kind: 'relay',
      msgType: 13,
      hopCount: 0,
      linkAddress: ip('2001:db8:1::1'),
      peerAddress: ip('fe80::1'),
      options: [
        { name: 'interfaceId', code: 18, data: Buffer.from('eth1') },
        { name: 'relayMsg', code: 9, message: { kind: 'client-server', msgType: 7, transactionId: 0x010203, options: [{ name: 'serverId', code: 2, duid: serverDuid }] } },
      ],
    },
  ];
}

// Independent check of the encoder: write the codec's encodings of every message type
// into a pcap (UDP 547 for on-demand leasequery and relay messages, TCP 547 with RFC
// 5460 framing for Bulk and Active Leasequery) and let Wireshark's dissector (tshark)
// read them back. Skipped when tshark is not on PATH, unless LQR_REQUIRE_TSHARK=1
// (scripts/tshark-check.sh sets it). LQR_PCAP_OUT=path keeps the capture.
//
// What tshark 4.0 does not understand, and is therefore tolerated (each only on the
// frames where it applies; any other warning, any error, or a malformed-packet
// exception fails the test):
//  - OPTION_LQ_RELAY_DATA's relay message is an FT_STRING field in its dissector, so
//    the binary RELAY-FORW inside is reported as 'Trailing stray characters'.
//  - Its Bulk Leasequery (TCP) dissector predates RFC 7653: it flags msg-types 22 and
//    23 as 'not allowed', and reads the transaction-id as reserved(1) + id(2).
//  - It names options 100-102 but does not show their values.
//  - It shows the status message as ASCII: each byte of a UTF-8 sequence becomes U+FFFD.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { realisticLeasequeryData, sampleMessages } from '../../../bench/codec-samples.js';
import { encodeFramedMessage, encodeMessage, findOption, type Dhcp6Message } from '../../../src/protocol/index.js';
import { pcapFile, REQUESTOR, SERVER, tcpFrame, udpFrame, type Endpoint } from './pcap.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const required = process.env.LQR_REQUIRE_TSHARK === '1';

const samples = sampleMessages();
const pick = (msgType: number, test: (m: Dhcp6Message) => boolean = () => true): Dhcp6Message => {
  const m = samples.find((s) => s.msgType === msgType && test(s));
  if (!m) throw new Error(`no sample of msg-type ${msgType}`);
  return m;
};
const queryType = (q: number) => (m: Dhcp6Message) => findOption(m.options, 'lqQuery')?.queryType === q;
const hasOption = (name: 'lqClientLink' | 'statusCode') => (m: Dhcp6Message) => findOption(m.options, name) !== undefined;

const client: Endpoint = { address: REQUESTOR, port: 546 };
const relayAgent: Endpoint = { address: REQUESTOR, port: 547 };
const server: Endpoint = { address: SERVER, port: 547 };
const requestorTcp: Endpoint = { address: REQUESTOR, port: 40547 };

interface Case {
  title: string;
  transport: 'udp' | 'tcp';
  messages: Dhcp6Message[];
  /** Field -> every value tshark must show (in order), or a predicate on them. */
  fields: Record<string, string[]>;
  /** tshark limitations expected on this frame (see the comment at the top). */
  tolerated?: string[];
}

const realistic = realisticLeasequeryData();
const size = (m: Dhcp6Message): string => String(encodeMessage(m).length);
/** How tshark 4.0 shows a UTF-8 status message: ASCII, one U+FFFD per other byte. */
const asTsharkAscii = (text: string): string => [...Buffer.from(text, 'utf8')].map((b) => (b < 0x80 ? String.fromCharCode(b) : '\ufffd')).join('');
const STRAY = 'Trailing stray characters';

const cases: Case[] = [
  {
    title: 'LEASEQUERY by address over UDP',
    transport: 'udp',
    messages: [pick(14, queryType(1))],
    fields: { 'dhcpv6.msgtype': ['14'], 'dhcpv6.xid': ['0xabcdef'], 'dhcpv6.lq_query': ['1'], 'dhcpv6.iaaddr.ip': ['2001:db8:1::1a'], 'dhcpv6.requested_option_code': ['47', '46'] },
  },
  {
    title: 'LEASEQUERY-REPLY with CLIENT_DATA and LQ_RELAY_DATA over UDP',
    transport: 'udp',
    messages: [pick(15, hasOption('statusCode'))],
    fields: {
      'dhcpv6.msgtype': ['15'],
      'dhcpv6.status_code': ['0'],
      'dhcpv6.status_msg': ['success'],
      'dhcpv6.duidllt.link_layer_addr': ['00:16:3e:11:22:33', '00:16:3e:11:22:33'],
      'dhcpv6.duiden.enterprise': ['2495'],
      'dhcpv6.iaaddr.ip': ['2001:db8:1::1a', '2001:db8:1::1b'],
      'dhcpv6.iaaddr.valid_lifetime': ['7200', '7200'],
      'dhcpv6.iaprefix.pref_addr': ['2001:db8:12:3400::'],
      'dhcpv6.iaprefix.pref_len': ['56'],
      'dhcpv6.clt_time': ['120'],
      'dhcpv6.lq_relay_data_peer_addr': ['fe80::216:3eff:fe11:2233'],
    },
    tolerated: [STRAY],
  },
  {
    title: 'LEASEQUERY-REPLY with LQ_CLIENT_LINK over UDP',
    transport: 'udp',
    messages: [pick(15, hasOption('lqClientLink'))],
    fields: { 'dhcpv6.msgtype': ['15'], 'dhcpv6.lq_client_link': ['2001:db8:1::1', '2001:db8:2::1'] },
  },
  {
    title: "RELAY-FORW with a client's SOLICIT over UDP",
    transport: 'udp',
    messages: [pick(12)],
    fields: {
      'dhcpv6.msgtype': ['12', '1'],
      'dhcpv6.linkaddr': ['2001:db8:1::1'],
      'dhcpv6.peeraddr': ['fe80::216:3eff:fe11:2233'],
      'dhcpv6.interface_id': ['67652d302f302f312e313030'],
      'dhcpv6.iaprefix.pref_addr': ['2001:db8:12:3400::'],
    },
  },
  {
    title: 'RELAY-REPL with a REPLY over UDP',
    transport: 'udp',
    messages: [pick(13)],
    fields: { 'dhcpv6.msgtype': ['13', '7'], 'dhcpv6.xid': ['0x010203'] },
  },
  {
    title: 'Bulk LEASEQUERY by relay-id over TCP',
    transport: 'tcp',
    messages: [pick(14, queryType(3))],
    fields: { 'dhcpv6.bulk_leasequery.msgtype': ['14'], 'dhcpv6.bulk_leasequery.size': [size(pick(14, queryType(3)))], 'dhcpv6.lq_query': ['3'], 'dhcpv6.duidll.link_layer_addr': ['0a:0b:0c:0d:0e:0f'] },
  },
  {
    title: 'Bulk LEASEQUERY by remote-id with start and end times over TCP',
    transport: 'tcp',
    messages: [pick(14, queryType(5))],
    fields: { 'dhcpv6.bulk_leasequery.msgtype': ['14'], 'dhcpv6.lq_query': ['5'], 'dhcpv6.remoteid.enterprise': ['4491'], 'dhcpv6.option.type': ['44', '37', '101', '102'] },
  },
  {
    title: 'LEASEQUERY-REPLY, LEASEQUERY-DATA (one hop and two hops) and LEASEQUERY-DONE in one TCP segment',
    transport: 'tcp',
    messages: [pick(15, hasOption('statusCode')), realistic, pick(17, (m) => m.kind === 'client-server' && m.transactionId === 2), pick(16)],
    fields: {
      'dhcpv6.bulk_leasequery.msgtype': ['15', '17', '17', '16'],
      'dhcpv6.bulk_leasequery.size': [pick(15, hasOption('statusCode')), realistic, pick(17, (m) => m.kind === 'client-server' && m.transactionId === 2), pick(16)].map(size),
      'dhcpv6.status_code': ['0', '11'],
      'dhcpv6.status_msg': ['success', asTsharkAscii('arrêt du serveur — réessayez')],
      'dhcpv6.iaprefix.pref_addr': ['2001:db8:12:3400::', '2001:db8:12:3400::', '2001:db8:77::'],
      'dhcpv6.lq_relay_data_peer_addr': ['fe80::216:3eff:fe11:2233', 'fe80::216:3eff:fe11:2233', '2001:db8:ffff::2'],
    },
    tolerated: [STRAY],
  },
  {
    title: 'ACTIVELEASEQUERY over TCP',
    transport: 'tcp',
    messages: [pick(22)],
    fields: { 'dhcpv6.bulk_leasequery.msgtype': ['22'], 'dhcpv6.lq_query': ['4'], 'dhcpv6.requested_option_code': ['100', '47', '47'], 'dhcpv6.option.type': ['1', '6', '101', '44', '6'] },
    tolerated: ['Message Type 22 not allowed by DHCPv6 Bulk Leasequery'],
  },
  {
    title: 'STARTTLS over TCP',
    transport: 'tcp',
    messages: [pick(23)],
    fields: { 'dhcpv6.bulk_leasequery.msgtype': ['23'], 'dhcpv6.option.type': ['1'] },
    tolerated: ['Message Type 23 not allowed by DHCPv6 Bulk Leasequery'],
  },
];

function buildCapture(): Buffer {
  let requestorSeq = 1_000;
  let serverSeq = 5_000;
  const frames = cases.map((c) => {
    if (c.transport === 'udp') {
      const [m] = c.messages;
      const from = m.kind === 'relay' ? relayAgent : m.msgType === 14 ? client : server;
      const to = from === server ? client : server;
      return udpFrame(from, to, encodeMessage(m));
    }
    const payload = Buffer.concat(c.messages.map(encodeFramedMessage));
    const fromRequestor = c.messages[0].msgType === 14 || c.messages[0].msgType >= 22;
    const frame = fromRequestor
      ? tcpFrame(requestorTcp, server, requestorSeq, serverSeq, payload)
      : tcpFrame(server, requestorTcp, serverSeq, requestorSeq, payload);
    if (fromRequestor) requestorSeq += payload.length;
    else serverSeq += payload.length;
    return frame;
  });
  return pcapFile(frames);
}

const FIELDS = [...new Set(['_ws.expert.message', '_ws.expert.severity', ...cases.flatMap((c) => Object.keys(c.fields))])];
const PI_ERROR = 0x800000;

describe.skipIf(!hasTshark && !required)(`tshark cross-check${hasTshark ? '' : ' (skipped: tshark is not on PATH; apt-get install tshark)'}`, () => {
  let dir = '';
  let frames: Map<string, string[]>[] = [];
  let verbose = '';

  beforeAll(() => {
    if (!hasTshark) throw new Error('LQR_REQUIRE_TSHARK=1 but tshark is not on PATH');
    dir = mkdtempSync(join(tmpdir(), 'lqr-tshark-'));
    const pcap = process.env.LQR_PCAP_OUT || join(dir, 'leasequery.pcap');
    writeFileSync(pcap, buildCapture());
    const args = ['-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
    const run = (extra: string[]): string => {
      const r = spawnSync('tshark', [...args, ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
      return r.stdout;
    };
    const fieldArgs = FIELDS.flatMap((f) => ['-e', f]);
    frames = run(['-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...fieldArgs])
      .trimEnd()
      .split('\n')
      .map((line) => new Map(line.split('\t').map((v, i) => [FIELDS[i], v === '' ? [] : v.split('|')])));
    verbose = run(['-V']);
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every frame is dissected', () => {
    expect(frames).toHaveLength(cases.length);
  });

  test('no malformed-packet exception and no expert error anywhere', () => {
    expect(verbose).not.toContain('[Malformed Packet');
    expect(verbose).not.toContain('Expert Info (Error');
    for (const f of frames) for (const s of f.get('_ws.expert.severity') ?? []) expect(Number(s)).toBeLessThan(PI_ERROR);
  });

  test.each(cases.map((c, i) => [c.title, i] as const))('%s', (_title, i) => {
    const c = cases[i];
    const frame = frames[i];
    expect(frame.get('_ws.expert.message') ?? [], 'expert infos other than known tshark limitations').toEqual(
      (frame.get('_ws.expert.message') ?? []).filter((m) => c.tolerated?.includes(m)),
    );
    for (const [field, values] of Object.entries(c.fields)) expect(frame.get(field), field).toEqual(values);
  });
});

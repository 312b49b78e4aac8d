// The audit tools against the real broker: a realistic event set (normalized from
// CLIENT_DATA options, linked into per-source chains, checkpoints in a sources topic)
// written with explicit record timestamps; then as-of queries, history export,
// integrity verification (intact, then tampered copies) and replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportHistory,
  heldBy,
  sweep,
  intervalWriter,
  parseAddressArg,
  parsePrefixArg,
  partitionForKey,
  replayRange,
  verifyRange,
  whoHeld,
  type AuditTarget,
  type Interval,
} from '../../src/audit/index.js';
import { run as auditCli } from '../../src/cli/commands/audit.js';
import { run as replayCli } from '../../src/cli/commands/replay.js';
import { encodeCheckpoint, emptyCheckpoint } from '../../src/connector/checkpoint.js';
import { emptyChainHead, encodeEvent, linkEvent, normalizeClientData, SCHEMA_VERSION, type ChainHead, type LqEvent, type SourceEvent } from '../../src/events/index.js';
import { KafkaAdmin, TransactionalProducer, readToEnd, type KafkaSettings, type ProducerRecord, type ReadMessage } from '../../src/kafka/index.js';
import { parseIPv6, unixMsToDhcpTime, type ClientDataOption, type Dhcp6Message, type Dhcp6Option } from '../../src/protocol/index.js';
import { Projection, SnapshotStore } from '../../src/projection/index.js';
import { createTopic, kafkaBrokers, kafkaConfig, uniqueTopic, waitForKafka } from '../helpers/kafka.js';

const T0 = Date.UTC(2024, 10, 1); // 2024-11-01T00:00:00Z, connector clock
const H = 3_600_000;
const DAY = 24 * H;
const PARTITIONS = 3;
const L1 = '2001:db8:1::1';

const C1 = '000100011c39cf88080027fe8f95';
const C2 = '000300010a0000000002';
const C3 = '000300010a0000000003';
const C4 = '000300010a0000000004';
const SERVER_SKEW: Record<string, number> = { 'dhcp-a': 0, 'dhcp-b': 1_500, 'dhcp-c': -250 };

interface Grant {
  source: string;
  client: string;
  at: number;
  addresses?: Array<[string, number]>;
  prefixes?: Array<[string, number, number]>;
  clt?: number;
  phase?: 'live' | 'catch-up' | 'bulk';
  remoteId?: string;
}

/** The relay chain a server puts in OPTION_LQ_RELAY_DATA: one relay on L1 with a remote-id and relay-id. */
function relayChain(remoteId: string): Dhcp6Message {
  return {
    kind: 'relay',
    msgType: 12,
    hopCount: 0,
    linkAddress: parseIPv6(L1),
    peerAddress: parseIPv6('fe80::2'),
    options: [
      { name: 'relayId', code: 53, duid: Buffer.from('00020000099f0001', 'hex') },
      { name: 'remoteId', code: 37, enterpriseNumber: 3561, remoteId: Buffer.from(remoteId, 'hex') },
    ] as Dhcp6Option[],
  };
}

function binding(g: Grant): LqEvent {
  const options: Dhcp6Option[] = [{ name: 'clientId', code: 1, duid: Buffer.from(g.client, 'hex') }];
  for (const [address, valid] of g.addresses ?? []) options.push({ name: 'iaAddr', code: 5, address: parseIPv6(address), preferredLifetime: Math.floor(valid / 2), validLifetime: valid, options: [] });
  for (const [prefix, len, valid] of g.prefixes ?? []) options.push({ name: 'iaPrefix', code: 26, preferredLifetime: Math.floor(valid / 2), validLifetime: valid, prefixLength: len, prefix: parseIPv6(prefix), options: [] });
  options.push({ name: 'cltTime', code: 46, seconds: g.clt ?? 0 });
  options.push({ name: 'lqRelayData', code: 47, peerAddress: parseIPv6('fe80::99'), relayMessage: relayChain(g.remoteId ?? `cafe${g.client.slice(-2)}`) });
  const cd: ClientDataOption = { name: 'clientData', code: 45, options };
  const skew = SERVER_SKEW[g.source];
  return normalizeClientData(cd, undefined, { source: { name: g.source, serverDuid: '00010001aabbccdd' }, phase: g.phase ?? 'live', baseTime: unixMsToDhcpTime(g.at - skew), receivedAt: g.at });
}

function marker(kind: SourceEvent['kind'], source: string, at: number, resyncId: string): SourceEvent {
  return { type: 'source', schemaVersion: SCHEMA_VERSION, source: { name: source, serverDuid: '00010001aabbccdd' }, kind, at, baseTime: unixMsToDhcpTime(at), resyncId, scope: { linkAddresses: [L1], relayIds: [] } };
}

/** The story (connector clock): see each step. */
function story(): LqEvent[] {
  return [
    // C1 on a failover pair: an address and a delegated prefix, valid one day.
    binding({ source: 'dhcp-a', client: C1, at: T0 + 1 * H, addresses: [['2001:db8:1::100', 86_400]], prefixes: [['2001:db8:12::', 56, 86_400]] }),
    binding({ source: 'dhcp-b', client: C1, at: T0 + 1 * H + 2_000, addresses: [['2001:db8:1::100', 86_400]], prefixes: [['2001:db8:12::', 56, 86_400]], clt: 2 }),
    // C2 on dhcp-c, valid two hours: expires at T0+4h.
    binding({ source: 'dhcp-c', client: C2, at: T0 + 2 * H, addresses: [['2001:db8:1::200', 7_200]] }),
    // C1 renews (dhcp-a); dhcp-b's catch-up re-reports the first transaction: no split.
    binding({ source: 'dhcp-a', client: C1, at: T0 + 13 * H, addresses: [['2001:db8:1::100', 86_400]], prefixes: [['2001:db8:12::', 56, 86_400]] }),
    binding({ source: 'dhcp-b', client: C1, at: T0 + 14 * H, addresses: [['2001:db8:1::100', 86_400]], prefixes: [['2001:db8:12::', 56, 86_400]], clt: 13 * 3600 - 2, phase: 'catch-up' }),
    // C1 releases the address, keeps the prefix (both servers report it).
    binding({ source: 'dhcp-a', client: C1, at: T0 + 20 * H, addresses: [['2001:db8:1::100', 0]], prefixes: [['2001:db8:12::', 56, 86_400]] }),
    binding({ source: 'dhcp-b', client: C1, at: T0 + 20 * H + 500, prefixes: [['2001:db8:12::', 56, 86_400]] }),
    // The address goes to C3; C4 gets another one.
    binding({ source: 'dhcp-c', client: C3, at: T0 + 21 * H, addresses: [['2001:db8:1::100', 86_400]] }),
    binding({ source: 'dhcp-c', client: C4, at: T0 + 22 * H, addresses: [['2001:db8:1::300', 86_400]] }),
    // A full bulk resync of dhcp-c on L1 reports C3 only: C4's binding is retired.
    marker('bulk-started', 'dhcp-c', T0 + 23 * H, 'resync-1'),
    binding({ source: 'dhcp-c', client: C3, at: T0 + 23 * H + 1_000, addresses: [['2001:db8:1::100', 86_400]], clt: 7_200, phase: 'bulk' }),
    marker('bulk-complete', 'dhcp-c', T0 + 23 * H + 60_000, 'resync-1'),
  ];
}

let settings: KafkaSettings;
let events: string;
let sources: string;
let target: AuditTarget;
const written: LqEvent[] = [];
const heads = new Map<string, ChainHead>();

/** Writes events (linked into their sources' chains) with explicit timestamps; markers to every partition. */
async function writeEvents(topic: string, list: LqEvent[], sourcesTopic: string | null): Promise<void> {
  const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('audit-txid') });
  try {
    const records: ProducerRecord[] = [];
    for (const e of list) {
      const head = linkEvent(e, heads.get(e.source.name) ?? emptyChainHead());
      heads.set(e.source.name, head);
      const r = encodeEvent(e);
      // The record is stamped when the connector sends it: a little after receipt.
      const timestamp = (e.type === 'binding' ? e.receivedAt : e.at) + 40;
      if (e.type === 'source') for (let p = 0; p < PARTITIONS; p++) records.push({ topic, key: r.key, value: r.value, headers: r.headers, timestamp, partition: p });
      else records.push({ topic, key: r.key, value: r.value, headers: r.headers, timestamp });
      written.push(e);
    }
    // Two transactions, as a connector would batch them.
    await producer.commitBatch(records.slice(0, 6));
    await producer.commitBatch(records.slice(6));
    if (sourcesTopic) {
      const cps = [...heads].map(([source, chainHead]) => ({ ...encodeCheckpoint({ ...emptyCheckpoint(source), chainHead, updatedAt: T0 }), topic: sourcesTopic }));
      await producer.commitBatch(cps);
    }
    await producer.settle();
  } finally {
    await producer.disconnect();
  }
}

async function readAll(topic: string): Promise<ReadMessage[][]> {
  const out: ReadMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  await readToEnd(settings, { topic, timeoutMs: 60_000 }, (b) => {
    out[b.partition].push(...b.messages);
  });
  return out;
}

/** A copy of the topic, record for record (same partition), with `edit` applied to the list of each partition. */
async function copyTopic(from: string, edit: (partition: number, msgs: ReadMessage[]) => ReadMessage[]): Promise<string> {
  const to = await createTopic(uniqueTopic('audit-copy'), { partitions: PARTITIONS, configs: { 'retention.ms': '-1' } });
  const parts = await readAll(from);
  const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('copy-txid') });
  try {
    const records: ProducerRecord[] = [];
    parts.forEach((msgs, p) => {
      for (const m of edit(p, msgs)) records.push({ topic: to, partition: p, key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp });
    });
    await producer.commitBatch(records);
    await producer.settle();
  } finally {
    await producer.disconnect();
  }
  return to;
}

const brief = (iv: Interval) => `${iv.resource} ${iv.clientId.slice(-2)} ${iv.closeReason}`;

beforeAll(async () => {
  await waitForKafka();
  settings = kafkaConfig();
  events = await createTopic(uniqueTopic('audit-events'), { partitions: PARTITIONS, configs: { 'retention.ms': '-1' } });
  sources = await createTopic(uniqueTopic('audit-sources'), { partitions: 1, configs: { 'cleanup.policy': 'compact' } });
  await writeEvents(events, story(), sources);
  target = { kafka: settings, topic: events, read: { reorderWindowMs: 5_000, stallTimeoutMs: 30_000 } };
});

afterAll(async () => {
  const admin = await KafkaAdmin.connect(settings);
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith('audit-') && t.includes(`-${process.pid}-`));
    if (mine.length > 0) await admin.deleteTopics(mine);
  } finally {
    await admin.close();
  }
});

describe('as-of queries', () => {
  it('an address inside a delegated prefix is held by the prefix holder, with the evidence and both clocks', async () => {
    const a = await whoHeld(target, { resource: parseAddressArg('2001:db8:12::77'), at: T0 + 10 * H });
    expect(a.holders).toHaveLength(1);
    const h = a.holders[0];
    expect(h.match).toBe('covering');
    expect(h.interval).toMatchObject({ resource: '2001:db8:12::/56', clientId: C1, linkAddress: L1, start: T0 + 1 * H, closeReason: 'open' });
    expect(h.interval.sources.sort()).toEqual(['dhcp-a', 'dhcp-b']);
    // The report in force at 10:00 is dhcp-b's (same transaction as dhcp-a's, received
    // later); its clock is 1.5 s behind, 2 s once its base time is cut to whole seconds.
    expect(h.interval.latest).toMatchObject({ source: 'dhcp-b', receivedAt: T0 + H + 2_000, clockOffsetMs: 2_000 });
    expect(h.serverClock).toMatchObject({ source: 'dhcp-b', clockOffsetMs: 2_000, iso: new Date(T0 + 10 * H - 2_000).toISOString() });
    expect(h.interval.latest.raw).toBe((written[1] as { raw: string }).raw);
    expect(h.interval.opened.partition).toBe(partitionForKey(C1, PARTITIONS));
    expect(a.basis).toMatchObject({ foldFrom: 'earliest', exact: true, undecodable: 0 });
  });

  it('the address itself: C1 before the release, C3 after; nobody once a lease expired', async () => {
    const before = await whoHeld(target, { resource: parseAddressArg('2001:db8:1::100'), at: T0 + 10 * H });
    expect(before.holders.map((h) => [h.match, h.interval.clientId])).toEqual([['exact', C1]]);
    const after = await whoHeld(target, { resource: parseAddressArg('2001:db8:1::100'), at: T0 + 21 * H + 30 * 60_000 });
    expect(after.holders.map((h) => [h.match, h.interval.clientId])).toEqual([['exact', C3]]);
    const expired = await whoHeld(target, { resource: parseAddressArg('2001:db8:1::200'), at: T0 + 5 * H });
    expect(expired.holders).toEqual([]);
    const atStart = await whoHeld(target, { resource: parseAddressArg('2001:db8:1::200'), at: T0 + 2 * H });
    expect(atStart.holders.map((h) => h.interval.clientId)).toEqual([C2]);
  });

  it('a prefix query finds the exact delegation, and a look-back fold says it is one', async () => {
    const a = await whoHeld(target, { resource: parsePrefixArg('2001:db8:12::/56'), at: T0 + 10 * H, lookback: 12 * H });
    expect(a.holders.map((h) => [h.match, h.interval.clientId])).toEqual([['exact', C1]]);
    expect(a.basis.exact).toBe(false);
    expect(a.basis.caveats[0]).toMatch(/look-back/);
    const wide = await whoHeld(target, { resource: parsePrefixArg('2001:db8::/32'), at: T0 + 22 * H + 60_000 });
    expect(wide.holders.map((h) => `${h.match} ${h.interval.resource} ${h.interval.clientId.slice(-2)}`).sort()).toEqual([
      'contained 2001:db8:12::/56 95',
      'contained 2001:db8:1::100 03',
      'contained 2001:db8:1::300 04',
    ]);
  });

  it('held by client-id reads one partition; by remote-id all of them', async () => {
    const byClient = await heldBy(target, { selector: { clientId: C1 }, from: T0, to: T0 + DAY });
    expect(byClient.partitions).toEqual([partitionForKey(C1, PARTITIONS)]);
    expect(byClient.intervals.map(brief)).toEqual(['2001:db8:12::/56 95 open', '2001:db8:1::100 95 released']);
    const addr = byClient.intervals.find((iv) => iv.kind === 'address') as Interval;
    expect([addr.start, addr.end]).toEqual([T0 + H, T0 + 20 * H]);
    expect(byClient.basis.caveats.join(' ')).toMatch(/only partition/);

    const exact = await heldBy(target, { selector: { clientId: C1 }, from: T0, to: T0 + DAY, allPartitions: true });
    expect(exact.intervals.map(brief)).toEqual(byClient.intervals.map(brief));
    expect(exact.basis.exact).toBe(true);

    const byRemote = await heldBy(target, { selector: { remoteId: { enterpriseNumber: 3561, id: 'cafe03' } }, from: T0, to: T0 + DAY });
    expect(byRemote.intervals.map(brief)).toEqual(['2001:db8:1::100 03 open']);
    const byRelay = await heldBy(target, { selector: { relayId: '00020000099f0001' }, from: T0 + 21 * H, to: T0 + DAY });
    expect(byRelay.intervals.map((iv) => iv.clientId.slice(-2)).sort()).toEqual(['03', '04', '95']);
  });
});

describe('history export', () => {
  it('every interval with its close reason, streamed as NDJSON and CSV', async () => {
    const got: Interval[] = [];
    const summary = await exportHistory(target, { to: T0 + 2 * DAY + 12 * H }, (iv) => got.push(iv));
    expect(got.map(brief).sort()).toEqual([
      '2001:db8:12::/56 95 expired',
      '2001:db8:1::100 03 expired',
      '2001:db8:1::100 95 released',
      '2001:db8:1::200 02 expired',
      '2001:db8:1::300 04 retired',
    ]);
    expect(summary.byReason).toEqual({ expired: 3, released: 1, retired: 1 });
    const retired = got.find((iv) => iv.closeReason === 'retired') as Interval;
    expect(retired.closedBy).toMatchObject({ type: 'source', kind: 'bulk-complete' });
    const c3 = got.find((iv) => iv.clientId === C3) as Interval;
    expect(c3.end).toBe(T0 + 23 * H + 1_000 + DAY); // renewed by the bulk report

    let csv = '';
    const w = intervalWriter('csv', (t) => (csv += t));
    await exportHistory(target, { from: T0 + 20 * H, to: T0 + DAY }, w.write);
    w.finish();
    const rows = csv.trimEnd().split('\r\n');
    expect(rows[0].startsWith('resource,kind,prefix_length,client_id')).toBe(true);
    // Overlapping [20h, 24h]: C1's address (released at 20h exactly does not overlap), the prefix, C3, C4.
    expect(rows.slice(1).map((r) => r.split(',').slice(0, 1)[0]).sort()).toEqual(['2001:db8:12::/56', '2001:db8:1::100', '2001:db8:1::300']);
  });
});

describe('integrity', () => {
  it('an intact topic verifies from genesis to the heads in lq.sources', async () => {
    const r = await verifyRange({ kafka: settings, topic: events, sourcesTopic: sources }, {});
    expect(r.breaks).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.toEnd).toBe(true);
    expect(r.sources.map((s) => [s.source, s.lastSeq, s.fromGenesis, s.headChecked])).toEqual([
      ['dhcp-a', 3, true, true],
      ['dhcp-b', 3, true, true],
      // dhcp-c: 4 bindings + 2 markers, each marker written to every partition (duplicates by design are the same seq)
      ['dhcp-c', 6, true, true],
    ]);
  });

  it('a copy with one event removed is caught, naming the seq and where the chain resumes', async () => {
    const victim = written[3]; // dhcp-a's renewal, seq 2
    const p = partitionForKey((victim as { clientId: string }).clientId, PARTITIONS);
    const copy = await copyTopic(events, (partition, msgs) => (partition === p ? msgs.filter((m) => !m.value?.toString().includes(`"seq":2,`) || !m.value.toString().includes('"dhcp-a"')) : msgs));
    const r = await verifyRange({ kafka: settings, topic: copy, sourcesTopic: sources }, {});
    expect(r.ok).toBe(false);
    expect(r.firstBreak).toMatchObject({ kind: 'missing', source: 'dhcp-a', seq: 2 });
    expect(r.firstBreak?.partition).toBe(p);

    const cli: string[] = [];
    const code = await auditCli(['verify', '--topic', copy, '--sources-topic', sources, '--brokers', kafkaBrokers()], { stdout: (t) => void cli.push(t), stderr: (t) => void cli.push(t), env: {} });
    expect(code).toBe(4);
    expect(cli.join('')).toMatch(/BROKEN: 1 break\(s\)[\s\S]*missing: source dhcp-a seq 2 at partition/);
  });

  it('a copy with an altered event is caught by its own hash', async () => {
    const copy = await copyTopic(events, (_p, msgs) =>
      msgs.map((m) => (m.value?.toString().includes('2001:db8:1::300') ? { ...m, value: Buffer.from(m.value.toString().replace('2001:db8:1::300', '2001:db8:1::301')) } : m)),
    );
    const r = await verifyRange({ kafka: settings, topic: copy, sourcesTopic: sources }, {});
    expect(r.breaks.map((b) => [b.kind, b.source, b.seq])).toEqual([['hash-mismatch', 'dhcp-c', 3]]);
  });
});

describe('replay', () => {
  it('to another topic: the same records, partitions and timestamps; the copy verifies and answers alike', async () => {
    const copy = uniqueTopic('audit-replay');
    const r = await replayRange(target, {}, { kind: 'topic', topic: copy, recordsPerTransaction: 4 });
    expect(r.partitionsPreserved).toBe(true);
    expect(r.emitted).toBe(r.records);
    const [a, b] = [await readAll(events), await readAll(copy)];
    const strip = (parts: ReadMessage[][]) => parts.map((msgs) => msgs.map((m) => `${m.key?.toString()} ${m.timestamp} ${m.value?.toString()}`));
    expect(strip(b)).toEqual(strip(a));
    expect((await verifyRange({ kafka: settings, topic: copy, sourcesTopic: sources }, {})).ok).toBe(true);
    const q = { resource: parseAddressArg('2001:db8:12::77'), at: T0 + 10 * H };
    const [x, y] = [await whoHeld(target, q), await whoHeld({ ...target, topic: copy }, q)];
    expect(y.holders.map((h) => h.interval.opened.offset)).toEqual(x.holders.map((h) => h.interval.opened.offset));
  });

  it('to stdout as NDJSON, filtered by time, source and type', async () => {
    const out: string[] = [];
    const code = await replayCli(['--brokers', kafkaBrokers(), '--topic', events, '--from', new Date(T0 + 12 * H).toISOString(), '--to', new Date(T0 + 21 * H).toISOString(), '--source', 'dhcp-a'], {
      stdout: (t) => void out.push(t),
      stderr: () => undefined,
      env: {},
    });
    expect(code).toBe(0);
    const lines = out.join('').trimEnd().split('\n').map((l) => JSON.parse(l) as LqEvent);
    expect(lines.map((e) => [e.type, e.source.name, e.type === 'binding' ? e.receivedAt : e.at])).toEqual([
      ['binding', 'dhcp-a', T0 + 13 * H],
      ['binding', 'dhcp-a', T0 + 20 * H],
    ]);
    const markers: string[] = [];
    await replayCli(['--brokers', kafkaBrokers(), '--topic', events, '--type', 'source'], { stdout: (t) => void markers.push(t), stderr: () => undefined, env: {} });
    expect(markers.join('').trimEnd().split('\n')).toHaveLength(2 * PARTITIONS);
  });
});

describe('lqr audit', () => {
  const io = (out: string[], err: string[] = []) => ({ stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env: {}, now: () => T0 + 2 * DAY });

  it('who: text answer with the evidence; exit 3 when nobody held it', async () => {
    const out: string[] = [];
    expect(await auditCli(['who', '--brokers', kafkaBrokers(), '--topic', events, '--address', '2001:db8:1::100', '--at', '2024-11-01T11:00:00+01:00', '--decode-raw'], io(out))).toBe(0);
    const text = out.join('');
    expect(text).toContain('2001:db8:1::100 (the address itself)');
    expect(text).toContain(`client    ${C1} on link ${L1}`);
    expect(text).toMatch(/opened by dhcp-a {2}partition \d offset \d+ {2}received 2024-11-01T01:00:00.000Z/);
    expect(text).toContain('"name":"clientData"');
    expect(text).toMatch(/server is 2000 ms behind the connector/);
    const none: string[] = [];
    expect(await auditCli(['who', '--brokers', kafkaBrokers(), '--topic', events, '--address', '2001:db8:1::200', '--at', String(T0 + 5 * H)], io(none))).toBe(3);
  });

  it('held --json and history CSV to a file', async () => {
    const out: string[] = [];
    expect(await auditCli(['held', '--brokers', kafkaBrokers(), '--topic', events, '--client-id', C3, '--from', '2024-11-01T00:00:00Z', '--to', '2024-11-02T00:00:00Z', '--json'], io(out))).toBe(0);
    const j = JSON.parse(out.join('')) as { intervals: Array<{ resource: string; start: string; closeReason: string }>; partitions: number[] };
    expect(j.intervals.map((i) => [i.resource, i.start, i.closeReason])).toEqual([['2001:db8:1::100', '2024-11-01T21:00:00.000Z', 'open']]);
    expect(j.partitions).toEqual([partitionForKey(C3, PARTITIONS)]);

    const { mkdtempSync, readFileSync, createWriteStream } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'lqr-audit-')), 'history.csv');
    const err: string[] = [];
    expect(await auditCli(['history', '--brokers', kafkaBrokers(), '--topic', events, '--format', 'csv', '--out', file], { ...io([], err), openOut: (p: string) => createWriteStream(p) })).toBe(0);
    const csv = readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(csv).toHaveLength(1 + 5);
    expect(err.join('')).toMatch(/exported 5 interval\(s\)/);
  });

  it('typed usage errors, and a bounded wait for brokers that do not answer', async () => {
    const err: string[] = [];
    await expect(auditCli(['who', '--brokers', kafkaBrokers(), '--address', '2001:db8::1', '--at', '2024-11-01T03:14'], io([], err))).resolves.toBe(2);
    expect(err.join('')).toMatch(/no zone/);
    await expect(auditCli(['who', '--brokers', kafkaBrokers(), '--address', 'nope', '--at', 'now'], io([], err))).resolves.toBe(2);
    await expect(auditCli(['who', '--brokers', kafkaBrokers(), '--topic', uniqueTopic('missing'), '--address', '2001:db8::1', '--at', 'now'], io([], err))).resolves.toBe(7);
    // Nothing listens on port 1: the bounded wait ends in a typed error (the test's own
    // timeout is what would catch a hang).
    const code = await auditCli(['who', '--brokers', '127.0.0.1:1', '--timeout', '2000', '--address', '2001:db8::1', '--at', 'now'], io([], err));
    expect(code).toBe(6);
    expect(err.join('')).toMatch(/no answer within 2000 ms/);
  });
});

describe('partitioning', () => {
  it('partitionForKey agrees with where the producer put each client', async () => {
    const parts = await readAll(events);
    parts.forEach((msgs, p) => {
      for (const m of msgs) {
        const key = m.key?.toString() ?? '';
        if (!key.startsWith('source:')) expect(partitionForKey(key, PARTITIONS), key).toBe(p);
      }
    });
    // and with many keys on a wider topic
    const topic = await createTopic(uniqueTopic('audit-keys'), { partitions: 7 });
    const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('keys-txid') });
    const keys = Array.from({ length: 200 }, (_, i) => `0003000100${i.toString(16).padStart(10, '0')}`);
    try {
      await producer.commitBatch(keys.map((k) => ({ topic, key: k, value: 'x' })));
      await producer.settle();
    } finally {
      await producer.disconnect();
    }
    const seen: Array<[string, number]> = [];
    await readToEnd(settings, { topic, timeoutMs: 60_000 }, (b) => {
      for (const m of b.messages) seen.push([m.key?.toString() ?? '', b.partition]);
    });
    expect(seen).toHaveLength(200);
    for (const [k, p] of seen) expect(partitionForKey(k, 7)).toBe(p);
  });
});

// ---- flow control and snapshots ----------------------------------------------------------

/** Writes events without chains, each to the given partition, in transactions of `perTx` records. */
async function writePlain(topic: string, list: Array<{ e: LqEvent; partition: number }>, perTx: number): Promise<void> {
  const producer = await TransactionalProducer.connect(settings, { transactionalId: uniqueTopic('plain-txid') });
  try {
    for (let i = 0; i < list.length; i += perTx) {
      await producer.commitBatch(
        list.slice(i, i + perTx).map(({ e, partition }) => {
          const r = encodeEvent(e);
          return { topic, key: r.key, value: r.value, headers: r.headers, timestamp: (e.type === 'binding' ? e.receivedAt : e.at) + 40, partition };
        }),
      );
    }
    await producer.settle();
  } finally {
    await producer.disconnect();
  }
}

/** A replica's snapshot of `topic` as of `at`: the records stamped before it, in time order, into a Projection whose clock is the events' time. */
async function snapshotAt(topic: string, at: number, dir: string, offsetsTopic = topic): Promise<string> {
  let clock = 0;
  const projection = new Projection({ serverDuid: Buffer.alloc(16), clock: () => clock });
  const r = await sweep(settings, { topic, from: 'earliest', until: { timestamp: at } }, { reorderWindowMs: 5_000 }, (item) => {
    if (item.time > clock) clock = item.time;
    projection.apply(item.event, item.position);
  });
  clock = at;
  projection.expire(at);
  const info = await new SnapshotStore({ dir, keep: 10 }).write(
    projection,
    r.range.partitions.map((p) => ({ topic: offsetsTopic, partition: p.partition, offset: p.stop.toString() })),
  );
  return info.path;
}

const holderRows = (a: Awaited<ReturnType<typeof whoHeld>>) =>
  a.holders.map((h) => ({
    match: h.match,
    resource: h.interval.resource,
    clientId: h.interval.clientId,
    linkAddress: h.interval.linkAddress,
    closeReason: h.interval.closeReason,
    validUntil: h.interval.validUntil,
    sources: [...h.interval.sources].sort(),
    latest: [h.interval.latest.source, h.interval.latest.receivedAt],
    relayIds: h.interval.relayIds,
    remoteIds: h.interval.remoteIds,
    serverClock: h.serverClock,
  }));

describe('flow control: a partition much denser than the others', () => {
  // 3 partitions over 6 hours: partition 0 gets 10 of every 12 events, 1 and 2 one each.
  // 24 addresses on L1 handed round-robin with 10-minute leases, so an address moves
  // between clients of different partitions all the time: the answer depends on the
  // merge's order. Small transactions and small fetches: partitions 1 and 2 cover about
  // four times as much time per fetch as partition 0 and, unpaused, run ahead of it.
  const N = 4_800;
  const SPAN = 6 * H;
  let dense: string;
  let reference: Interval[];
  const key = (iv: Interval) => `${iv.resource} ${iv.clientId} ${iv.start} ${iv.end} ${iv.closeReason} ${iv.opened.partition}:${iv.opened.offset}`;
  const clientOf = (p: number, k: number) => `00030001${(0x0b0000000000 + p * 0x10000 + k).toString(16).padStart(12, '0')}`;
  const expectedAt = new Map<number, { address: string; clientId: string }>();

  beforeAll(async () => {
    dense = await createTopic(uniqueTopic('audit-dense'), { partitions: PARTITIONS, configs: { 'retention.ms': '-1' } });
    const list: Array<{ e: LqEvent; partition: number }> = [];
    for (let i = 0; i < N; i++) {
      const partition = i % 12 < 10 ? 0 : (i % 12) - 9;
      const at = T0 + Math.floor((i * SPAN) / N);
      const address = `2001:db8:1::${(0x1000 + (i % 24)).toString(16)}`;
      const client = clientOf(partition, i % 97);
      list.push({ e: binding({ source: 'dhcp-a', client, at, addresses: [[address, 600]] }), partition });
      // The brute-force answer for address i % 24: the newest grant of it (leases outlive the 24-grant cycle).
      expectedAt.set(i, { address, clientId: client });
    }
    await writePlain(dense, list, 24);
    const refTarget: AuditTarget = { kafka: settings, topic: dense, read: { reorderWindowMs: 5_000, stallTimeoutMs: 60_000, maxBytesPerPartition: 16 << 10, flowControl: false } };
    reference = [];
    const s = await exportHistory(refTarget, { to: T0 + SPAN + H }, (iv) => reference.push(iv));
    expect(s.basis.late).toBe(0);
    expect(reference.length).toBeGreaterThan(N / 2);
  }, 180_000);

  it('unpaused, the buffer grows with the range; paused, it stays bounded and the answer is exact (late 0)', async () => {
    const read = { reorderWindowMs: 5_000, stallTimeoutMs: 60_000, maxBytesPerPartition: 16 << 10 };
    const run = async (r: AuditTarget['read']) => {
      const got: Interval[] = [];
      const s = await exportHistory({ kafka: settings, topic: dense, read: r }, { to: T0 + SPAN + H }, (iv) => got.push(iv));
      return { got, basis: s.basis };
    };
    const free = await run({ ...read, flowControl: false });
    const steered = await run({ ...read, flowControl: true });
    // Unpaused: partitions 1 and 2 are read to their end while partition 0 is far behind.
    expect(free.basis.peakBuffered).toBeGreaterThan(300);
    expect(free.basis.pauses).toBe(0);
    // Paused: a few transactions' worth, whatever the range.
    expect(steered.basis.pauses).toBeGreaterThan(0);
    expect(steered.basis.peakBuffered).toBeLessThan(free.basis.peakBuffered / 2);
    expect(steered.basis.peakBuffered).toBeLessThan(300);
    expect(steered.basis).toMatchObject({ late: 0, forced: 0, exact: true });
    expect(steered.got.map(key)).toEqual(reference.map(key));

    // Under a hard cap of 300 records: unpaused it must release records early and the
    // answer is no longer exact; paused it never reaches the cap.
    const capped = await run({ ...read, flowControl: false, maxBuffered: 300 });
    expect(capped.basis.forced).toBeGreaterThan(0);
    const cappedSteered = await run({ ...read, flowControl: true, maxBuffered: 300 });
    expect(cappedSteered.basis).toMatchObject({ late: 0, forced: 0, exact: true });
    expect(cappedSteered.got.map(key)).toEqual(reference.map(key));
  }, 180_000);

  it('who held an address, with flow control: the brute-force answer', async () => {
    const i = 3_001; // partition 0... an event in the middle of the range
    const { address, clientId } = expectedAt.get(i) as { address: string; clientId: string };
    const at = T0 + Math.floor((i * SPAN) / N) + 1_000; // just after the grant, before the next one of it (24 events later)
    const a = await whoHeld({ kafka: settings, topic: dense, read: { reorderWindowMs: 5_000, maxBytesPerPartition: 16 << 10 } }, { resource: parseAddressArg(address), at });
    expect(a.holders.map((h) => h.interval.clientId)).toEqual([clientId]);
    expect(a.basis).toMatchObject({ late: 0, forced: 0, exact: true });
  });

  it('as of a snapshot: the same answers as the full fold, from fewer records', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'lqr-audit-snap-'));
    const S = T0 + 4 * H;
    await snapshotAt(dense, S, dir);
    const t: AuditTarget = { kafka: settings, topic: dense, read: { reorderWindowMs: 5_000 } };
    for (const i of [3_300, 3_301, 3_555, 4_000, 4_799]) {
      const { address } = expectedAt.get(i) as { address: string };
      const at = T0 + Math.floor((i * SPAN) / N) + 500;
      const full = await whoHeld(t, { resource: parseAddressArg(address), at });
      const snap = await whoHeld(t, { resource: parseAddressArg(address), at, snapshotDir: dir });
      expect(snap.basis.snapshot?.used?.at).toBe(new Date(S).toISOString());
      expect(snap.basis.snapshot?.rejected).toEqual([]);
      expect(holderRows(snap)).toEqual(holderRows(full));
      expect(snap.holders).toHaveLength(1);
      expect(snap.basis).toMatchObject({ late: 0, exact: true });
      expect(snap.basis.records).toBeLessThan(full.basis.records / 2);
    }
    // A holder whose grant is before the snapshot rests on it: start = the report in force, flagged.
    const before = expectedAt.get(3_199) as { address: string; clientId: string };
    const a = await whoHeld(t, { resource: parseAddressArg(before.address), at: S + 1_000, snapshotDir: dir });
    expect(a.holders.map((h) => h.interval.clientId)).toEqual([before.clientId]);
    expect(a.holders[0].interval.seededFrom).toMatch(/^projection-\d+\.lqsnap$/);
    expect(a.holders[0].interval.opened).toMatchObject({ snapshot: a.holders[0].interval.seededFrom, offset: '' });
  }, 120_000);
});

describe('as of a snapshot', () => {
  let dir: string;
  // During dhcp-c's bulk resync (started 23:00, complete 23:01): the snapshot holds it in progress.
  const S = T0 + 23 * H + 30_000;

  beforeAll(async () => {
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    dir = mkdtempSync(join(tmpdir(), 'lqr-audit-snap-'));
    await snapshotAt(events, S, dir);
  });

  it('equals the full fold: failover pair, prefix covering, a resync in progress retiring after it', async () => {
    const cases: Array<[string, number]> = [
      ['2001:db8:12::77', S + 60 * 60_000], // C1's prefix (dhcp-a + dhcp-b), covering
      ['2001:db8:1::100', S + 5 * 60_000], // C3 (reassigned from C1 before the snapshot)
      ['2001:db8:1::300', S + 5 * 60_000], // C4: retired by the bulk-complete after the snapshot
      ['2001:db8:1::300', S + 10_000], // ... still held before it
    ];
    for (const [address, at] of cases) {
      const full = await whoHeld(target, { resource: parseAddressArg(address), at });
      const snap = await whoHeld(target, { resource: parseAddressArg(address), at, snapshotDir: dir });
      expect(snap.basis.snapshot?.used).not.toBeNull();
      expect(holderRows(snap), `${address} at ${new Date(at).toISOString()}`).toEqual(holderRows(full));
      expect(snap.basis.records).toBeLessThan(full.basis.records);
      expect(snap.basis.exact).toBe(true);
    }
    const retired = await whoHeld(target, { resource: parseAddressArg('2001:db8:1::300'), at: S + 5 * 60_000, snapshotDir: dir });
    expect(retired.holders).toEqual([]);
  });

  it('passes over snapshots later than T, corrupt, or of another topic, says why, and falls back', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const q = { resource: parseAddressArg('2001:db8:1::100'), at: T0 + 10 * H };
    const full = await whoHeld(target, q);
    // Only a snapshot later than T: the full look-back, with the reason.
    const later = await whoHeld(target, { ...q, snapshotDir: dir });
    expect(later.basis.snapshot?.used).toBeNull();
    expect(later.basis.snapshot?.rejected[0].reason).toMatch(/after the asked instant/);
    expect(later.basis.caveats.join(' ')).toMatch(/no usable snapshot/);
    expect(later.basis.records).toBe(full.basis.records);
    expect(holderRows(later)).toEqual(holderRows(full));

    // Three snapshots, newest first: another topic's, a corrupt one, then a good one.
    const mixed = mkdtempSync(join(tmpdir(), 'lqr-audit-snap-'));
    const good = await snapshotAt(events, T0 + 5 * H, mixed);
    const corrupt = await snapshotAt(events, T0 + 6 * H, mixed);
    const bytes = readFileSync(corrupt);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(corrupt, bytes);
    await snapshotAt(events, T0 + 7 * H, mixed, 'some-other-topic');
    const a = await whoHeld(target, { ...q, snapshotDir: mixed });
    expect(a.basis.snapshot?.rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/covers topic "some-other-topic"/), expect.stringMatching(/unusable \(checksum\)/)]);
    expect(a.basis.snapshot?.used?.path).toBe(good);
    expect(holderRows(a)).toEqual(holderRows(full));
    expect(a.basis.exact).toBe(true);

    // The command line says what it rests on.
    const out: string[] = [];
    const code = await auditCli(['who', '--brokers', kafkaBrokers(), '--topic', events, '--address', '2001:db8:1::100', '--at', new Date(q.at).toISOString(), '--snapshot-dir', mixed], {
      stdout: (t) => void out.push(t),
      stderr: () => undefined,
      env: {},
    });
    expect(code).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/folded from snapshot projection-0+1\.lqsnap \(2024-11-01T05:00:00.000Z\)/);
    expect(text).toMatch(/snapshot: passed over projection-0+2\.lqsnap: unusable \(checksum\)/);
    expect(text).toMatch(/opened by dhcp-[ab] {2}partition \d \(from snapshot projection-0+1\.lqsnap\)/);
  });
});

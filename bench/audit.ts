// Audit benchmark (`npm run bench:audit -- --events N`): the audit's questions over a
// topic of N binding events spanning 30 simulated days.
//
//   npm run build && npm run -s bench:audit -- --events 1000000
//
// Measures, each in its own process (so its peak RSS is its own):
//   asof_all       who held one address at day 20, folded from the topic's start (exact)
//   asof_lookback  the same, folded from a look-back of 2 days (offsets-for-times)
//   snapshot_build (set-up of the next one) a replica snapshot as of day 20 00:00: the
//                  topic up to then swept into a Projection (clock = the events' time),
//                  written by SnapshotStore with the offsets it covers; reused when present
//   asof_snapshot  the same question, folded from that snapshot (--snapshot-dir)
//   held_client    what one client held over the 30 days: only its key's partition is read
//   export_full    the whole range exported as NDJSON (written to /dev/null), streamed
//   verify_full    the integrity chains of the whole topic, against the heads
// For each: elapsed wall time, CPU time, peak RSS, peak V8 heap (sampled every 50 ms),
// records read, and for the sweeps the merge's peak buffer and pauses (flow control). `--heap-mb N` runs
// the measurements with V8's old space capped at N MiB (node --max-old-space-size): an
// export that completes under a small cap shows its memory does not grow with the range
// (peak RSS alone mostly shows how lazily V8 collects). `--only a,b` picks measurements.
//
// The topic: `--partitions` (12), events of `--clients` (N/50) clients on 2 failover pairs
// of servers, built by the connector's normalizer from real CLIENT_DATA (relay chain
// with remote-id and relay-id, an address, and a delegated /56 for half of the
// clients), linked into per-source chains, written through the Kafka layer's
// transactional producer with record timestamps = receivedAt. Renewals keep a valid
// lifetime of one day; 4% of events are releases, whose address goes back to the
// link's pool and is later granted to another client; 30% of reports are repeated by
// the failover partner. The simulated month starts on 2030-01-01: a transaction's
// commit marker carries the wall-clock time of the commit, and in production that is
// never after the next records; simulated times in the future keep that true, so
// offsets-for-times works on the bench topic as it does on a live one.
//
// The topic is named by N and seed and reused when a finished one exists (its meta
// topic holds the query targets). Without KAFKA_BROKERS a local broker is started on a
// persistent data directory (--data-dir, default .kafka/bench-audit) and stopped at the end.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportHistory, heldBy, intervalWriter, parseAddressArg, sweep, verifyRange, whoHeld, type AuditTarget } from '../src/audit/index.js';
import { Projection, SnapshotStore } from '../src/projection/index.js';
import { encodeCheckpoint, emptyCheckpoint } from '../src/connector/checkpoint.js';
import { emptyChainHead, encodeEvent, linkEvent, normalizeClientData, type ChainHead } from '../src/events/index.js';
import { KafkaAdmin, TransactionalProducer, kafkaSettingsFromEnv, parseBrokerList, readToEnd, type KafkaSettings, type ProducerRecord } from '../src/kafka/index.js';
import { createLogger } from '../src/log.js';
import { formatIPv6, unixMsToDhcpTime, type ClientDataOption, type Dhcp6Message, type Dhcp6Option } from '../src/protocol/index.js';
import { startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';
import { emit, machine } from './lib.js';

const BENCH = 'audit';
const DAY = 86_400_000;
const START = Date.UTC(2030, 0, 1);
const LINKS = 64;
const TX_RECORDS = 5_000;
const logger = createLogger('bench-audit');

interface Meta {
  events: number;
  records: number;
  clients: number;
  seed: number;
  partitions: number;
  start: number;
  end: number;
  /** The as-of target: an address held at `at`, and its holder. */
  address: string;
  at: number;
  clientId: string;
  produceMs: number;
}

// ---- the workload --------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ipv6(words: number[]): Buffer {
  const b = Buffer.alloc(16);
  for (let k = 0; k < 8; k++) b.writeUInt16BE(words[k] ?? 0, k * 2);
  return b;
}

interface Client {
  duid: Buffer;
  link: number;
  /** Address index in its link's pool; -1 while released. */
  address: number;
  prefix: boolean;
}

/** Free address indexes per link: a release returns one, a grant takes the oldest (so addresses move between clients). */
class Pools {
  private readonly free: number[][] = Array.from({ length: LINKS }, () => []);
  private readonly next = new Array<number>(LINKS).fill(1);
  take(link: number): number {
    return this.free[link].shift() ?? this.next[link]++;
  }
  give(link: number, index: number): void {
    this.free[link].push(index);
  }
}

function relayChain(c: Client, index: number): Dhcp6Message {
  return {
    kind: 'relay',
    msgType: 12,
    hopCount: 0,
    linkAddress: ipv6([0x2001, 0xdb8, c.link, 0, 0, 0, 0, 1]),
    peerAddress: ipv6([0xfe80, 0, 0, 0, 0, 0, (index >>> 16) & 0xffff, index & 0xffff]),
    options: [
      { name: 'relayId', code: 53, duid: Buffer.from([0, 2, 0, 0, 0x0d, 0xe9, 0, c.link]) },
      { name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: Buffer.from(`cm${index.toString(16).padStart(8, '0')}`) },
      { name: 'interfaceId', code: 18, data: Buffer.from(`cable1/0/${c.link}`) },
    ] as Dhcp6Option[],
  };
}

function clientData(c: Client, index: number, valid: number): ClientDataOption {
  const options: Dhcp6Option[] = [{ name: 'clientId', code: 1, duid: c.duid }];
  if (c.address >= 0) {
    options.push({ name: 'iaAddr', code: 5, address: ipv6([0x2001, 0xdb8, c.link, 0, 0, 0, c.address >>> 16, c.address & 0xffff]), preferredLifetime: valid >>> 1, validLifetime: valid, options: [] });
    if (c.prefix) options.push({ name: 'iaPrefix', code: 26, preferredLifetime: valid >>> 1, validLifetime: valid, prefixLength: 56, prefix: ipv6([0x2001, 0xdb8, 0x8000 + (index >>> 8), (index & 0xff) << 8]), options: [] });
  }
  options.push({ name: 'cltTime', code: 46, seconds: 0 });
  options.push({ name: 'lqRelayData', code: 47, peerAddress: ipv6([0xfe80, 0, 0, 0, 0, 0, 0, 1]), relayMessage: relayChain(c, index) });
  return { name: 'clientData', code: 45, options };
}

function addressText(c: Client): string {
  return formatIPv6(ipv6([0x2001, 0xdb8, c.link, 0, 0, 0, c.address >>> 16, c.address & 0xffff]));
}

async function produce(settings: KafkaSettings, topic: string, sourcesTopic: string, n: number, clients: number, seed: number, partitions: number): Promise<Meta> {
  const t0 = Date.now();
  const rnd = mulberry32(seed);
  const pools = new Pools();
  const population: Client[] = Array.from({ length: clients }, (_, i) => {
    const link = i % LINKS;
    return { duid: Buffer.from(`00030001${(0x020000000000 + i).toString(16).padStart(12, '0')}`, 'hex'), link, address: -1, prefix: i % 2 === 0 };
  });
  const heads = new Map<string, ChainHead>();
  const span = 30 * DAY;
  const at = START + 20 * DAY + 3 * 3_600_000 + 14 * 60_000;
  let target: { address: string; clientId: string } | undefined;
  const producer = await TransactionalProducer.connect(settings, { transactionalId: `bench-audit-${seed}-${n}` });
  let inFlight: Promise<unknown> = Promise.resolve();
  let records = 0;
  let batch: ProducerRecord[] = [];
  const push = (source: string, e: ReturnType<typeof normalizeClientData>) => {
    const head = linkEvent(e, heads.get(source) ?? emptyChainHead());
    heads.set(source, head);
    const r = encodeEvent(e);
    batch.push({ topic, key: r.key, value: r.value, headers: r.headers, timestamp: e.receivedAt });
  };
  try {
    let i = 0;
    let lastLog = Date.now();
    while (i < n) {
      const index = Math.floor(rnd() * clients);
      const c = population[index];
      const receivedAt = Math.floor(START + (i * span) / n + rnd() * 1000);
      const pair = index % 2 === 0 ? ['dhcp-1', 'dhcp-2'] : ['dhcp-3', 'dhcp-4'];
      let valid = 86_400;
      if (c.address < 0) {
        c.address = pools.take(c.link);
      } else if (rnd() < 0.04) {
        pools.give(c.link, c.address);
        c.address = -1;
        valid = 0;
      }
      const cd = clientData(c, index, valid);
      const ctx = (source: string, t: number) => ({ source: { name: source, serverDuid: source === pair[0] ? '0001000100000001' : '0001000100000002' }, phase: 'live' as const, baseTime: unixMsToDhcpTime(t), receivedAt: t });
      push(pair[0], normalizeClientData(cd, undefined, ctx(pair[0], receivedAt)));
      i++;
      if (receivedAt < at && c.address >= 0) target = { address: addressText(c), clientId: c.duid.toString('hex') };
      if (i < n && rnd() < 0.3) {
        push(pair[1], normalizeClientData(cd, undefined, ctx(pair[1], receivedAt + 3)));
        i++;
      }
      if (batch.length >= TX_RECORDS) {
        await inFlight;
        const records0 = batch;
        batch = [];
        records += records0.length;
        inFlight = producer.commitBatch(records0);
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          logger.info({ events: i, of: n, rate: Math.round(i / ((Date.now() - t0) / 1000)) }, 'producing');
        }
      }
    }
    await inFlight;
    records += batch.length;
    if (batch.length > 0) await producer.commitBatch(batch);
    await producer.commitBatch([...heads].map(([source, chainHead]) => ({ ...encodeCheckpoint({ ...emptyCheckpoint(source), chainHead, updatedAt: START + span }), topic: sourcesTopic })));
    await producer.settle();
  } finally {
    await producer.disconnect();
  }
  if (!target) throw new Error('no client was bound at the query instant');
  return { events: n, records, clients, seed, partitions, start: START, end: START + span, address: target.address, at, clientId: target.clientId, produceMs: Date.now() - t0 };
}

// ---- topic reuse -------------------------------------------------------------------------

async function readMeta(settings: KafkaSettings, metaTopic: string): Promise<Meta | undefined> {
  const admin = await KafkaAdmin.connect(settings);
  try {
    if (!(await admin.listTopics()).includes(metaTopic)) return undefined;
  } finally {
    await admin.close();
  }
  let meta: Meta | undefined;
  await readToEnd(settings, { topic: metaTopic, timeoutMs: 60_000 }, (b) => {
    for (const m of b.messages) if (m.value) meta = JSON.parse(m.value.toString()) as Meta;
  });
  return meta;
}

async function prepare(settings: KafkaSettings, n: number, seed: number, partitions: number, clients: number): Promise<{ topic: string; sourcesTopic: string; meta: Meta; reused: boolean }> {
  const topic = `bench-audit-n${n}-s${seed}-p${partitions}`;
  const sourcesTopic = `${topic}-sources`;
  const metaTopic = `${topic}-meta`;
  const existing = await readMeta(settings, metaTopic);
  if (existing) return { topic, sourcesTopic, meta: existing, reused: true };
  const admin = await KafkaAdmin.connect(settings);
  try {
    const present = await admin.listTopics();
    const stale = [topic, sourcesTopic].filter((t) => present.includes(t));
    if (stale.length > 0) {
      await admin.deleteTopics(stale);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await admin.ensureTopics([
      { name: topic, partitions, replicationFactor: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' } },
      { name: sourcesTopic, partitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' } },
      { name: metaTopic, partitions: 1, replicationFactor: 1, configs: { 'retention.ms': '-1' } },
    ]);
  } finally {
    await admin.close();
  }
  const meta = await produce(settings, topic, sourcesTopic, n, clients, seed, partitions);
  const producer = await TransactionalProducer.connect(settings, { transactionalId: `bench-audit-meta-${seed}-${n}` });
  try {
    await producer.commitBatch([{ topic: metaTopic, value: JSON.stringify(meta) }]);
    await producer.settle();
  } finally {
    await producer.disconnect();
  }
  return { topic, sourcesTopic, meta, reused: false };
}

// ---- one measurement per process ---------------------------------------------------------------

type Phase = 'asof_all' | 'asof_lookback' | 'snapshot_build' | 'asof_snapshot' | 'held_client' | 'export_full' | 'verify_full';
const PHASES: Phase[] = ['asof_all', 'asof_lookback', 'snapshot_build', 'asof_snapshot', 'held_client', 'export_full', 'verify_full'];

/** The replica snapshot of the asof_snapshot measurement: as of day 20 00:00 (the query is at day 20 03:14). */
function snapshotDirOf(topic: string): string {
  return resolve('.kafka', 'bench-audit-snapshots', topic);
}
function snapshotInstant(meta: Meta): number {
  return meta.start + 20 * DAY;
}

interface WorkerResult {
  phase: Phase;
  elapsedMs: number;
  /** CPU time of the worker (user + system, all threads) during the measurement: steadier than wall time on a shared machine. */
  cpuMs: number;
  maxRssMiB: number;
  /** Peak V8 heap used, sampled every 50 ms. */
  maxHeapMiB: number;
  records: number;
  detail: Record<string, unknown>;
}

async function worker(phase: Phase, brokers: string, topic: string, sourcesTopic: string, meta: Meta): Promise<WorkerResult> {
  const settings = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(brokers) });
  const target: AuditTarget = { kafka: settings, topic, read: { stallTimeoutMs: 120_000 } };
  const t0 = Date.now();
  const c0 = process.cpuUsage();
  let maxHeap = 0;
  const sampler = setInterval(() => {
    const h = process.memoryUsage().heapUsed;
    if (h > maxHeap) maxHeap = h;
  }, 50);
  let records = 0;
  let detail: Record<string, unknown> = {};
  if (phase === 'asof_all' || phase === 'asof_lookback' || phase === 'asof_snapshot') {
    const snapshotDir = phase === 'asof_snapshot' ? snapshotDirOf(topic) : undefined;
    const a = await whoHeld(target, { resource: parseAddressArg(meta.address), at: meta.at, lookback: phase === 'asof_lookback' ? 2 * DAY : 'all', snapshotDir });
    records = a.basis.records;
    const holder = a.holders[0]?.interval;
    detail = {
      address: meta.address,
      at: new Date(meta.at).toISOString(),
      holder: holder?.clientId ?? null,
      expected: meta.clientId,
      correct: holder?.clientId === meta.clientId,
      exact: a.basis.exact,
      caveats: a.basis.caveats.map((c) => c.slice(0, 80)),
      late: a.basis.late,
      peakBuffered: a.basis.peakBuffered,
      pauses: a.basis.pauses,
      forced: a.basis.forced,
      engine: { maxBindings: a.basis.engine.maxBindings, applied: a.basis.engine.applied },
      ...(a.basis.snapshot
        ? {
            snapshot: a.basis.snapshot.used
              ? { file: a.basis.snapshot.used.file, at: a.basis.snapshot.used.at, bindings: a.basis.snapshot.used.bindings, loadMs: a.basis.snapshot.used.loadMs, startedAt: holder?.seededFrom ? 'in snapshot' : 'after snapshot' }
              : null,
            rejected: a.basis.snapshot.rejected,
          }
        : {}),
    };
  } else if (phase === 'snapshot_build') {
    const dir = snapshotDirOf(topic);
    const store = new SnapshotStore({ dir, keep: 1 });
    const existing = await store.list();
    if (existing.length > 0) {
      detail = { reused: true, path: existing[0] };
    } else {
      // A replica's snapshot as of day 20 00:00: the topic up to then, in time order,
      // into a Projection whose clock is the events' time (as a replica's would be).
      const until = snapshotInstant(meta);
      let clock = meta.start;
      let lastExpire = clock;
      const projection = new Projection({ serverDuid: Buffer.alloc(16), clock: () => clock });
      const r = await sweep(settings, { topic, from: 'earliest', until: { timestamp: until } }, { stallTimeoutMs: 120_000 }, (item) => {
        if (item.time > clock) clock = item.time;
        projection.apply(item.event, item.position);
        if (clock - lastExpire >= 60_000) {
          projection.expire(clock);
          lastExpire = clock;
        }
      });
      clock = until;
      projection.expire(clock);
      const offsets = r.range.partitions.map((p) => ({ topic, partition: p.partition, offset: p.stop.toString() }));
      const info = await store.write(projection, offsets);
      records = r.range.records;
      detail = { reused: false, path: info.path, bytes: info.bytes, bindings: info.bindings, at: new Date(until).toISOString(), peakBuffered: r.peakBuffered, pauses: r.merge.pauses, late: r.merge.late };
    }
  } else if (phase === 'held_client') {
    const h = await heldBy(target, { selector: { clientId: meta.clientId }, from: meta.start, to: meta.end });
    records = h.basis.records;
    detail = { clientId: meta.clientId, intervals: h.intervals.length, partitions: h.partitions };
  } else if (phase === 'export_full') {
    const out = createWriteStream('/dev/null');
    let bytes = 0;
    let buf = '';
    const w = intervalWriter('ndjson', (t) => {
      buf += t;
    });
    const drain = async () => {
      if (buf.length === 0) return;
      const chunk = buf;
      buf = '';
      bytes += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    };
    const s = await exportHistory(target, { to: meta.end + 2 * DAY }, w.write, drain);
    await new Promise<void>((r) => out.end(() => r()));
    records = s.basis.records;
    detail = {
      intervals: s.intervals,
      byReason: s.byReason,
      ndjsonBytes: bytes,
      maxOpenIntervals: s.basis.engine.maxOpenIntervals,
      maxBindings: s.basis.engine.maxBindings,
      late: s.basis.late,
      peakBuffered: s.basis.peakBuffered,
      pauses: s.basis.pauses,
      forced: s.basis.forced,
    };
  } else {
    const r = await verifyRange({ kafka: settings, topic, sourcesTopic, read: { stallTimeoutMs: 120_000 } }, {});
    records = r.records;
    detail = { ok: r.ok, breaks: r.breakCount, sources: r.sources.map((s) => ({ source: s.source, lastSeq: s.lastSeq, headChecked: s.headChecked })), peakBuffered: r.merge.maxBuffered, pauses: r.merge.pauses };
  }
  clearInterval(sampler);
  const h = process.memoryUsage().heapUsed;
  if (h > maxHeap) maxHeap = h;
  const cpu = process.cpuUsage(c0);
  return {
    phase,
    elapsedMs: Date.now() - t0,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    maxHeapMiB: Math.round(maxHeap / (1 << 20)),
    records,
    detail,
  };
}

function runWorker(phase: Phase, brokers: string, topic: string, sourcesTopic: string, meta: Meta, heapMb: number | undefined): Promise<WorkerResult> {
  const script = fileURLToPath(import.meta.url);
  const node = heapMb ? [`--max-old-space-size=${heapMb}`] : [];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...node, script, '--worker', phase, '--brokers', brokers, '--topic', topic, '--sources-topic', sourcesTopic, '--meta', JSON.stringify(meta)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${phase} exited with ${code}`));
      else resolvePromise(JSON.parse(out.trim().split('\n').pop() as string) as WorkerResult);
    });
  });
}

// ---- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      partitions: { type: 'string' },
      'data-dir': { type: 'string' },
      only: { type: 'string' },
      'heap-mb': { type: 'string' },
      worker: { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
      'sources-topic': { type: 'string' },
      meta: { type: 'string' },
    },
  });
  if (values.worker) {
    const r = await worker(values.worker as Phase, values.brokers as string, values.topic as string, values['sources-topic'] as string, JSON.parse(values.meta as string) as Meta);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const n = Number(values.events ?? 10_000_000);
  const seed = Number(values.seed ?? 1);
  const partitions = Number(values.partitions ?? 12);
  const clients = Number(values.clients ?? Math.max(1_000, Math.round(n / 50)));
  for (const [k, v] of Object.entries({ events: n, seed, partitions, clients })) if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  const heapMb = values['heap-mb'] !== undefined ? Number(values['heap-mb']) : undefined;
  const phases = values.only ? (values.only.split(',') as Phase[]) : PHASES;
  for (const p of phases) if (!PHASES.includes(p)) throw new Error(`--only: unknown measurement '${p}' (${PHASES.join(', ')})`);

  let kafka: RunningKafka | undefined;
  try {
    const setup0 = Date.now();
    kafka = await startKafka({ logger, dataDir: process.env.KAFKA_BROKERS ? undefined : resolve(values['data-dir'] ?? '.kafka/bench-audit'), heapMb: 1024 });
    const brokerMs = Date.now() - setup0;
    const settings = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(kafka.brokers) });
    const { topic, sourcesTopic, meta, reused } = await prepare(settings, n, seed, partitions, clients);
    emit({ bench: BENCH, metric: 'topic', value: meta.records, unit: 'records', topic, reused, events: meta.events, clients: meta.clients, partitions: meta.partitions, days: 30, produceMs: meta.produceMs, ...machine() });
    emit({ bench: BENCH, metric: 'setup_elapsed', value: Date.now() - setup0, unit: 'ms', brokerStartMs: brokerMs, topicReused: reused });
    // A reused topic was produced by an earlier run: its produce time is the one that run measured (kept in the meta topic).
    emit({ bench: BENCH, metric: 'produce_elapsed', value: meta.produceMs, unit: 'ms', events: meta.events, records: meta.records, measuredByEarlierRun: reused });
    emit({ bench: BENCH, metric: 'produce_rate', value: Math.round(meta.records / (meta.produceMs / 1000)), unit: 'records/s', events: meta.events, elapsedMs: meta.produceMs, measuredByEarlierRun: reused });
    for (const phase of phases) {
      let r: WorkerResult;
      try {
        r = await runWorker(phase, kafka.brokers, topic, sourcesTopic, meta, heapMb);
      } catch (err) {
        // One failed measurement does not cost the others.
        emit({ bench: BENCH, metric: `${phase}_failed`, value: 1, unit: 'count', error: (err as Error).message });
        continue;
      }
      emit({
        bench: BENCH,
        metric: `${phase}_elapsed`,
        value: r.elapsedMs,
        unit: 'ms',
        events: meta.events,
        records: r.records,
        recordsPerSec: Math.round(r.records / Math.max(0.001, r.elapsedMs / 1000)),
        cpuMs: r.cpuMs,
        ...r.detail,
        ...machine(),
      });
      emit({ bench: BENCH, metric: `${phase}_peak_rss`, value: r.maxRssMiB, unit: 'MiB', events: meta.events, heapLimitMiB: heapMb ?? null });
      emit({ bench: BENCH, metric: `${phase}_peak_heap`, value: r.maxHeapMiB, unit: 'MiB', events: meta.events, heapLimitMiB: heapMb ?? null });
    }
  } finally {
    await kafka?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:audit: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

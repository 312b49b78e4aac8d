// Scale benchmark (issue 8, "Benchmark at growth"): how cost grows with the work.
//
//   npm run build && npm run -s bench:scale        (node --expose-gc)
//
// Phases (LQR_SCALE_PHASES, default "projection,connector,rebuild"), one JSON line per
// metric (bench/lib.ts), then summary lines computed from this run's numbers:
//
//   projection  an in-process Projection holding N bindings (LQR_SCALE_BINDINGS,
//               default 100000,1000000,5000000) from synthetic binding events (one IA_NA
//               address each, 2,000 links): apply rate, heap bytes per binding (two full
//               GCs, heapUsed + arrayBuffers, delta over an empty projection), lookup
//               latency by address p50/p99 (each byAddress call timed alone).
//   connector   N lab DHCPv6 servers in this process (LQR_SCALE_SOURCES, default
//               10,100,500; LQR_SCALE_CLIENTS clients each, default 200), one
//               `lqr connector` child process with N sources against a local broker.
//               The offered load is the SAME TOTAL at every N (LQR_SCALE_OFFERED lab
//               operations/s, default 20000, split evenly over the servers), chosen above
//               what the connector can take on this machine, so the committed rate is
//               its capacity. Measures: time from spawning the connector to all N
//               sessions live and initial loads drained, committed events/s over a
//               steady window (LQR_SCALE_SECONDS, default 20; the connector's
//               lqr_connector_batch_events_sum), the connector child's CPU seconds per
//               1,000 events (/proc/PID/stat), its VmRSS and VmHWM, this process's RSS
//               (the labs' share).
//   rebuild     one topic grown to each size of LQR_SCALE_TOPIC (default
//               100000,500000,1000000 events, one binding each): a fresh Replica from the
//               earliest offset to whenReady(), then stop (snapshot) and restart from the
//               snapshot to whenReady(); UDP LEASEQUERY rate and p50/p99 over loopback
//               (bench/udp-load.ts, LQR_SCALE_UDP_SECONDS, default 5) at sizes up to
//               LQR_SCALE_UDP_MAX (default 1000000).
//   summary     which resource runs out first on this machine, and a projection for a
//               10-million-subscriber ISP (LQR_SCALE_SUBSCRIBERS), each with its formula.
//
// Starts a local broker (deploy/kafka) unless KAFKA_BROKERS is set; stops what it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { stringify } from 'yaml';
import { startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';
import { encodeEvent, type BindingEvent } from '../src/events/index.js';
import { KafkaAdmin, TransactionalProducer, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../src/kafka/index.js';
import { LabServer } from '../src/lab/index.js';
import { createLogger } from '../src/log.js';
import { Projection } from '../src/projection/index.js';
import { formatIPv6 } from '../src/protocol/index.js';
import { Replica } from '../src/replica/index.js';
import { runLoadHere } from './dhcpd.js';
import { emit, machine, median, nowMs, oneAddressEvent } from './lib.js';

const BENCH = 'scale';
const here = dirname(fileURLToPath(import.meta.url));
const LQR = resolve(here, '..', 'src', 'cli', 'lqr.js');
const logger = createLogger('bench-scale');

const list = (name: string, dflt: string): number[] =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isFinite(n) && n > 0);
const SOURCES = list('LQR_SCALE_SOURCES', '10,100,500');
const BINDINGS = list('LQR_SCALE_BINDINGS', '100000,1000000,5000000');
const TOPIC = list('LQR_SCALE_TOPIC', '100000,500000,1000000').sort((a, b) => a - b);
const CLIENTS = Number(process.env.LQR_SCALE_CLIENTS ?? 200);
const OFFERED = Number(process.env.LQR_SCALE_OFFERED ?? 20_000);
const SECONDS = Number(process.env.LQR_SCALE_SECONDS ?? 20);
const UDP_SECONDS = Number(process.env.LQR_SCALE_UDP_SECONDS ?? 5);
const UDP_MAX = Number(process.env.LQR_SCALE_UDP_MAX ?? 1_000_000);
const SUBSCRIBERS = Number(process.env.LQR_SCALE_SUBSCRIBERS ?? 10_000_000);
const PHASES = new Set((process.env.LQR_SCALE_PHASES ?? 'projection,connector,rebuild').split(',').map((s) => s.trim()));
const LOOKUPS = 100_000;
const BATCH = 10_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc (npm run bench:scale does)\n');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;
const MiB = (b: number): number => round(b / 2 ** 20, 1);

// ---- synthetic bindings ---------------------------------------------------------------------

const LINKS = 2000;
const ip = (words: number[]): Buffer => {
  const b = Buffer.alloc(16);
  for (let k = 0; k < 8; k++) b.writeUInt16BE(words[k] ?? 0, k * 2);
  return b;
};
/** Binding i's address: 2001:db8:1::/64 + 0x100000 + i (distinct for 2^32 - 2^20 bindings). */
const addressBuf = (i: number): Buffer => {
  const v = 0x100000 + i;
  return ip([0x2001, 0xdb8, 1, 0, 0, 0, (v >>> 16) & 0xffff, v & 0xffff]);
};
const linkText = (i: number): string => formatIPv6(ip([0x2001, 0xdb8, 0x100 + (i % LINKS), 0, 0, 0, 0, 1]));
const clientIdOf = (i: number): string => `00040000${i.toString(16).padStart(32, '0')}`;

function bindingEvent(i: number, at: number): BindingEvent {
  return oneAddressEvent({ clientId: clientIdOf(i), address: formatIPv6(addressBuf(i)), linkAddress: linkText(i), source: 'bench-scale', at });
}

function heapNow(): { heap: number; arrays: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, arrays: m.arrayBuffers };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// ---- phase: projection at N bindings ---------------------------------------------------------

interface ProjectionResult {
  bindings: number;
  bytesPerBinding: number;
  heapPerBinding: number;
  arrayPerBinding: number;
  applyRate: number;
  applyPerCpuSecond: number;
  p50us: number;
  p99us: number;
}

/** One batch of events, made and applied in its own frame so that none outlives it. */
function applyBatch(proj: Projection, from: number, to: number, at: number): { wall: number; cpu: number } {
  const events: BindingEvent[] = [];
  for (let i = from; i < to; i++) events.push(bindingEvent(i, at));
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  for (const e of events) proj.apply(e);
  const c = process.cpuUsage(c0);
  return { wall: nowMs() - t0, cpu: (c.user + c.system) / 1000 };
}

function projectionAt(n: number): ProjectionResult {
  const at = Date.now();
  const base = heapNow();
  let proj: Projection | undefined = new Projection({ serverDuid: Buffer.from('000100012c3a5e0002000053ffff', 'hex'), clock: () => at });
  let wall = 0;
  let cpu = 0;
  for (let from = 0; from < n; from += BATCH) {
    const t = applyBatch(proj, from, Math.min(n, from + BATCH), at);
    wall += t.wall;
    cpu += t.cpu;
  }
  const after = heapNow();
  const held = proj.stats().bindings;
  if (held !== n) throw new Error(`projection holds ${held} bindings, expected ${n}`);
  // Lookups: the query addresses made first, each call timed alone (a Binding is
  // materialized per hit, as the engine receives it).
  const queries: Buffer[] = [];
  for (let k = 0; k < LOOKUPS; k++) queries.push(addressBuf(Math.floor(((k * 2654435761) >>> 0) % n)));
  const p = proj;
  for (let k = 0; k < 20_000; k++) p.byAddress(queries[k]); // warm-up
  const us: number[] = [];
  let found = 0;
  for (const q of queries) {
    const t0 = process.hrtime.bigint();
    const r = p.byAddress(q);
    us.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (r) found++;
  }
  if (found !== queries.length) throw new Error(`only ${found} of ${queries.length} lookups found their binding`);
  us.sort((a, b) => a - b);
  proj = undefined;
  const heap = after.heap - base.heap;
  const arrays = after.arrays - base.arrays;
  return {
    bindings: n,
    bytesPerBinding: (heap + arrays) / n,
    heapPerBinding: heap / n,
    arrayPerBinding: arrays / n,
    applyRate: (n * 1000) / wall,
    applyPerCpuSecond: (n * 1000) / cpu,
    p50us: median(us),
    p99us: pct(us, 0.99),
  };
}

// ---- child processes --------------------------------------------------------------------------

interface Child {
  proc: ChildProcess;
  out: string[];
  exit: Promise<number | null>;
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    out.push(...parts);
    if (out.length > 5000) out.splice(0, out.length - 5000);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  return { proc, out, exit: new Promise((r) => proc.once('exit', (c) => r(c))) };
}

async function waitForLine(c: Child, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const l of c.out) {
      const m = re.exec(l);
      if (m) return m;
    }
    if (c.proc.exitCode !== null) throw new Error(`child exited (${c.proc.exitCode}):\n${c.out.slice(-20).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`no line matching ${re} within ${timeoutMs} ms:\n${c.out.slice(-20).join('\n')}`);
    await sleep(50);
  }
}

async function stopChild(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 20_000);
  await c.exit;
  clearTimeout(t);
}

/** VmRSS and VmHWM of a process, bytes (0 where /proc is not available). */
function procMemory(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (re: RegExp) => Number(re.exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb(/VmRSS:\s+(\d+) kB/), hwm: kb(/VmHWM:\s+(\d+) kB/) };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** User + system CPU seconds of a process (/proc/PID/stat, clock ticks of 1/100 s). */
function procCpuSeconds(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** CPU seconds of every process in process group `pgid` (the broker's wrapper and its java). */
function groupCpuSeconds(pgid: number | undefined): number {
  if (!pgid) return NaN;
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) sum += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone
    }
  }
  return sum;
}

// ---- phase: connector at N sources -----------------------------------------------------------

interface ConnectorResult {
  sources: number;
  offeredPerSec: number;
  labOpsPerSec: number;
  committedPerSec: number;
  cpuSecondsPer1000: number;
  cpuShare: number;
  /** Broker (local mode) CPU seconds per 1,000 committed events; NaN for an external broker. */
  brokerCpuSecondsPer1000: number;
  brokerCpuShare: number;
  /** This process (the lab servers) CPU seconds per second of the window. */
  labCpuShare: number;
  liveMs: number;
  initialEvents: number;
  rss: number;
  hwm: number;
  labRss: number;
  labHeap: number;
  avgBatchEvents: number;
  avgTransactionMs: number;
}

async function metricsOf(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const key = line.slice(0, i);
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(i + 1)));
  }
  return out;
}

async function connectorAt(dir: string, brokers: string, brokerPgid: number | undefined, n: number): Promise<ConnectorResult> {
  const labs: LabServer[] = [];
  let connector: Child | undefined;
  try {
    for (let i = 0; i < n; i++) {
      const lab = await LabServer.create({ seed: 11, clients: CLIENTS * n, links: 2, index: i, servers: n, mode: 'partitioned', historySize: 100_000 });
      labs.push(lab);
    }
    // Partitioned mode gives server i a 1/n share of the population (CLIENTS each).
    for (const lab of labs) await lab.start();
    await sleep(2_000); // the first catch-up's start time (B0 - margin) is then inside each lab's history
    const id = `bench-scale-${n}-${process.pid}`;
    const file = join(dir, `${id}.yaml`);
    writeFileSync(
      file,
      stringify({
        id,
        kafka: { brokers: parseBrokerList(brokers), topics: { events: { name: `${id}-events`, partitions: 6, replicationFactor: 1 }, sources: { name: `${id}-sources`, replicationFactor: 1 } } },
        metrics: { host: '127.0.0.1', port: 0 },
        session: { backoff: { initialMs: 200, maxMs: 2_000 } },
        sources: labs.map((lab, i) => ({
          name: `lab-${i}`,
          host: lab.addresses!.host,
          port: lab.addresses!.tcpPort!,
          scopes: { links: lab.db.topology.links.map((l) => formatIPv6(l.linkAddress)) },
        })),
      }),
    );
    const t0 = nowMs();
    connector = spawnChild([LQR, 'connector', '--config', file], { KAFKA_BROKERS: '', LQR_LOG_LEVEL: 'info' });
    const port = Number((await waitForLine(connector, /"port":(\d+).*metrics and probes listening/, 120_000))[1]);
    const pid = connector.proc.pid!;
    // Every session live and every initial load committed (nothing queued).
    let initialEvents = 0;
    for (;;) {
      const m = await metricsOf(port);
      const live = [...m].filter(([k, v]) => k.startsWith('lqr_connector_source_state{') && k.includes('state="live"') && v === 1).length;
      const queued = [...m].filter(([k]) => k.startsWith('lqr_connector_queue_events{')).reduce((s, [, v]) => s + v, 0);
      initialEvents = m.get('lqr_connector_batch_events_sum') ?? 0;
      if (live === n && queued === 0) break;
      if (nowMs() - t0 > 900_000) throw new Error(`${live} of ${n} sessions live after 900 s`);
      await sleep(200);
    }
    const liveMs = nowMs() - t0;
    // The load: the same total offered at every N, split over the servers.
    for (const lab of labs) lab.setRate(OFFERED / n);
    await sleep(5_000);
    const seq = () => labs.reduce((s, l) => s + l.db.seq, 0);
    const m0 = await metricsOf(port);
    const cpu0 = procCpuSeconds(pid);
    const b0 = groupCpuSeconds(brokerPgid);
    const me0 = process.cpuUsage();
    const l0 = seq();
    const w0 = nowMs();
    await sleep(SECONDS * 1000);
    const m1 = await metricsOf(port);
    const cpu1 = procCpuSeconds(pid);
    const b1 = groupCpuSeconds(brokerPgid);
    const me = process.cpuUsage(me0);
    const l1 = seq();
    const secs = (nowMs() - w0) / 1000;
    const mem = procMemory(pid);
    for (const lab of labs) lab.setRate(0);
    const d = (k: string) => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
    const committed = d('lqr_connector_batch_events_sum');
    const tx = d('lqr_connector_transaction_seconds_count');
    gc!();
    const mine = process.memoryUsage();
    return {
      sources: n,
      offeredPerSec: OFFERED,
      labOpsPerSec: (l1 - l0) / secs,
      committedPerSec: committed / secs,
      cpuSecondsPer1000: committed > 0 ? ((cpu1 - cpu0) * 1000) / committed : NaN,
      cpuShare: (cpu1 - cpu0) / secs,
      brokerCpuSecondsPer1000: committed > 0 ? ((b1 - b0) * 1000) / committed : NaN,
      brokerCpuShare: (b1 - b0) / secs,
      labCpuShare: (me.user + me.system) / 1e6 / secs,
      liveMs,
      initialEvents,
      rss: mem.rss,
      hwm: mem.hwm,
      labRss: mine.rss,
      labHeap: mine.heapUsed + mine.arrayBuffers,
      avgBatchEvents: tx ? committed / tx : NaN,
      avgTransactionMs: tx ? (d('lqr_connector_transaction_seconds_sum') / tx) * 1000 : NaN,
    };
  } finally {
    for (const lab of labs) lab.setRate(0);
    if (connector) await stopChild(connector);
    for (const lab of labs) await lab.stop();
  }
}

// ---- phase: rebuild against topic size -------------------------------------------------------

interface RebuildResult {
  events: number;
  rebuildMs: number;
  restartMs: number;
  stopMs: number;
  udp?: Record<string, unknown>;
  replicaHeapPerBinding: number;
}

async function rebuildPhase(settings: KafkaSettings, dir: string, common: { bench: string } & Record<string, unknown>): Promise<RebuildResult[]> {
  const topic = `bench-scale-topic-${process.pid}-${Date.now()}`;
  const admin = await KafkaAdmin.connect(settings);
  const out: RebuildResult[] = [];
  let producer: TransactionalProducer | undefined;
  try {
    await admin.ensureTopics([{ name: topic, partitions: 6, replicationFactor: 1 }]);
    producer = await TransactionalProducer.connect(settings, { transactionalId: `bench-scale-${process.pid}` });
    const at = Date.now();
    let produced = 0;
    for (const size of TOPIC) {
      const p0 = nowMs();
      const from = produced;
      for (let i = produced; i < size; i += 5000) {
        const batch = [];
        for (let j = i; j < Math.min(size, i + 5000); j++) batch.push({ topic, ...encodeEvent(bindingEvent(j, at)) });
        await producer.commitBatch(batch);
      }
      await producer.settle();
      produced = size;
      const ends = await admin.endOffsets(topic);
      const records = [...ends.values()].reduce((s, v) => s + Number(v), 0);
      emit({ ...common, metric: 'topic-produce-rate', value: Math.round(((size - from) * 1000) / (nowMs() - p0)), unit: 'events/s', events: size - from, topicEvents: size, endOffsetsSum: records, note: 'end offsets include transaction markers' });

      const dataDir = join(dir, `replica-${size}`);
      const make = () => new Replica({ kafka: settings, topic, dataDir, host: '::1', udpPort: 0, snapshotIntervalMs: 0, lagPollMs: 200, engine: { acl: [{ prefix: '::1/128' }] } });
      let replica = make();
      let t = nowMs();
      await replica.start();
      await replica.whenReady();
      const rebuildMs = nowMs() - t;
      const held = replica.projection.stats().bindings;
      const heap1 = heapNow();
      t = nowMs();
      await replica.stop();
      const stopMs = nowMs() - t;
      replica = make();
      t = nowMs();
      await replica.start();
      await replica.whenReady();
      const restartMs = nowMs() - t;
      let udp: Record<string, unknown> | undefined;
      try {
        if (size <= UDP_MAX) {
          const addressesFile = join(dir, `addresses-${size}.txt`);
          const lines: string[] = [];
          for (let k = 0; k < Math.min(size, 200_000); k++) lines.push(formatIPv6(addressBuf(Math.floor(((k * 2654435761) >>> 0) % size))));
          writeFileSync(addressesFile, lines.join('\n') + '\n');
          udp = await runLoadHere({ server: '::1', port: replica.listening!.udpPort as number, addressesFile, window: 64, seconds: UDP_SECONDS });
        }
      } finally {
        await replica.stop({ snapshot: false });
      }
      const r: RebuildResult = { events: size, rebuildMs, restartMs, stopMs, udp, replicaHeapPerBinding: (heap1.heap + heap1.arrays) / held };
      out.push(r);
      emit({ ...common, metric: 'rebuild-time', value: Math.round(rebuildMs), unit: 'ms', topicEvents: size, bindings: held, eventsPerSec: Math.round((size * 1000) / rebuildMs), ...machine() });
      emit({ ...common, metric: 'restart-from-snapshot-time', value: Math.round(restartMs), unit: 'ms', topicEvents: size, stopWithSnapshotMs: Math.round(stopMs) });
      emit({ ...common, metric: 'replica-process-heap-per-binding', value: round(r.replicaHeapPerBinding, 1), unit: 'B', topicEvents: size, note: 'whole process heap + arrayBuffers (two full GCs) with the replica running / bindings: an upper bound, as in bench:replica' });
      if (udp) emit({ ...common, metric: 'udp-query-rate', value: udp.rate as number, unit: 'queries/s', topicEvents: size, bindings: held, p50: udp.p50, p99: udp.p99, lost: udp.lost, window: 64, seconds: UDP_SECONDS, path: 'loopback' });
      rmSync(dataDir, { recursive: true, force: true });
    }
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await admin.deleteTopics([topic]).catch(() => undefined);
    await admin.close();
  }
  return out;
}

// ---- summary ----------------------------------------------------------------------------------

function summary(proj: ProjectionResult[], conn: ConnectorResult[], rebuild: RebuildResult[]): void {
  const cores = os.cpus().length;
  const totalMem = os.totalmem();
  const heapLimit = v8.getHeapStatistics().heap_size_limit;
  const S = SUBSCRIBERS;
  const common = { bench: BENCH, phase: 'summary', subscribers: S, cores, ...machine() };
  const limits: { resource: string; maxSubscribers: number; formula: string }[] = [];

  const bigP = proj.length ? proj.reduce((a, b) => (b.bindings > a.bindings ? b : a)) : undefined;
  if (bigP) {
    const total = bigP.bytesPerBinding * S;
    emit({ ...common, metric: 'projected-replica-memory', value: round(total / 2 ** 30, 2), unit: 'GiB', formula: 'bytesPerBinding(at largest N) * subscribers', bytesPerBinding: round(bigP.bytesPerBinding, 1), heapPerBinding: round(bigP.heapPerBinding, 1), arrayPerBinding: round(bigP.arrayPerBinding, 1), measuredAt: bigP.bindings, v8HeapLimitGiB: round(heapLimit / 2 ** 30, 2), totalMemGiB: round(totalMem / 2 ** 30, 2) });
    limits.push({ resource: 'replica memory: V8 heap limit', maxSubscribers: bigP.heapPerBinding > 0 ? heapLimit / bigP.heapPerBinding : Infinity, formula: 'heap_size_limit / heapPerBinding' });
    limits.push({ resource: 'replica memory: host RAM', maxSubscribers: totalMem / bigP.bytesPerBinding, formula: 'os.totalmem() / bytesPerBinding' });
    emit({ ...common, metric: 'projected-lookup-p99', value: round(bigP.p99us, 2), unit: 'us', formula: 'p99 at largest N (growth from smallest to largest N shown)', growth: proj.map((p) => ({ bindings: p.bindings, p50us: round(p.p50us, 2), p99us: round(p.p99us, 2) })) });
  }

  const renew = [1800, 3600];
  const needed = renew.map((s) => S / s);
  emit({ ...common, metric: 'needed-event-rate', value: Math.round(needed[0]), unit: 'events/s', formula: 'subscribers / renewalIntervalS (one event per renewal)', at30min: Math.round(needed[0]), at60min: Math.round(needed[1]) });

  if (conn.length) {
    const valid = conn.filter((c) => c.committedPerSec > 0 && Number.isFinite(c.cpuSecondsPer1000));
    const bigC = valid.length ? valid.reduce((a, b) => (b.sources > a.sources ? b : a)) : undefined;
    if (bigC) {
      const perCore = 1000 / bigC.cpuSecondsPer1000;
      emit({ ...common, metric: 'connector-events-per-cpu-second', value: Math.round(perCore), unit: 'events/cpu-s', formula: '1000 / cpuSecondsPer1000 (at the largest source count)', sources: bigC.sources, wallRate: Math.round(bigC.committedPerSec), bySources: conn.map((c) => ({ sources: c.sources, committedPerSec: Math.round(c.committedPerSec), eventsPerCpuSecond: Math.round(1000 / c.cpuSecondsPer1000), rssMiB: MiB(c.rss) })) });
      emit({ ...common, metric: 'projected-connector-cores', value: round(needed[0] / perCore, 2), unit: 'cores', formula: '(subscribers / 1800 s) / connectorEventsPerCpuSecond', at60min: round(needed[1] / perCore, 2), eventsPerCpuSecond: Math.round(perCore) });
      emit({ ...common, metric: 'projected-connector-headroom', value: round(bigC.committedPerSec / needed[0], 2), unit: 'x', formula: 'measuredCommittedPerSec(wall, this machine, labs + broker beside it) / (subscribers / 1800 s)', committedPerSec: Math.round(bigC.committedPerSec) });
      limits.push({ resource: 'connector CPU (all cores, 30-min renewals)', maxSubscribers: cores * perCore * 1800, formula: 'cores * connectorEventsPerCpuSecond * 1800 s' });
      if (Number.isFinite(bigC.brokerCpuSecondsPer1000) && bigC.brokerCpuSecondsPer1000 > 0) {
        const pipe = 1000 / (bigC.cpuSecondsPer1000 + bigC.brokerCpuSecondsPer1000);
        emit({ ...common, metric: 'connector-plus-broker-events-per-cpu-second', value: Math.round(pipe), unit: 'events/cpu-s', formula: '1000 / (connectorCpuSecondsPer1000 + brokerCpuSecondsPer1000)', brokerCpuSecondsPer1000: round(bigC.brokerCpuSecondsPer1000, 3), connectorCpuSecondsPer1000: round(bigC.cpuSecondsPer1000, 3), coresNeededAt30min: round(needed[0] / pipe, 2) });
        limits.push({ resource: 'connector + broker CPU (all cores, 30-min renewals)', maxSubscribers: cores * pipe * 1800, formula: 'cores * 1000 / (connectorCpuSecondsPer1000 + brokerCpuSecondsPer1000) * 1800 s' });
      }
      limits.push({ resource: 'connector throughput as measured (wall, 30-min renewals)', maxSubscribers: bigC.committedPerSec * 1800, formula: 'measuredCommittedPerSec * 1800 s' });
    }
    const small = conn.reduce((a, b) => (b.sources < a.sources ? b : a));
    const large = conn.reduce((a, b) => (b.sources > a.sources ? b : a));
    if (large.sources > small.sources) {
      const perSource = (large.hwm - small.hwm) / (large.sources - small.sources);
      emit({ ...common, metric: 'connector-memory-per-source', value: Math.round(perSource / 1024), unit: 'KiB', formula: '(VmHWM(largest N) - VmHWM(smallest N)) / (largest N - smallest N)', bySources: conn.map((c) => ({ sources: c.sources, rssMiB: MiB(c.rss), hwmMiB: MiB(c.hwm), liveMs: Math.round(c.liveMs) })) });
      emit({ ...common, metric: 'sessions-live-time-per-source', value: round((large.liveMs - small.liveMs) / (large.sources - small.sources), 1), unit: 'ms', formula: '(liveMs(largest N) - liveMs(smallest N)) / (largest N - smallest N)' });
    }
  }

  if (bigP) {
    emit({ ...common, metric: 'replica-apply-headroom', value: round(bigP.applyRate / needed[0], 1), unit: 'x', formula: 'projectionApplyRate(at largest N) / (subscribers / 1800 s)', applyRate: Math.round(bigP.applyRate) });
  }

  if (rebuild.length) {
    const bigR = rebuild.reduce((a, b) => (b.events > a.events ? b : a));
    const msPerEvent = bigR.rebuildMs / bigR.events;
    emit({ ...common, metric: 'projected-rebuild-time', value: Math.round((msPerEvent * S) / 1000), unit: 's', formula: '(rebuildMs / topicEvents at the largest topic) * subscribers (one retained event per subscriber; multiply by events retained per subscriber)', measuredAt: bigR.events, rebuildMs: Math.round(bigR.rebuildMs), growth: rebuild.map((r) => ({ events: r.events, rebuildMs: Math.round(r.rebuildMs), restartMs: Math.round(r.restartMs) })) });
    emit({ ...common, metric: 'projected-restart-time', value: Math.round(((bigR.restartMs / bigR.events) * S) / 1000), unit: 's', formula: '(restartFromSnapshotMs / topicEvents at the largest topic) * subscribers', measuredAt: bigR.events });
    if (bigP === undefined) {
      limits.push({ resource: 'replica memory: V8 heap limit (whole-process upper bound)', maxSubscribers: heapLimit / bigR.replicaHeapPerBinding, formula: 'heap_size_limit / replicaProcessHeapPerBinding' });
    }
  }

  if (limits.length) {
    const first = limits.reduce((a, b) => (b.maxSubscribers < a.maxSubscribers ? b : a));
    emit({
      ...common,
      metric: 'first-limit',
      value: Math.round(first.maxSubscribers),
      unit: 'subscribers',
      resource: first.resource,
      formula: first.formula,
      fitsSubscribers: first.maxSubscribers >= S,
      all: limits.map((l) => ({ resource: l.resource, maxSubscribers: Math.round(l.maxSubscribers), formula: l.formula })),
    });
  }
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const common = { bench: BENCH };
  emit({ ...common, metric: 'config', value: 0, unit: 'none', sources: SOURCES, bindings: BINDINGS, topic: TOPIC, clientsPerSource: CLIENTS, offeredTotalPerSec: OFFERED, offeredModel: 'same total at every source count', windowSeconds: SECONDS, phases: [...PHASES], loadavg: os.loadavg().map((x) => round(x, 2)), ...machine() });
  const proj: ProjectionResult[] = [];
  const conn: ConnectorResult[] = [];
  let rebuild: RebuildResult[] = [];

  if (PHASES.has('projection')) {
    for (const n of BINDINGS) {
      const r = projectionAt(n);
      proj.push(r);
      const c = { ...common, phase: 'projection', bindings: n };
      emit({ ...c, metric: 'apply-rate', value: Math.round(r.applyRate), unit: 'events/s', perCpuSecond: Math.round(r.applyPerCpuSecond), ...machine() });
      emit({ ...c, metric: 'bytes-per-binding', value: round(r.bytesPerBinding, 1), unit: 'B', heap: round(r.heapPerBinding, 1), arrayBuffers: round(r.arrayPerBinding, 1), totalMiB: MiB(r.bytesPerBinding * n) });
      emit({ ...c, metric: 'lookup-address-p50', value: round(r.p50us, 2), unit: 'us', lookups: LOOKUPS });
      emit({ ...c, metric: 'lookup-address-p99', value: round(r.p99us, 2), unit: 'us', lookups: LOOKUPS });
    }
    heapNow();
  }

  let kafka: RunningKafka | undefined;
  const dir = mkdtempSync(join(os.tmpdir(), 'lqr-bench-scale-'));
  try {
    if (PHASES.has('connector') || PHASES.has('rebuild')) {
      const k0 = nowMs();
      kafka = await startKafka({ logger });
      emit({ ...common, metric: 'broker-start', value: Math.round(nowMs() - k0), unit: 'ms', external: Boolean(process.env.KAFKA_BROKERS) });
    }
    if (kafka && PHASES.has('connector')) {
      for (const n of SOURCES) {
        const r = await connectorAt(dir, kafka.brokers, kafka.pid, n);
        conn.push(r);
        const c = { ...common, phase: 'connector', sources: n, clientsPerSource: CLIENTS };
        emit({ ...c, metric: 'sessions-live-time', value: Math.round(r.liveMs), unit: 'ms', note: 'connector spawn to all sessions live, initial loads committed', initialEvents: r.initialEvents });
        emit({ ...c, metric: 'committed-rate', value: Math.round(r.committedPerSec), unit: 'events/s', offeredPerSec: r.offeredPerSec, labOpsPerSec: Math.round(r.labOpsPerSec), avgBatchEvents: Math.round(r.avgBatchEvents), avgTransactionMs: round(r.avgTransactionMs, 1), seconds: SECONDS, ...machine() });
        emit({ ...c, metric: 'cpu-seconds-per-1000-events', value: round(r.cpuSecondsPer1000, 3), unit: 's', connectorCores: round(r.cpuShare, 2), eventsPerCpuSecond: Math.round(1000 / r.cpuSecondsPer1000), brokerCpuSecondsPer1000: round(r.brokerCpuSecondsPer1000, 3), brokerCores: round(r.brokerCpuShare, 2), labsCores: round(r.labCpuShare, 2), windowCoresAvailable: os.cpus().length });
        emit({ ...c, metric: 'connector-rss', value: MiB(r.rss), unit: 'MiB', vmHwmMiB: MiB(r.hwm), process: 'lqr connector child' });
        emit({ ...c, metric: 'labs-rss', value: MiB(r.labRss), unit: 'MiB', heapMiB: MiB(r.labHeap), process: 'bench (lab servers; also holds earlier phases\' leftovers)' });
      }
    }
    if (kafka && PHASES.has('rebuild')) {
      const settings = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(kafka.brokers), clientId: 'bench-scale' });
      rebuild = await rebuildPhase(settings, dir, { ...common, phase: 'rebuild' });
    }
  } finally {
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  summary(proj, conn, rebuild);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    logger.error({ err }, 'bench:scale failed');
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

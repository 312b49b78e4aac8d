// Connector benchmark: lab DHCPv6 servers -> `lqr connector` (a child process, as
// deployed) -> Kafka (acks=all, one transaction per batch).
//
//   npm run build && npm run -s bench:connector
//
// Measures, printing one JSON line per metric (bench/lib.ts):
//   initial_load        a fresh connector's full Bulk Leasequery of 100,000 and
//                       1,000,000 bindings, from the session entering initial-load to
//                       the last binding committed (lab server in this process, idle)
//   sustained_rate      committed events/s while two lab servers (a child process,
//                       `lqr lab`, stepped over its admin HTTP) change bindings at a
//                       target rate; the rate the labs achieved is printed beside it
//   e2e_latency         p50/p99 from a change in a lab server (a probe server in this
//                       process, 100 changes/s, beside the load) to the event being
//                       visible to a read_committed consumer
//   peak_rss            the connector's peak resident memory (VmHWM)
//   kafka_ceiling_ratio sustained rate / kafkajs transactional produce rate of
//                       bench:kafka (LQR_BENCH_KAFKA_RESULTS = a file of its JSON lines;
//                       otherwise bench/kafka.js is run here with a short setting)
//
// Knobs: LQR_BENCH_LOADS ("100000,1000000"), LQR_BENCH_RATES ("1000,5000,20000,100000"),
// LQR_BENCH_SECONDS (15 per rate), LQR_BENCH_COMPRESSION (none | gzip; default none),
// LQR_BENCH_CONNECTOR_PROF=1 (connector child with --cpu-prof; profiles under
// .lqr/bench-prof/).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';
import { decodeEvent } from '../src/events/index.js';
import { TopicReader, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../src/kafka/index.js';
import { LabServer } from '../src/lab/index.js';
import { createLogger } from '../src/log.js';
import { formatIPv6 } from '../src/protocol/index.js';
import { emit, nowMs } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const LQR = resolve(here, '..', 'src', 'cli', 'lqr.js');
const logger = createLogger('bench-connector');

const list = (name: string, dflt: string): number[] =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isFinite(n) && n > 0);
const LOADS = list('LQR_BENCH_LOADS', '100000,1000000');
const RATES = list('LQR_BENCH_RATES', '1000,5000,20000,100000');
const SECONDS = Number(process.env.LQR_BENCH_SECONDS ?? 15);
const PROF = process.env.LQR_BENCH_CONNECTOR_PROF === '1';
const COMPRESSION = (process.env.LQR_BENCH_COMPRESSION ?? 'none') as 'none' | 'gzip';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const linkText = (l: number) => formatIPv6(Buffer.from([0x20, 0x01, 0x0d, 0xb8, l >> 8, l & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));

// ---- child processes ------------------------------------------------------------------

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
  if (c.proc.exitCode !== null) return;
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 20_000);
  await c.exit;
  clearTimeout(t);
}

/** Peak resident set (VmHWM) of a process, bytes; 0 where /proc is not available. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// ---- the connector under test ---------------------------------------------------------

interface SourceSpec {
  name: string;
  host: string;
  port: number;
  links: string[];
}

class ConnectorChild {
  private constructor(
    readonly child: Child,
    readonly metricsPort: number,
  ) {}

  static async start(dir: string, brokers: string, topics: { events: string; sources: string }, sources: SourceSpec[], id: string): Promise<ConnectorChild> {
    const file = join(dir, `${id}.yaml`);
    writeFileSync(
      file,
      stringify({
        id,
        kafka: { brokers: parseBrokerList(brokers), topics: { events: { name: topics.events, partitions: 6, replicationFactor: 1 }, sources: { name: topics.sources, replicationFactor: 1 } } },
        metrics: { host: '127.0.0.1', port: 0 },
        session: { backoff: { initialMs: 200, maxMs: 2_000 } },
        batch: { compression: COMPRESSION },
        sources: sources.map((s) => ({ name: s.name, host: s.host, port: s.port, scopes: { links: s.links } })),
      }),
    );
    const args = [LQR, 'connector', '--config', file];
    if (PROF) {
      const profDir = resolve(here, '..', '..', '.lqr', 'bench-prof');
      mkdirSync(profDir, { recursive: true });
      args.unshift('--cpu-prof', `--cpu-prof-dir=${profDir}`);
    }
    const child = spawnChild(args, { KAFKA_BROKERS: '', LQR_LOG_LEVEL: 'info' });
    const m = await waitForLine(child, /"port":(\d+).*metrics and probes listening/, 60_000);
    return new ConnectorChild(child, Number(m[1]));
  }

  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const i = line.lastIndexOf(' ');
      const key = line.slice(0, i);
      out.set(key, (out.get(key) ?? 0) + Number(line.slice(i + 1)));
    }
    return out;
  }

  /** Events committed so far (sum of the batch-size histogram). */
  async committed(): Promise<number> {
    return (await this.metrics()).get('lqr_connector_batch_events_sum') ?? 0;
  }

  get peakRss(): number {
    return this.child.proc.pid ? peakRss(this.child.proc.pid) : 0;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

// ---- phases ------------------------------------------------------------------------------

let topicCounter = 0;
const freshTopics = () => {
  topicCounter++;
  return { events: `bench-conn-events-${process.pid}-${topicCounter}`, sources: `bench-conn-sources-${process.pid}-${topicCounter}` };
};

async function initialLoad(dir: string, brokers: string, clients: number): Promise<{ ms: number; rss: number; bindings: number }> {
  const links = Math.max(8, Math.round(clients / 15_000));
  const t0 = nowMs();
  const lab = await LabServer.create({ seed: 7, clients, links, historySize: clients + 100_000 });
  await lab.start();
  logger.info({ clients, links, populateMs: Math.round(nowMs() - t0), bindings: lab.db.activeBindings }, 'lab populated');
  const bindings = lab.db.activeBindings;
  const addr = lab.addresses as { host: string; tcpPort: number };
  await sleep(3_000); // the first catch-up's start time (B0 - margin) is then inside the lab's history
  const connector = await ConnectorChild.start(dir, brokers, freshTopics(), [{ name: 'load', host: addr.host, port: addr.tcpPort, links: Array.from({ length: links }, (_, l) => linkText(l)) }], `bench-load-${clients}-${process.pid}`);
  try {
    await waitForLine(connector.child, /source session initial-load/, 60_000);
    const start = nowMs();
    let committed = 0;
    const deadline = Date.now() + 600_000;
    // bindings + connected + bulk-started + bulk-complete
    while ((committed = await connector.committed()) < bindings + 3) {
      if (Date.now() > deadline) throw new Error(`initial load of ${clients} not committed within 600 s (${committed})`);
      await sleep(50);
    }
    const ms = nowMs() - start;
    return { ms, rss: connector.peakRss, bindings };
  } finally {
    await connector.stop();
    await lab.stop();
  }
}

interface LabChild {
  child: Child;
  sources: SourceSpec[];
  adminPort: number;
}

async function startLabChild(servers: number, clients: number, links: number, rate: number): Promise<LabChild> {
  const child = spawnChild([LQR, 'lab', '--servers', String(servers), '--port', '0', '--clients', String(clients), '--links', String(links), '--rate', String(rate), '--seed', '3', '--admin-port', '0', '--mode', 'partitioned', '--history', '1000000'], { LQR_LOG_LEVEL: 'warn' });
  const admin = await waitForLine(child, /admin HTTP on .*:(\d+) /, 120_000);
  const sources: SourceSpec[] = [];
  for (let i = 0; i < servers; i++) {
    const m = await waitForLine(child, new RegExp(`lab server ${i}: .* TCP \\[([^\\]]+)\\]:(\\d+)`), 10_000);
    sources.push({ name: `lab-${i}`, host: m[1], port: Number(m[2]), links: Array.from({ length: links }, (_, l) => linkText(l)) });
  }
  return { child, sources, adminPort: Number(admin[1]) };
}

async function labChanges(adminPort: number): Promise<number> {
  const stats = (await (await fetch(`http://[::1]:${adminPort}/stats`, { signal: AbortSignal.timeout(120_000) })).json()) as { seq: number }[];
  return stats.reduce((n, s) => n + s.seq, 0);
}

/** Change time (host clock, ms) of every probe change, by client DUID + link, oldest first. */
function probeRecorder(lab: LabServer): Map<string, number[]> {
  const changes = new Map<string, number[]>();
  lab.db.onChange((rec) => {
    const key = `${lab.db.topology.clientDuid(rec.client).toString('hex')}|${formatIPv6(lab.db.topology.links[rec.link].linkAddress)}`;
    const list = changes.get(key) ?? [];
    list.push(Date.now());
    changes.set(key, list);
  });
  return changes;
}

async function sustained(dir: string, brokers: string, settings: KafkaSettings, rate: number): Promise<Record<string, number>> {
  const servers = 2;
  const labChild = await startLabChild(servers, 100_000, 16, 0);
  const probe = await LabServer.create({ seed: 99, clients: 2_000, links: 2 });
  await probe.start();
  const changes = probeRecorder(probe);
  const paddr = probe.addresses as { host: string; tcpPort: number };
  const topics = freshTopics();
  await sleep(3_000);
  const connector = await ConnectorChild.start(
    dir,
    brokers,
    topics,
    [...labChild.sources, { name: 'probe', host: paddr.host, port: paddr.tcpPort, links: [linkText(0), linkText(1)] }],
    `bench-rate-${rate}-${process.pid}`,
  );
  let reader: TopicReader | undefined;
  let driver: Promise<void> | undefined;
  let stopDriver = async (): Promise<void> => undefined;
  try {
    // The initial loads first (not measured here), until every session is live with nothing queued.
    const t0 = Date.now();
    for (;;) {
      const m = await connector.metrics();
      const live = [...m].filter(([k, v]) => k.startsWith('lqr_connector_source_state{') && k.includes('state="live"') && v === 1).length;
      const queued = [...m].filter(([k]) => k.startsWith('lqr_connector_queue_events{')).reduce((n, [, v]) => n + v, 0);
      if (live === servers + 1 && queued === 0) break;
      if (Date.now() - t0 > 600_000) throw new Error('sessions not live within 600 s');
      await sleep(200);
    }
    // Probe: end-to-end latency of single changes beside the load.
    const latencies: number[] = [];
    reader = await TopicReader.open(settings, { topic: topics.events, from: 'end', isolation: 'read_committed', maxWaitTimeMs: 50 });
    await reader.run((batch) => {
      const seenAt = Date.now();
      for (const m of batch.messages) {
        if (!m.key || !m.value || m.value.indexOf('"name":"probe"') < 0) continue;
        const e = decodeEvent(m.value);
        if (e.type !== 'binding' || e.phase !== 'live') continue;
        const list = changes.get(`${e.clientId}|${e.linkAddress}`);
        const at = list?.shift();
        if (at !== undefined) latencies.push(seenAt - at);
      }
    });
    changes.clear();
    // The load: the lab process steps its workload on request, 10 times a second; a
    // request waits for the previous one, so a saturated lab slows down instead of
    // queueing requests (the rate it reached is reported).
    const perTick = Math.max(1, Math.round(rate / 10 / servers));
    let driving = true;
    driver = (async () => {
      let next = Date.now();
      while (driving) {
        await fetch(`http://[::1]:${labChild.adminPort}/step?n=${perTick}`, { method: 'POST', signal: AbortSignal.timeout(60_000) }).catch(() => undefined);
        next += 100;
        const wait = next - Date.now();
        if (wait > 0) await sleep(wait);
        else next = Date.now();
      }
    })();
    stopDriver = () => {
      driving = false;
      return driver as Promise<void>;
    };
    probe.setRate(100);
    await sleep(3_000);
    const c0 = await connector.committed();
    const l0 = await labChanges(labChild.adminPort);
    const start = nowMs();
    await sleep(SECONDS * 1000);
    const c1 = await connector.committed();
    const l1 = await labChanges(labChild.adminPort);
    const secs = (nowMs() - start) / 1000;
    await stopDriver();
    probe.setRate(0);
    await sleep(1_000);
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    const m = await connector.metrics();
    const txCount = m.get('lqr_connector_transaction_seconds_count') ?? 0;
    const txSum = m.get('lqr_connector_transaction_seconds_sum') ?? 0;
    const batchSum = m.get('lqr_connector_batch_events_sum') ?? 0;
    return {
      targetRate: rate,
      labChangesPerSec: (l1 - l0) / secs,
      committedPerSec: (c1 - c0) / secs,
      p50: q(0.5),
      p99: q(0.99),
      probes: latencies.length,
      rss: connector.peakRss,
      avgTransactionMs: txCount ? (txSum / txCount) * 1000 : NaN,
      avgBatchEvents: txCount ? batchSum / txCount : NaN,
    };
  } finally {
    await stopDriver();
    await reader?.close();
    await connector.stop();
    await probe.stop();
    await stopChild(labChild.child);
  }
}

/** bench:kafka's kafkajs and Java transactional produce rates (records/s). */
async function kafkaCeiling(brokers: string): Promise<{ kafkajs?: number; java?: number; source: string }> {
  const parse = (text: string) => {
    const out: { kafkajs?: number; java?: number } = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      const j = JSON.parse(line) as { bench?: string; metric?: string; client?: string; value?: number };
      if (j.bench === 'kafka' && j.metric === 'produce_rate' && j.client === 'kafkajs') out.kafkajs = j.value;
      if (j.bench === 'kafka' && j.metric === 'produce_rate' && j.client === 'java-perf-test') out.java = j.value;
    }
    return out;
  };
  const file = process.env.LQR_BENCH_KAFKA_RESULTS;
  if (file && existsSync(file)) return { ...parse(readFileSync(file, 'utf8')), source: file };
  const script = resolve(here, 'kafka.js');
  const text = await new Promise<string>((res) =>
    execFile(process.execPath, [script], { env: { ...process.env, KAFKA_BROKERS: brokers, LQR_BENCH_ROUNDS: '1', LQR_BENCH_RECORDS: '100000' }, timeout: 600_000, maxBuffer: 1 << 24 }, (err, stdout) => {
      if (err) logger.warn({ err: err.message }, 'bench:kafka failed; no ceiling ratio');
      res(stdout ?? '');
    }),
  );
  return { ...parse(text), source: 'bench/kafka.js (1 round of 100,000 records)' };
}

async function main(): Promise<void> {
  let kafka: RunningKafka | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lqr-bench-connector-'));
  try {
    kafka = await startKafka({ logger });
    const brokers = kafka.brokers;
    const settings = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(brokers), clientId: 'lqr-bench' });
    const common = { cores: (await import('node:os')).cpus().length, node: process.version };

    for (const clients of LOADS) {
      const r = await initialLoad(dir, brokers, clients);
      emit({ bench: 'connector', metric: 'initial_load', value: Math.round(r.ms), unit: 'ms', bindings: r.bindings, bindingsPerSec: Math.round((r.bindings * 1000) / r.ms), goalMs: clients >= 1_000_000 ? 20_000 : undefined, ...common });
      emit({ bench: 'connector', metric: 'peak_rss', value: Math.round(r.rss / 2 ** 20), unit: 'MiB', phase: `initial_load_${clients}`, ...common });
    }

    let best = 0;
    for (const rate of RATES) {
      const r = await sustained(dir, brokers, settings, rate);
      best = Math.max(best, r.committedPerSec);
      emit({ bench: 'connector', metric: 'sustained_rate', value: Math.round(r.committedPerSec), unit: 'events/s', targetRate: rate, labChangesPerSec: Math.round(r.labChangesPerSec), avgBatchEvents: Math.round(r.avgBatchEvents), avgTransactionMs: Math.round(r.avgTransactionMs), seconds: SECONDS, ...common });
      emit({ bench: 'connector', metric: 'e2e_latency_p50', value: Math.round(r.p50), unit: 'ms', targetRate: rate, probes: r.probes, ...common });
      emit({ bench: 'connector', metric: 'e2e_latency_p99', value: Math.round(r.p99), unit: 'ms', targetRate: rate, probes: r.probes, ...common });
      emit({ bench: 'connector', metric: 'peak_rss', value: Math.round(r.rss / 2 ** 20), unit: 'MiB', phase: `sustained_${rate}`, ...common });
    }

    const ceiling = await kafkaCeiling(brokers);
    if (ceiling.kafkajs) emit({ bench: 'connector', metric: 'kafka_ceiling_ratio', value: Number((best / ceiling.kafkajs).toFixed(3)), unit: 'connector/kafkajs', connector: Math.round(best), kafkajsProduceRate: ceiling.kafkajs, from: ceiling.source });
    if (ceiling.java) emit({ bench: 'connector', metric: 'kafka_ceiling_ratio_java', value: Number((best / ceiling.java).toFixed(3)), unit: 'connector/java', connector: Math.round(best), javaProduceRate: ceiling.java, from: ceiling.source });
  } finally {
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    logger.error({ err }, 'bench:connector failed');
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

// Kafka throughput ceiling: kafkajs through src/kafka (the client this project
// uses) against the broker's own Java perf tools, on the same broker, in the same
// run. The kafkajs/java ratio is what later benchmarks are judged against.
//
//   npm run build && npm run bench:kafka
//
// Starts a local broker (deploy/kafka) unless KAFKA_BROKERS is set. Per round:
//   produce  kafkajs: TransactionalProducer (idempotent, acks=all), transactions of
//            TX_SIZE records with 300-byte JSON values keyed by a client id;
//            java: ProducerPerformance with a transactional id, acks=all, record size
//            300, transaction duration tuned to ~TX_SIZE records per transaction
//            (from the previous run's rate: ProducerPerformance only has time-based
//            transactions; the records per transaction it got are reported).
//   consume  both read the topic kafkajs produced, read_committed, from the start:
//            kafkajs: readToEnd (src/kafka); java: ConsumerPerformance.
// Prints JSON lines {"bench":"kafka","metric",...} with the medians over rounds.
// MiB/s counts value bytes (2^20 bytes per MiB, as the Java tools' "MB" do).
//
// Knobs (environment): LQR_BENCH_RECORDS (200000), LQR_BENCH_TX_SIZE (1000),
// LQR_BENCH_ROUNDS (5), LQR_BENCH_PARTITIONS (6), LQR_BENCH_RECORD_SIZE (300).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { KafkaAdmin, TransactionalProducer, kafkaSettingsFromEnv, parseBrokerList, readToEnd, type KafkaSettings, type ProducerRecord } from '../src/kafka/index.js';
import { findJava, resolveKafkaJars, startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';
import { emit, median, nowMs } from './lib.js';

const int = (name: string, dflt: number): number => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
};
const RECORDS = int('LQR_BENCH_RECORDS', 200_000);
const TX_SIZE = int('LQR_BENCH_TX_SIZE', 1_000);
const ROUNDS = int('LQR_BENCH_ROUNDS', 5);
const PARTITIONS = int('LQR_BENCH_PARTITIONS', 6);
const RECORD_SIZE = int('LQR_BENCH_RECORD_SIZE', 300);
const MIB = 1024 * 1024;

const logger = createLogger('bench-kafka');

/** A JSON value of exactly `size` bytes, shaped like an event. */
function jsonValue(i: number, size: number): Buffer {
  const head = { v: 1, type: 'binding', seq: i, client: `00030001${(i % 50_000).toString(16).padStart(12, '0')}`, pad: '' };
  const base = Buffer.byteLength(JSON.stringify(head));
  head.pad = 'x'.repeat(Math.max(0, size - base));
  const b = Buffer.from(JSON.stringify(head));
  if (b.length !== size) throw new Error(`record size ${size} is too small for the JSON shape (${base} bytes)`);
  return b;
}

function exec(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * MIB }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.find((a) => a.startsWith('org.apache')) ?? cmd} failed: ${err.message}\n${stderr.slice(-3000)}`));
      else resolve(`${stdout}\n${stderr}`);
    });
  });
}

interface Rate {
  recordsPerSec: number;
  mibPerSec: number;
  extra?: Record<string, unknown>;
}

async function createBenchTopic(settings: KafkaSettings, name: string): Promise<string> {
  const admin = await KafkaAdmin.connect(settings, { logger });
  try {
    await admin.ensureTopics([{ name, partitions: PARTITIONS }]);
  } finally {
    await admin.close();
  }
  return name;
}

async function kafkajsProduce(settings: KafkaSettings, topic: string, round: number, count = RECORDS): Promise<Rate> {
  // Records are built before the clock starts: this measures the client, not JSON.stringify.
  const records: ProducerRecord[] = Array.from({ length: count }, (_, i) => ({
    topic,
    key: `client-${i % 50_000}`,
    value: jsonValue(i, RECORD_SIZE),
  }));
  const producer = await TransactionalProducer.connect(settings, { transactionalId: `bench-kafkajs-${process.pid}-${round}`, logger });
  try {
    const t0 = nowMs();
    for (let i = 0; i < records.length; i += TX_SIZE) await producer.commitBatch(records.slice(i, i + TX_SIZE));
    const secs = (nowMs() - t0) / 1000;
    await producer.settle(); // the consumers read it next: all markers written
    return { recordsPerSec: count / secs, mibPerSec: (count * RECORD_SIZE) / MIB / secs };
  } finally {
    await producer.disconnect();
  }
}

async function kafkajsConsume(settings: KafkaSettings, topic: string): Promise<Rate> {
  let count = 0;
  let bytes = 0;
  const t0 = nowMs();
  await readToEnd(settings, { topic, isolation: 'read_committed', logger }, (batch) => {
    for (const m of batch.messages) {
      count += 1;
      bytes += m.value?.length ?? 0;
    }
  });
  const secs = (nowMs() - t0) / 1000;
  if (count !== RECORDS) throw new Error(`kafkajs consumed ${count} records, expected ${RECORDS}`);
  return { recordsPerSec: count / secs, mibPerSec: bytes / MIB / secs };
}

interface JavaTools {
  java: string;
  classpath: string;
  dir: string;
  log4j: string;
}

async function javaProduce(tools: JavaTools, brokers: string, topic: string, round: number, txDurationMs: number): Promise<Rate> {
  const out = await exec(
    tools.java,
    [
      '-Xmx512m',
      `-Dlog4j.configuration=file:${tools.log4j}`,
      '-cp',
      tools.classpath,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(RECORDS),
      '--record-size',
      String(RECORD_SIZE),
      '--throughput',
      '-1',
      '--transactional-id',
      `bench-java-${process.pid}-${round}-${topic}`,
      '--transaction-duration-ms',
      String(txDurationMs),
      '--producer-props',
      `bootstrap.servers=${brokers}`,
      'acks=all',
      'enable.idempotence=true',
    ],
    600_000,
  );
  // "200000 records sent, 95238.1 records/sec (27.25 MB/sec), 12.3 ms avg latency, ..."
  const m = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(out);
  if (!m) throw new Error(`could not parse ProducerPerformance output:\n${out.slice(-2000)}`);
  return { recordsPerSec: Number(m[2]), mibPerSec: Number(m[3]) };
}

async function javaConsume(tools: JavaTools, brokers: string, topic: string, round: number): Promise<Rate> {
  const config = join(tools.dir, `consumer-${round}.properties`);
  await writeFile(config, 'isolation.level=read_committed\nauto.offset.reset=earliest\n');
  const out = await exec(
    tools.java,
    [
      '-Xmx512m',
      `-Dlog4j.configuration=file:${tools.log4j}`,
      '-cp',
      tools.classpath,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      brokers,
      '--topic',
      topic,
      '--messages',
      String(RECORDS),
      '--group',
      `bench-java-${process.pid}-${round}`,
      '--timeout',
      '120000',
      '--consumer.config',
      config,
    ],
    600_000,
  );
  // A header line "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ..." then one data line.
  const lines = out.split('\n').map((l) => l.trim());
  const hi = lines.findIndex((l) => l.startsWith('start.time'));
  if (hi < 0 || !lines[hi + 1]) throw new Error(`could not parse ConsumerPerformance output:\n${out.slice(-2000)}`);
  const names = lines[hi].split(',').map((s) => s.trim());
  const vals = lines[hi + 1].split(',').map((s) => s.trim());
  const get = (n: string) => Number(vals[names.indexOf(n)]);
  const consumed = get('data.consumed.in.nMsg');
  if (consumed !== RECORDS) throw new Error(`ConsumerPerformance consumed ${consumed} records, expected ${RECORDS}`);
  return {
    recordsPerSec: get('nMsg.sec'),
    mibPerSec: get('MB.sec'),
    // nMsg.sec counts from the consumer's start (group join included), as the kafkajs
    // figure does; fetch.nMsg.sec leaves the join out.
    extra: { rebalanceMs: get('rebalance.time.ms'), fetchOnlyRecordsPerSec: Math.round(get('fetch.nMsg.sec')) },
  };
}

async function main(): Promise<void> {
  let kafka: RunningKafka | undefined;
  const tmp = await mkdtemp(join(tmpdir(), 'lqr-bench-kafka-'));
  const topics: string[] = [];
  let settings: KafkaSettings | undefined;
  try {
    const t0 = nowMs();
    kafka = await startKafka({ logger });
    const readyMs = nowMs() - t0;
    emit({ bench: 'kafka', metric: 'broker_ready', value: Math.round(readyMs), unit: 'ms', mode: kafka.mode, version: kafka.version, timings: kafka.timings });
    const brokers = kafka.brokers;
    settings = kafkaSettingsFromEnv(process.env, { brokers: parseBrokerList(brokers), clientId: 'lqr-bench' });
    const classpath = kafka.classpath ?? (await resolveKafkaJars({ logger })).classpath;
    const log4j = join(tmp, 'tools-log4j.properties');
    await writeFile(log4j, 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n');
    const tools: JavaTools = { java: findJava(), classpath, dir: tmp, log4j };

    // Warm-up (not reported): the broker, node's JIT and the Java tools' first run.
    // It also calibrates the Java producer's time-based transactions to ~TX_SIZE
    // records each; every round re-tunes them from the previous round's rate.
    const warmTopic = await createBenchTopic(settings, `bench-warmup-${process.pid}`);
    topics.push(warmTopic);
    await kafkajsProduce(settings, warmTopic, -1, Math.min(RECORDS, 20_000));
    const cal = await javaProduce(tools, brokers, warmTopic, -1, 100);
    let javaRate = cal.recordsPerSec;

    const results: Record<string, Rate[]> = { kjsP: [], javaP: [], kjsC: [], javaC: [] };
    const txDurations: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const kTopic = await createBenchTopic(settings, `bench-kafkajs-${process.pid}-${round}`);
      const jTopic = await createBenchTopic(settings, `bench-java-${process.pid}-${round}`);
      topics.push(kTopic, jTopic);
      const txDurationMs = Math.max(1, Math.round((TX_SIZE / javaRate) * 1000));
      txDurations.push(txDurationMs);
      results.kjsP.push(await kafkajsProduce(settings, kTopic, round));
      const jp = await javaProduce(tools, brokers, jTopic, round, txDurationMs);
      javaRate = jp.recordsPerSec;
      results.javaP.push(jp);
      results.kjsC.push(await kafkajsConsume(settings, kTopic));
      results.javaC.push(await javaConsume(tools, brokers, kTopic, round));
      logger.info(
        {
          round,
          produce: { kafkajs: Math.round(results.kjsP[round].recordsPerSec), java: Math.round(jp.recordsPerSec), javaTxDurationMs: txDurationMs },
          consume: { kafkajs: Math.round(results.kjsC[round].recordsPerSec), java: Math.round(results.javaC[round].recordsPerSec) },
        },
        'round done',
      );
    }

    const common = { records: RECORDS, recordSize: RECORD_SIZE, partitions: PARTITIONS, rounds: ROUNDS };
    const report = (metric: 'produce' | 'consume', client: 'kafkajs' | 'java-perf-test', rates: Rate[], extra: Record<string, unknown>) => {
      const rps = median(rates.map((r) => r.recordsPerSec));
      const mib = median(rates.map((r) => r.mibPerSec));
      const details = rates.some((r) => r.extra) ? { perRoundDetails: rates.map((r) => r.extra ?? {}) } : {};
      emit({ bench: 'kafka', metric: `${metric}_rate`, client, value: Math.round(rps), unit: 'records/s', perRound: rates.map((r) => Math.round(r.recordsPerSec)), ...common, ...extra, ...details });
      emit({ bench: 'kafka', metric: `${metric}_throughput`, client, value: Number(mib.toFixed(2)), unit: 'MiB/s', perRound: rates.map((r) => Number(r.mibPerSec.toFixed(2))), ...common, ...extra });
      return rps;
    };
    const txInfo = { acks: 'all', idempotent: true, transactional: true };
    const kp = report('produce', 'kafkajs', results.kjsP, { ...txInfo, recordsPerTransaction: TX_SIZE });
    const jp = report('produce', 'java-perf-test', results.javaP, {
      ...txInfo,
      transactionDurationMs: txDurations,
      approxRecordsPerTransaction: results.javaP.map((r, i) => Math.round((r.recordsPerSec * txDurations[i]) / 1000)),
    });
    const kc = report('consume', 'kafkajs', results.kjsC, { isolation: 'read_committed' });
    const jc = report('consume', 'java-perf-test', results.javaC, { isolation: 'read_committed' });
    emit({ bench: 'kafka', metric: 'produce_ratio', value: Number((kp / jp).toFixed(3)), unit: 'kafkajs/java', ...common });
    emit({ bench: 'kafka', metric: 'consume_ratio', value: Number((kc / jc).toFixed(3)), unit: 'kafkajs/java', ...common });
  } finally {
    if (settings && kafka?.mode === 'external' && topics.length > 0) {
      const admin = await KafkaAdmin.connect(settings).catch(() => undefined);
      await admin?.deleteTopics(topics).catch(() => undefined);
      await admin?.close();
    }
    await kafka?.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    logger.error({ err }, 'bench:kafka failed');
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

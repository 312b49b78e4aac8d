// Replica benchmark (issue 6): a fresh lq.events topic with N synthetic bindings, then
//   apply-rate       records/s consumed and applied while rebuilding from the earliest offset
//   rebuild-time     start() to caught up, ms, for N bindings
//   restart-time     start() to caught up from the shutdown snapshot, ms
//   udp-latency      sequential UDP LEASEQUERY by address: p50/p99 ms at N bindings
//   udp-rate         queries/s with 32 in flight
//   freshness        commit of one event to the replica answering it, p50/p99 ms
// Starts a local broker (deploy/kafka) unless KAFKA_BROKERS is set.
// LQR_BENCH_BINDINGS (default 100000) sets N.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';
import { SCHEMA_VERSION, encodeEvent, type BindingEvent } from '../src/events/index.js';
import { KafkaAdmin, TransactionalProducer, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../src/kafka/index.js';
import { udpLeasequery } from '../src/leasequery/requestor/index.js';
import { createLogger } from '../src/log.js';
import { dhcpTimeToUnixMs, formatIPv6, parseIPv6, unixMsToDhcpTime } from '../src/protocol/index.js';
import { Replica } from '../src/replica/index.js';
import { emit, machine, nowMs } from './lib.js';

const N = Number(process.env.LQR_BENCH_BINDINGS ?? 100_000);
const LINKS = 16;

function address(i: number): string {
  return formatIPv6(Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, (i % LINKS) + 1, 0, 0, 0, 0, 0, 0, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]));
}

function event(i: number, at = Date.now()): BindingEvent {
  const baseTime = unixMsToDhcpTime(at);
  const clientId = `00040000${i.toString(16).padStart(32, '0')}`;
  return {
    type: 'binding',
    schemaVersion: SCHEMA_VERSION,
    source: { name: 'bench', serverDuid: '000100010000000000000001' },
    phase: 'live',
    clientId,
    linkAddress: `2001:db8:0:${(i % LINKS) + 1}::1`,
    addresses: [{ address: address(i), preferredLifetime: 1800, validLifetime: 3600, preferredUntil: at + 1_800_000, validUntil: at + 3_600_000 }],
    prefixes: [],
    cltTime: 0,
    baseTime,
    receivedAt: at,
    clockOffsetMs: at - dhcpTimeToUnixMs(baseTime),
    lastTransactionAt: at,
    relay: null,
    raw: Buffer.from(clientId, 'hex').toString('base64'),
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function main(): Promise<void> {
  const logger = createLogger('bench-replica');
  let kafka: RunningKafka | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lqr-bench-replica-'));
  try {
    kafka = await startKafka({ logger });
    const settings: KafkaSettings = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(kafka.brokers), clientId: 'bench-replica' });
    const topic = `bench-replica-${process.pid}-${Date.now()}`;
    const admin = await KafkaAdmin.connect(settings);
    await admin.ensureTopics([{ name: topic, partitions: 6, replicationFactor: 1 }]);
    await admin.close();
    const producer = await TransactionalProducer.connect(settings, { transactionalId: `bench-replica-${process.pid}` });
    const t0 = Date.now();
    for (let i = 0; i < N; i += 5000) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 5000); j++) batch.push({ topic, ...encodeEvent(event(j, t0)) });
      await producer.commitBatch(batch);
    }
    await producer.settle();
    const common = { bench: 'replica', bindings: N, ...machine() };

    const make = () => new Replica({ kafka: settings, topic, dataDir: dir, udpPort: 0, snapshotIntervalMs: 0, lagPollMs: 200 });
    let replica = make();
    let t = nowMs();
    await replica.start();
    await replica.whenReady();
    const rebuild = nowMs() - t;
    emit({ ...common, metric: 'apply-rate', value: Math.round(N / (rebuild / 1000)), unit: 'records/s' });
    emit({ ...common, metric: 'rebuild-time', value: Math.round(rebuild), unit: 'ms' });
    t = nowMs();
    await replica.stop();
    emit({ ...common, metric: 'stop-with-snapshot', value: Math.round(nowMs() - t), unit: 'ms' });

    replica = make();
    t = nowMs();
    await replica.start();
    await replica.whenReady();
    emit({ ...common, metric: 'restart-time', value: Math.round(nowMs() - t), unit: 'ms', tailRecords: replica.status().records.total });

    const port = replica.listening!.udpPort as number;
    const lat: number[] = [];
    for (let k = 0; k < 2000; k++) {
      const i = (k * 7919) % N;
      const q0 = nowMs();
      const r = await udpLeasequery({ type: 'address', address: parseIPv6(address(i)) }, { host: '::1', port, irtMs: 500, mrc: 3 });
      lat.push(nowMs() - q0);
      if (!r.binding) throw new Error(`no binding for ${address(i)}`);
    }
    lat.sort((a, b) => a - b);
    // Wall time of a whole query through the requestor library (socket set-up included).
    emit({ ...common, metric: 'udp-latency', value: pct(lat, 0.5), unit: 'ms', p50: pct(lat, 0.5), p99: pct(lat, 0.99), queries: lat.length });

    const total = 5000;
    let next = 0;
    t = nowMs();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          const i = (next++ * 104729) % N;
          await udpLeasequery({ type: 'address', address: parseIPv6(address(i)) }, { host: '::1', port, irtMs: 1000, mrc: 3 });
        }
      }),
    );
    emit({ ...common, metric: 'udp-rate', value: Math.round(total / ((nowMs() - t) / 1000)), unit: 'queries/s', inFlight: 32 });

    const fresh: number[] = [];
    for (let k = 0; k < 30; k++) {
      const i = N + k;
      const start = nowMs();
      await producer.commitBatch([{ topic, ...encodeEvent(event(i)) }]);
      const a = parseIPv6(address(i));
      while (!replica.projection.byAddress(a)) await new Promise((r) => setTimeout(r, 1));
      fresh.push(nowMs() - start);
    }
    fresh.sort((a, b) => a - b);
    emit({ ...common, metric: 'freshness', value: pct(fresh, 0.5), unit: 'ms', p50: pct(fresh, 0.5), p99: pct(fresh, 0.99), samples: fresh.length });

    await replica.stop({ snapshot: false });
    await producer.disconnect();
  } finally {
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench replica: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

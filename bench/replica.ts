// Replica benchmark (issue 6): a fresh lq.events topic with N synthetic bindings, then
//   apply-rate       records/s consumed and applied while rebuilding from the earliest offset
//   rebuild-time     start() to caught up, ms, for N bindings
//   restart-time     start() to caught up from the shutdown snapshot, ms
//   process-heap-per-binding  the whole process's heap / N with the projection loaded
//                    (an upper bound; bench:projection measures the tables alone)
//   udp-latency      sequential UDP LEASEQUERY by address through the requestor library
//   udp-rate         answered queries/s, p50/p99 ms, from bench/udp-load.ts (one socket,
//                    a window of LQR_BENCH_WINDOW outstanding queries, every reply checked)
//                    over loopback; and, where root + dhcpd + iproute2 exist, the same
//                    generator with the same window against the replica and against ISC
//                    dhcpd -6 holding the same IA_NA bindings, each over a veth pair
//                    (bench/dhcpd.ts), alternated, with the ratio replica/dhcpd
//   freshness        commit of one event to the replica answering it, p50/p99 ms
//   freshness-end-to-end  a change on a lab DHCPv6 server (a release) to the replica no
//                    longer answering the address: lab -> Active Leasequery -> connector ->
//                    Kafka transaction -> replica, p50/p99 ms
// Starts a local broker (deploy/kafka) unless KAFKA_BROKERS is set.
// LQR_BENCH_BINDINGS (default 1000000) sets N; LQR_BENCH_UDP_SECONDS (default 10) the
// length of each UDP run; LQR_BENCH_DHCPD=0 skips the dhcpd comparison.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';
import { encodeEvent, type BindingEvent } from '../src/events/index.js';
import { KafkaAdmin, TransactionalProducer, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../src/kafka/index.js';
import { udpLeasequery } from '../src/leasequery/requestor/index.js';
import { createLogger } from '../src/log.js';
import { formatIPv6, parseIPv6 } from '../src/protocol/index.js';
import { Replica } from '../src/replica/index.js';
import { resolveConnectorConfig } from '../src/config/index.js';
import { createConnector } from '../src/connector/index.js';
import { LabServer } from '../src/lab/index.js';
import { Registry } from '../src/metrics/index.js';
import { CLIENT_TO_REPLICA, DHCPD_ADDR, DhcpdLab, REPLICA_ADDR, runLoadHere, unavailable } from './dhcpd.js';
import { emit, machine, median, nowMs, oneAddressEvent } from './lib.js';

const N = Number(process.env.LQR_BENCH_BINDINGS ?? 1_000_000);
const WINDOW = Number(process.env.LQR_BENCH_WINDOW ?? 64);
const UDP_SECONDS = Number(process.env.LQR_BENCH_UDP_SECONDS ?? 10);
/** The bindings' addresses: 2001:db8:1::10:0 + i, inside dhcpd's range6 below (2^20 of them). */
const FIRST = 0x100000;
const DHCPD_RANGE = '2001:db8:1::10:0 2001:db8:1::1f:ffff';

function address(i: number): string {
  const v = FIRST + i;
  return formatIPv6(Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, (v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]));
}

const clientIdOf = (i: number) => `00040000${i.toString(16).padStart(32, '0')}`;

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
}

function event(i: number, at = Date.now()): BindingEvent {
  return oneAddressEvent({ clientId: clientIdOf(i), address: address(i), linkAddress: '2001:db8:1::1', source: 'bench', at });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * The same IA_NA bindings in ISC dhcpd -6, the same load generator and window against
 * both over a veth pair each, alternated (replica, dhcpd, replica, dhcpd, ...): medians.
 */
async function compareWithDhcpd(common: { bench: string } & Record<string, unknown>, replicaPort: number, addressesFile: string): Promise<void> {
  if (N > 0x100000) {
    emit({ ...common, metric: 'dhcpd-comparison', value: 0, unit: 'skipped', reason: `more than ${0x100000} bindings do not fit the bench's range6` });
    return;
  }
  const lab = new DhcpdLab();
  try {
    lab.setUp();
    const t0 = nowMs();
    await lab.startDhcpd(
      (function* () {
        for (let i = 0; i < N; i++) yield { clientIdHex: clientIdOf(i), address: address(i) };
      })(),
      DHCPD_RANGE,
    );
    // dhcpd reads its whole lease file before it answers: probe until it does.
    let probe: Record<string, unknown> = {};
    const deadline = Date.now() + 15 * 60_000;
    while (Date.now() < deadline) {
      if (!lab.running) throw new Error('dhcpd exited while loading its leases');
      probe = await lab.runLoad({ server: DHCPD_ADDR, port: 547, addressesFile, window: 1, seconds: 1, timeoutMs: 500 });
      if ((probe.answered as number) > 0) break;
    }
    if (!((probe.answered as number) > 0)) throw new Error('dhcpd never answered a LEASEQUERY');
    emit({ ...common, metric: 'dhcpd-ready', value: Math.round(nowMs() - t0), unit: 'ms', note: 'lease file written and loaded, first answer', dhcpdRssKb: lab.dhcpdRssKb() });
    const rounds = Number(process.env.LQR_BENCH_ROUNDS ?? 3);
    const runs: { replica: Record<string, unknown>[]; dhcpd: Record<string, unknown>[] } = { replica: [], dhcpd: [] };
    for (let r = 0; r < rounds; r++) {
      runs.replica.push(await lab.runLoad({ server: REPLICA_ADDR, port: replicaPort, addressesFile, window: WINDOW, seconds: UDP_SECONDS }));
      runs.dhcpd.push(await lab.runLoad({ server: DHCPD_ADDR, port: 547, addressesFile, window: WINDOW, seconds: UDP_SECONDS }));
    }
    const summary = (xs: Record<string, unknown>[]) => ({
      rate: median(xs.map((x) => x.rate as number)),
      p50: median(xs.map((x) => x.p50 as number)),
      p99: median(xs.map((x) => x.p99 as number)),
      lost: xs.reduce((a, x) => a + (x.lost as number), 0),
      other: xs.reduce((a, x) => a + (x.other as number), 0),
      rates: xs.map((x) => x.rate),
    });
    const rep = summary(runs.replica);
    const dh = summary(runs.dhcpd);
    emit({ ...common, metric: 'udp-rate', value: rep.rate, unit: 'queries/s', path: 'veth', target: 'replica', ...rep, window: WINDOW, rounds });
    emit({ ...common, metric: 'udp-rate', value: dh.rate, unit: 'queries/s', path: 'veth', target: 'dhcpd', ...dh, window: WINDOW, rounds, dhcpdRssKb: lab.dhcpdRssKb(), dhcpd: spawnVersion() });
    emit({ ...common, metric: 'udp-rate-ratio', value: dh.rate > 0 ? Math.round((rep.rate / dh.rate) * 100) / 100 : 0, unit: 'replica/dhcpd', p99Ratio: dh.p99 ? Math.round((rep.p99 / dh.p99) * 100) / 100 : null });
  } finally {
    lab.tearDown();
  }
}

function spawnVersion(): string {
  const r = spawnSync('dhcpd', ['--version'], { encoding: 'utf8' });
  return (r.stdout + r.stderr).trim().split('\n')[0] ?? '';
}

/**
 * Freshness through the whole path: a lab server (10,000 clients, quiet), the connector
 * on it, a replica on the connector's topic; each sample releases one binding on the lab
 * and waits until the replica no longer answers its address.
 */
async function freshnessEndToEnd(common: { bench: string } & Record<string, unknown>, settings: KafkaSettings, brokers: string, dir: string): Promise<void> {
  const lab = await LabServer.create({ seed: 7, clients: 10_000, links: 4, rate: 0 });
  await lab.start();
  const id = `bench-fresh-${process.pid}`;
  const events = `${id}-events`;
  const cfg = resolveConnectorConfig(
    {
      id,
      metrics: { enabled: false },
      sources: [{ name: 'lab-0', host: lab.addresses!.host, port: lab.addresses!.tcpPort!, scopes: { links: lab.db.topology.links.map((l) => formatIPv6(l.linkAddress)) } }],
      kafka: { brokers: brokers.split(','), topics: { events: { name: events, partitions: 6, replicationFactor: 1 }, sources: { name: `${id}-sources`, replicationFactor: 1 } } },
    },
    { ...process.env, KAFKA_BROKERS: '' },
  );
  const log = createLogger('bench-connector');
  log.level = 'warn';
  const connector = createConnector(cfg, { registry: new Registry(), logger: log });
  const running = connector.start();
  running.catch(() => undefined);
  const replica = new Replica({ kafka: settings, topic: events, dataDir: join(dir, 'fresh'), snapshotIntervalMs: 0, lagPollMs: 200 });
  try {
    const until = async (cond: () => boolean, ms: number, what: string) => {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await until(() => connector.status()[0]?.state === 'live', 120_000, 'the connector to go live');
    await replica.start();
    await replica.whenReady();
    const truth = lab.dumpBindings().bindings.filter((b) => b.addresses.length > 0);
    await until(() => replica.projection.stats().bindings >= truth.length, 120_000, 'the initial load in the replica');
    const samples: number[] = [];
    for (let k = 0; k < 60 && k < truth.length; k++) {
      const b = truth[(k * 131) % truth.length];
      const addr = parseIPv6(b.addresses[0].address);
      if (!replica.projection.byAddress(addr)) continue;
      const client = lab.db.clientOf(Buffer.from(b.clientId, 'hex').toString('latin1'));
      const link = lab.db.topology.links.findIndex((l) => formatIPv6(l.linkAddress) === b.linkAddress);
      const rec = client === undefined ? undefined : lab.db.get(lab.db.keyOf(client, link));
      if (!rec) throw new Error(`the lab has no record for ${b.clientId} on ${b.linkAddress}`);
      const t0 = nowMs();
      lab.db.drop(rec.key, 'release');
      // setImmediate polling: a timer would add up to its own resolution to every sample.
      while (replica.projection.byAddress(addr)) {
        if (nowMs() - t0 > 30_000) throw new Error(`release of ${b.addresses[0].address} never reached the replica`);
        await new Promise((r) => setImmediate(r));
      }
      samples.push(nowMs() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    samples.sort((a, b) => a - b);
    emit({ ...common, metric: 'freshness-end-to-end', value: Math.round(pct(samples, 0.5) * 10) / 10, unit: 'ms', p50: Math.round(pct(samples, 0.5) * 10) / 10, p99: Math.round(pct(samples, 0.99) * 10) / 10, samples: samples.length, batchMaxDelayMs: cfg.batch.maxDelayMs, goalP99Ms: 100 });
  } finally {
    await replica.stop({ snapshot: false });
    await connector.stop();
    await lab.stop();
  }
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

    const make = () =>
      new Replica({
        kafka: settings,
        topic,
        dataDir: dir,
        host: '::',
        udpPort: 0,
        snapshotIntervalMs: 0,
        lagPollMs: 200,
        engine: { acl: [{ prefix: '::1/128' }, { prefix: '127.0.0.0/8' }, { prefix: `${CLIENT_TO_REPLICA}/128` }] },
      });
    let replica = make();
    let t = nowMs();
    await replica.start();
    await replica.whenReady();
    const rebuild = nowMs() - t;
    emit({ ...common, metric: 'apply-rate', value: Math.round(N / (rebuild / 1000)), unit: 'records/s' });
    emit({ ...common, metric: 'rebuild-time', value: Math.round(rebuild), unit: 'ms', goalMs: 10_000 });
    t = nowMs();
    await replica.stop();
    emit({ ...common, metric: 'stop-with-snapshot', value: Math.round(nowMs() - t), unit: 'ms' });
    // The whole process's heap (V8 heap + array buffers, after full GCs) with the stopped
    // replica still holding its projection: an upper bound of the cost per binding (it
    // includes kafkajs, the engine, the bench's own data). bench:projection measures the
    // tables alone.
    const heapWith = heapUsed();
    const held = replica.projection.stats().bindings;
    emit({ ...common, metric: 'process-heap-per-binding', value: Math.round(heapWith / held), unit: 'B', heapBytes: heapWith, bindings: held, rssBytes: process.memoryUsage().rss, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function', goal: 300 });

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

    const addressesFile = join(dir, 'addresses.txt');
    writeFileSync(addressesFile, Array.from({ length: N }, (_, i) => address(i)).join('\n') + '\n');
    const loop = await runLoadHere({ server: '::1', port, addressesFile, window: WINDOW, seconds: UDP_SECONDS });
    emit({ ...common, metric: 'udp-rate', value: loop.rate as number, unit: 'queries/s', path: 'loopback', p50: loop.p50, p99: loop.p99, window: WINDOW, detail: loop, goal: 100_000, goalP99Ms: 2 });

    const why = process.env.LQR_BENCH_DHCPD === '0' ? 'LQR_BENCH_DHCPD=0' : unavailable();
    if (why) emit({ ...common, metric: 'dhcpd-comparison', value: 0, unit: 'skipped', reason: why });
    else await compareWithDhcpd(common, port, addressesFile);

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
    await freshnessEndToEnd(common, settings, kafka.brokers, dir);
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

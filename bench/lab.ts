// Lab server benchmarks (`npm run bench:lab`), JSON lines on stdout:
//   active-updates-rate  binding updates/s received by 1 and by 10 Active Leasequery
//                        requestors together, while the workload runs flat out
//   udp-query-rate       UDP LEASEQUERY answers/s at 100,000 and 1,000,000 bindings,
//   udp-latency-p50/p99  with a load generator keeping 64 queries outstanding
//   udp-engine-rate      the same queries answered in-process without sockets: the
//                        engine's own ceiling (decode, lookup, reply, encode)
// The server runs in the main thread; requestors and the load generator run in a
// worker thread, so they do not share the server's event loop. Each number is the
// median of a few rounds. LQR_BENCH_ROUNDS, LQR_BENCH_ROUND_MS and LQR_BENCH_ONLY tune a run.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import dgram from 'node:dgram';
import { LabServer } from '../src/lab/index.js';
import { RequestorConnection, buildLeasequery, defaultRequestorDuid } from '../src/leasequery/index.js';
import { decodeMessage, encodeMessage, formatIPv6, parseIPv6 } from '../src/protocol/index.js';
import { Acl } from '../src/leasequery/server/acl.js';
import { resolveOptions } from '../src/leasequery/server/options.js';
import { newStats } from '../src/leasequery/server/stats.js';
import { answerDatagram } from '../src/leasequery/server/udp.js';
import { silentLogger } from '../src/log.js';
import { emit, median } from './lib.js';

const HOST = '::1';
const ROUNDS = Number(process.env.LQR_BENCH_ROUNDS ?? 3);
const ROUND_MS = Number(process.env.LQR_BENCH_ROUND_MS ?? 3000);
const WINDOW = 64;

type Job =
  | { kind: 'active'; port: number; requestors: number; rounds: number; roundMs: number }
  | { kind: 'udp'; port: number; addresses: string[]; rounds: number; roundMs: number; window: number };

type Report = { kind: 'ready' } | { kind: 'round'; rate: number; p50?: number; p99?: number } | { kind: 'done' };

// ---- worker side ---------------------------------------------------------------------

async function activeWorker(job: Extract<Job, { kind: 'active' }>): Promise<void> {
  const port = parentPort!;
  let received = 0;
  const conns: RequestorConnection[] = [];
  for (let i = 0; i < job.requestors; i++) {
    const conn = await RequestorConnection.connect({ host: HOST, port: job.port, highWater: 4096 });
    conns.push(conn);
    const it = conn.active();
    void (async () => {
      for await (const e of it) if (e.kind === 'binding') received++;
    })().catch(() => undefined);
  }
  port.postMessage({ kind: 'ready' } satisfies Report);
  await new Promise((r) => setTimeout(r, 500)); // warm-up
  for (let r = 0; r < job.rounds; r++) {
    const n0 = received;
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, job.roundMs));
    port.postMessage({ kind: 'round', rate: ((received - n0) * 1000) / (performance.now() - t0) } satisfies Report);
  }
  for (const c of conns) c.close();
  port.postMessage({ kind: 'done' } satisfies Report);
}

async function udpWorker(job: Extract<Job, { kind: 'udp' }>): Promise<void> {
  const port = parentPort!;
  const duid = defaultRequestorDuid();
  // Pre-encoded queries with distinct transaction-ids, reused round-robin (4096 >> window).
  const packets: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    packets.push(encodeMessage(buildLeasequery(i + 1, duid, { type: 'address', address: parseIPv6(job.addresses[i % job.addresses.length]) }, { requestOptions: [] })));
  }
  const sentAt = new Float64Array(4097);
  const socket = dgram.createSocket('udp6');
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // default buffer
  }
  let next = 0;
  let answered = 0;
  let latencies: number[] = [];
  const send = (): void => {
    const i = next++ % 4096;
    sentAt[i + 1] = performance.now();
    socket.send(packets[i], job.port, HOST);
  };
  socket.on('message', (m) => {
    const xid = (decodeMessage(m.subarray(0, 4)) as { transactionId: number }).transactionId;
    const t = sentAt[xid];
    if (t === 0) return;
    sentAt[xid] = 0;
    latencies.push(performance.now() - t);
    answered++;
    send();
  });
  // A lost datagram must not shrink the window forever: re-fill it when replies stall.
  let lastAnswered = 0;
  const refill = setInterval(() => {
    if (answered === lastAnswered) for (let i = 0; i < job.window; i++) send();
    lastAnswered = answered;
  }, 500);
  for (let i = 0; i < job.window; i++) send();
  port.postMessage({ kind: 'ready' } satisfies Report);
  await new Promise((r) => setTimeout(r, 500)); // warm-up
  for (let r = 0; r < job.rounds; r++) {
    latencies = [];
    const n0 = answered;
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, job.roundMs));
    const rate = ((answered - n0) * 1000) / (performance.now() - t0);
    const sorted = latencies.sort((a, b) => a - b);
    port.postMessage({ kind: 'round', rate, p50: sorted[Math.floor(sorted.length * 0.5)], p99: sorted[Math.floor(sorted.length * 0.99)] } satisfies Report);
  }
  clearInterval(refill);
  socket.close();
  port.postMessage({ kind: 'done' } satisfies Report);
}

// ---- main side -----------------------------------------------------------------------

function runWorker(job: Job, onReady: () => void): Promise<Extract<Report, { kind: 'round' }>[]> {
  const w = new Worker(new URL(import.meta.url), { workerData: job });
  const rounds: Extract<Report, { kind: 'round' }>[] = [];
  return new Promise((resolve, reject) => {
    w.on('message', (m: Report) => {
      if (m.kind === 'ready') onReady();
      else if (m.kind === 'round') rounds.push(m);
      else if (m.kind === 'done') void w.terminate().then(() => resolve(rounds));
    });
    w.on('error', reject);
  });
}

/** Run the workload as fast as the event loop allows (batches between turns of the loop). */
function flatOut(lab: LabServer): () => number {
  let running = true;
  let ops = 0;
  const tick = (): void => {
    if (!running) return;
    lab.step(256);
    ops += 256;
    setImmediate(tick);
  };
  setImmediate(tick);
  return () => {
    running = false;
    return ops;
  };
}

async function benchActive(requestors: number): Promise<void> {
  const lab = await LabServer.create({ seed: 1, clients: 200_000, links: 16, pdRatio: 0.3, host: HOST, engine: { maxConnections: 64 } });
  const addr = await lab.start();
  let stop: (() => number) | undefined;
  const t0 = performance.now();
  const seq0 = lab.db.seq;
  const rounds = await runWorker({ kind: 'active', port: addr.tcpPort!, requestors, rounds: ROUNDS, roundMs: ROUND_MS }, () => (stop = flatOut(lab)));
  const ops = stop?.() ?? 0;
  const changesPerSec = ((lab.db.seq - seq0) * 1000) / (performance.now() - t0);
  await lab.stop();
  const rates = rounds.map((r) => r.rate);
  emit({
    bench: 'lab',
    metric: 'active-updates-rate',
    value: Math.round(median(rates)),
    unit: 'updates/s',
    requestors,
    perRequestor: Math.round(median(rates) / requestors),
    changesGenerated: Math.round(changesPerSec),
    workloadOps: ops,
    rounds: rates.map(Math.round),
    bindings: 200_000,
  });
}

async function benchUdp(clients: number): Promise<void> {
  const t0 = performance.now();
  const lab = await LabServer.create({ seed: 2, clients, links: 64, pdRatio: 0.3, host: HOST });
  const populateMs = performance.now() - t0;
  const addr = await lab.start();
  // Half the queries hit an assigned address, half an address inside a delegated prefix.
  // (every 7th binding, so the queries spread over the whole table)
  const addresses: string[] = [];
  let i = 0;
  for (const r of lab.db.allRecords()) {
    if (addresses.length >= 8192) break;
    if (i++ % 7 !== 0) continue;
    const b = lab.view.binding(r);
    if (b.addresses.length) addresses.push(formatIPv6(b.addresses[0].address));
    if (b.prefixes.length) {
      const inside = Buffer.from(b.prefixes[0].prefix);
      inside[15] = 0x42;
      addresses.push(formatIPv6(inside));
    }
  }
  const rounds = await runWorker({ kind: 'udp', port: addr.udpPort!, addresses, rounds: ROUNDS, roundMs: ROUND_MS, window: WINDOW }, () => undefined);
  const served = lab.stats!.udpReplies;
  await lab.stop();
  const engineRates = engineOnly(lab, addresses);
  const common = { bench: 'lab', bindings: lab.db.activeBindings, window: WINDOW, rounds: rounds.length };
  emit({ ...common, metric: 'udp-query-rate', value: Math.round(median(rounds.map((r) => r.rate))), unit: 'queries/s', perRound: rounds.map((r) => Math.round(r.rate)), served, populateMs: Math.round(populateMs) });
  emit({ ...common, metric: 'udp-latency-p50', value: Number(median(rounds.map((r) => r.p50 ?? NaN)).toFixed(3)), unit: 'ms' });
  emit({ ...common, metric: 'udp-latency-p99', value: Number(median(rounds.map((r) => r.p99 ?? NaN)).toFixed(3)), unit: 'ms' });
  emit({ ...common, rounds: engineRates.length, metric: 'udp-engine-rate', value: Math.round(median(engineRates)), unit: 'queries/s', perRound: engineRates.map(Math.round) });
}

/** The UDP answer path without sockets: answerDatagram over pre-encoded queries. */
function engineOnly(lab: LabServer, addresses: string[]): number[] {
  const duid = defaultRequestorDuid();
  const packets = addresses.map((a, i) => encodeMessage(buildLeasequery(i + 1, duid, { type: 'address', address: parseIPv6(a) }, { requestOptions: [] })));
  const deps = { view: lab.view, acl: new Acl(), opts: resolveOptions({ view: lab.view }), stats: newStats(), logger: silentLogger };
  const n = 200_000;
  const round = (): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) answerDatagram(deps, packets[i % packets.length], '::1');
    return (n * 1000) / (performance.now() - t0);
  };
  round(); // warm-up
  return Array.from({ length: Math.max(3, ROUNDS) }, round);
}

/** LQR_BENCH_ONLY=active1,active10,udp100k,udp1m runs a subset. */
async function main(): Promise<void> {
  const only = process.env.LQR_BENCH_ONLY?.split(',');
  const want = (name: string): boolean => !only || only.includes(name);
  if (want('active1')) await benchActive(1);
  if (want('active10')) await benchActive(10);
  if (want('udp100k')) await benchUdp(100_000);
  if (want('udp1m')) await benchUdp(1_000_000);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:lab failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
} else {
  const job = workerData as Job;
  (job.kind === 'active' ? activeWorker(job) : udpWorker(job)).catch((err: unknown) => {
    process.stderr.write(`bench:lab worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

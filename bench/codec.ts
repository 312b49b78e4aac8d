// Codec benchmark (`npm run bench:codec`): decode and encode rates of a realistic
// LEASEQUERY-DATA (CLIENT_DATA with CLIENTID, two IAADDR, one IAPREFIX, CLT_TIME and a
// one-hop LQ_RELAY_DATA), and of a framed stream of them read in 64 KiB chunks, as a
// Bulk or Active Leasequery requestor reads them. Medians of timed rounds after warm-up.
import { decodeMessage, encodeFramedMessage, encodeMessage, FrameDecoder, type Dhcp6Message } from '../src/protocol/index.js';
import { realisticLeasequeryData } from './codec-samples.js';
import { emit, machine, measureRates, median, type Rates } from './lib.js';

const BENCH = 'codec';
const msg = realisticLeasequeryData();
const bytes = encodeMessage(msg);

/** Median of the wall-clock rates as the value; min, max and the CPU-time median beside it. */
function report(metric: string, rates: Rates, unit = 'msg/s', extra: Record<string, unknown> = {}): void {
  const { wall, cpu } = rates;
  emit({
    bench: BENCH,
    metric,
    value: Math.round(median(wall)),
    unit,
    min: Math.round(Math.min(...wall)),
    max: Math.round(Math.max(...wall)),
    perCpuSecond: Math.round(median(cpu)),
    rounds: wall.length,
    ...extra,
  });
}

emit({ bench: BENCH, metric: 'message-size', value: bytes.length, unit: 'bytes', message: 'LEASEQUERY-DATA', ...machine() });

// A sink the optimiser cannot see through, so that no work is skipped.
let sink = 0;

const N = 200_000;
report(
  'decode-rate',
  measureRates(() => {
    for (let i = 0; i < N; i++) sink += decodeMessage(bytes).options.length;
  }, N),
);

report(
  'encode-rate',
  measureRates(() => {
    for (let i = 0; i < N; i++) sink += encodeMessage(msg).length;
  }, N),
);

report(
  'encode-framed-rate',
  measureRates(() => {
    for (let i = 0; i < N; i++) sink += encodeFramedMessage(msg).length;
  }, N),
);

// A Bulk Leasequery stream: 10,000 framed messages, each with its own transaction-id,
// read in 64 KiB chunks (frames straddle chunk boundaries) and decoded.
const STREAM_MESSAGES = 10_000;
const CHUNK = 64 * 1024;
const stream = Buffer.concat(Array.from({ length: STREAM_MESSAGES }, (_, i) => encodeFramedMessage(realisticLeasequeryData(i) as Dhcp6Message)));
const chunks: Buffer[] = [];
for (let off = 0; off < stream.length; off += CHUNK) chunks.push(stream.subarray(off, off + CHUNK));

const streamRates = measureRates(
  () => {
    const decoder = new FrameDecoder();
    let n = 0;
    for (const chunk of chunks) {
      for (const frame of decoder.push(chunk)) {
        sink += decodeMessage(frame).options.length;
        n++;
      }
    }
    if (n !== STREAM_MESSAGES || decoder.bufferedBytes !== 0) throw new Error(`stream decoded ${n} messages`);
  },
  STREAM_MESSAGES,
  { rounds: 15, warmup: 5 },
);
report('framed-stream-decode-rate', streamRates, 'msg/s', { messages: STREAM_MESSAGES, streamBytes: stream.length, chunkBytes: CHUNK });
const toMBps = (r: number): number => Math.round((r * stream.length) / STREAM_MESSAGES / 1e5) / 10;
report('framed-stream-throughput', { wall: streamRates.wall.map(toMBps), cpu: streamRates.cpu.map(toMBps) }, 'MB/s');

if (sink === 42) process.stdout.write(''); // keep `sink` alive

// UDP LEASEQUERY load generator (bench:replica): one socket, a fixed window of
// outstanding queries by address, every reply decoded and checked, latency per query.
// The same program, with the same window, measures the replica and ISC dhcpd -6
// (bench/dhcpd.ts runs it inside a network namespace), so the two figures compare.
//
//   node dist/bench/udp-load.js --server ADDR --port 547 --addresses FILE
//        [--window 64] [--seconds 10] [--warmup 1] [--local-port 546] [--timeout-ms 1000]
//
// ADDRESSES: one IPv6 address per line; queries cycle through them in a fixed stride.
// Prints one JSON object: sent, answered (a LEASEQUERY-REPLY with the client's data),
// other (a reply without data, or with a non-Success status), lost (no reply within the
// timeout: the slot is reused), rate (answered per second), p50/p90/p99/max latency (ms).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildLeasequery } from '../src/leasequery/requestor/query.js';
import { MessageType, decodeMessage, encodeMessage, parseIPv6 } from '../src/protocol/index.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    port: { type: 'string', default: '547' },
    addresses: { type: 'string' },
    window: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    'local-port': { type: 'string', default: '0' },
    'local-address': { type: 'string' },
    'timeout-ms': { type: 'string', default: '1000' },
  },
});

if (!values.server || !values.addresses) {
  process.stderr.write('udp-load: --server and --addresses are required\n');
  process.exit(2);
}
const server = values.server;
const port = Number(values.port);
const windowSize = Number(values.window);
const seconds = Number(values.seconds);
const warmupS = Number(values.warmup);
const timeoutMs = Number(values['timeout-ms']);
const addresses = readFileSync(values.addresses, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter(Boolean)
  .map((a) => parseIPv6(a));
if (addresses.length === 0) throw new Error('no addresses');

const requestorDuid = Buffer.from('000300010a0b0c0d0e0f', 'hex');
const socket = dgram.createSocket({ type: 'udp6', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });

interface Slot {
  xid: number;
  sentAt: number;
}
const outstanding = new Map<number, Slot>();
let nextXid = 1;
let cursor = 0;
let measuring = false;
let stopping = false;
const counts = { sent: 0, answered: 0, other: 0, lost: 0, late: 0, undecodable: 0 };
const latencies: number[] = [];
const statusCounts: Record<string, number> = {};

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function sendOne(): void {
  if (stopping) return;
  const xid = nextXid;
  nextXid = nextXid >= 0xffffff ? 1 : nextXid + 1;
  // A stride coprime with most sizes walks the whole list without repeating early.
  const address = addresses[cursor];
  cursor = (cursor + 7919) % addresses.length;
  const bytes = encodeMessage(buildLeasequery(xid, requestorDuid, { type: 'address', address }));
  outstanding.set(xid, { xid, sentAt: nowMs() });
  if (measuring) counts.sent++;
  socket.send(bytes, port, server);
}

socket.on('message', (msg) => {
  const at = nowMs();
  let decoded;
  try {
    decoded = decodeMessage(msg);
  } catch {
    if (measuring) counts.undecodable++;
    return;
  }
  if (decoded.kind !== 'client-server') return;
  const slot = outstanding.get(decoded.transactionId);
  if (!slot) {
    if (measuring) counts.late++;
    return;
  }
  outstanding.delete(decoded.transactionId);
  if (measuring) {
    const status = decoded.options.find((o) => o.name === 'statusCode') as { status: number } | undefined;
    const hasData = decoded.options.some((o) => o.name === 'clientData');
    const code = status?.status ?? 0;
    statusCounts[code] = (statusCounts[code] ?? 0) + 1;
    if (decoded.msgType === MessageType.LEASEQUERY_REPLY && code === 0 && hasData) {
      counts.answered++;
      latencies.push(at - slot.sentAt);
    } else counts.other++;
  }
  sendOne();
});

// Lost queries: free their slot so the window stays full.
const sweeper = setInterval(() => {
  const cutoff = nowMs() - timeoutMs;
  for (const [xid, s] of outstanding) {
    if (s.sentAt < cutoff) {
      outstanding.delete(xid);
      if (measuring) counts.lost++;
      sendOne();
    }
  }
}, Math.max(50, timeoutMs / 4));

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]);
const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

socket.bind({ port: Number(values['local-port']), address: values['local-address'] }, () => {
  for (let i = 0; i < windowSize; i++) sendOne();
  setTimeout(() => {
    measuring = true;
    const t0 = nowMs();
    const cpu0 = process.cpuUsage();
    setTimeout(() => {
      measuring = false;
      stopping = true;
      const elapsed = (nowMs() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      clearInterval(sweeper);
      latencies.sort((a, b) => a - b);
      const out = {
        server,
        port,
        window: windowSize,
        seconds: Math.round(elapsed * 1000) / 1000,
        ...counts,
        statuses: statusCounts,
        rate: Math.round(counts.answered / elapsed),
        p50: round(pct(latencies, 0.5)),
        p90: round(pct(latencies, 0.9)),
        p99: round(pct(latencies, 0.99)),
        max: round(latencies.length ? latencies[latencies.length - 1] : null),
        generatorCpuS: Math.round(((cpu.user + cpu.system) / 1e6) * 1000) / 1000,
      };
      process.stdout.write(JSON.stringify(out) + '\n');
      socket.close();
    }, seconds * 1000);
  }, warmupS * 1000);
});

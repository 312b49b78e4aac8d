// Hostile-input campaign against a running leasequery server, from another process.
//
// The target is `lqr lab` as a child process on 127.0.0.1 with the ACL set to
// 127.0.0.1 (the legitimate requestor), 127.0.0.3 and 127.0.0.4 (permitted but
// misbehaving requestors, rate-limited per /32), plus its admin HTTP endpoint; 127.0.0.2
// is outside the ACL. From this process,
// for the campaign's duration:
//
//   UDP   random datagrams and mutated/truncated LEASEQUERYs from 127.0.0.3 (permitted),
//         and valid, mutated and random datagrams from 127.0.0.2 (outside the ACL):
//         every reply to 127.0.0.2 is checked to be no larger than the datagram that
//         caused it (matched by transaction-id, which is unique per datagram sent)
//   TCP   garbage streams, oversized frames, half-open peers (a partial frame, then
//         FIN) from 127.0.0.3; slow-loris peers (1 byte per second) and connection
//         floods beyond BULK_LQ_MAX_CONNS from 127.0.0.4 (permitted; the target holds
//         each prefix to --max-conns-per-prefix); connections from outside the ACL
//   HTTP  (the admin endpoint) bad methods, huge headers, slow headers, garbage
//
// Meanwhile a legitimate requestor on 127.0.0.1 keeps asking UDP QUERY_BY_ADDRESS for
// bindings whose owner it knows (the lab's ground truth, static workload) and checks
// the answer. At the end: one more UDP query and one TCP Bulk query must be answered
// correctly. Reported (JSON lines {bench, metric, value, unit}): inputs thrown by kind,
// target alive, target RSS before/peak/after (/proc/PID/status VmRSS, VmHWM), legit
// queries answered/attempted and their p50/p99 latency, outsider bytes in/out.
//
//   npm run bench:hostile                      (20 s; LQR_HOSTILE_SECONDS to change)
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RequestorConnection, buildLeasequery, udpLeasequery } from '../src/leasequery/index.js';
import { peekHeader } from '../src/leasequery/wire.js';
import { encodeFramedMessage, encodeMessage, formatIPv6, parseIPv6, type ClientServerMessage } from '../src/protocol/index.js';
import { emit, type BenchResult } from './lib.js';

export interface HostileOptions {
  /** The lqr CLI entry (compiled JavaScript). */
  lqrEntry: string;
  durationMs: number;
  /** UDP datagrams per second per attacking source (permitted and outsider). */
  udpRate?: number;
  /** Slow-loris peers. */
  slowLoris?: number;
  /** Connections per flood wave. */
  floodSize?: number;
  clients?: number;
  /** The target's --rate-limit / --rate-burst (per /32: the noisy source is held to it). */
  rateLimit?: string;
  rateBurst?: number;
  /** The target's --max-conns-per-prefix. */
  maxConnsPerPrefix?: number;
  /** Print progress lines to stderr. */
  verbose?: boolean;
}

export interface HostileReport {
  inputs: Record<string, number>;
  targetAlive: boolean;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  rssAfterKiB: number;
  legitAttempted: number;
  legitAnswered: number;
  legitWrong: number;
  legitP50Ms: number;
  legitP99Ms: number;
  finalUdpOk: boolean;
  finalBulkOk: boolean;
  outsiderDatagrams: number;
  outsiderBytesIn: number;
  outsiderReplies: number;
  outsiderBytesOut: number;
  /** Replies to the outsider larger than the datagram that caused them (must be 0). */
  outsiderAmplified: number;
  outsiderMaxRatio: number;
  /** Replies the permitted fuzzer (127.0.0.3) got (MalformedQuery and answers, within its rate limit). */
  fuzzerReplies: number;
  engine: Record<string, unknown>;
}

const LEGIT = '127.0.0.1';
const OUTSIDER = '127.0.0.2';
const NOISY = '127.0.0.3';
/** Permitted too: holds connections (slow loris, floods). */
const HOGGER = '127.0.0.4';
const HOST = '127.0.0.1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** xorshift32: a reproducible stream of pseudo-random numbers. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function procStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Target {
  child: ChildProcess;
  udpPort: number;
  tcpPort: number;
  adminPort: number;
  exited: boolean;
}

async function startTarget(o: HostileOptions): Promise<Target> {
  const args = [
    o.lqrEntry,
    'lab',
    '--host', HOST,
    '--port', '0',
    '--clients', String(o.clients ?? 2000),
    '--rate', '0',
    '--seed', '11',
    '--admin-port', '0',
    '--acl', `${LEGIT}/32,${NOISY}/32,${HOGGER}/32`,
    // Generous for a requestor, tight for a flood: the noisy source is held to this.
    '--rate-limit', o.rateLimit ?? '1000/s',
    '--rate-burst', String(o.rateBurst ?? 1000),
    '--conn-rate-limit', '100/s',
    '--conn-rate-burst', '200',
    // One source cannot take every BULK_LQ_MAX_CONNS (10) slot.
    '--max-conns-per-prefix', String(o.maxConnsPerPrefix ?? 4),
  ]; // prettier-ignore
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LQR_LOG_LEVEL: process.env.LQR_HOSTILE_TARGET_LOG ?? 'error' } });
  const t: Target = { child, udpPort: 0, tcpPort: 0, adminPort: 0, exited: false };
  child.on('exit', () => (t.exited = true));
  if (o.verbose) child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[target] ${d.toString()}`));
  else child.stderr?.resume(); // drained: a full pipe must not stall the target
  child.stdout?.on('data', (d: Buffer) => o.verbose && t.exited === false && /stopping|written/.test(d.toString()) && process.stderr.write(`[target] ${d.toString()}`));
  let out = '';
  await new Promise<void>((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`lab did not start: ${out}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab exited with ${code}: ${out}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /UDP [^ ]*:(\d+), TCP [^ ]*:(\d+)/.exec(out);
      const a = /admin HTTP on [^ ]*:(\d+)/.exec(out);
      if (m && a) {
        clearTimeout(timer);
        t.udpPort = Number(m[1]);
        t.tcpPort = Number(m[2]);
        t.adminPort = Number(a[1]);
        resolveStart();
      }
    });
  });
  return t;
}

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolveGet, reject) => {
    const req = http.get({ host: HOST, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolveGet(JSON.parse(body));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('admin HTTP timed out')));
  });
}

interface Truth {
  address: Buffer;
  clientId: string;
}

function addressQuery(xid: number, address: Buffer, duid: Buffer): ClientServerMessage {
  return buildLeasequery(xid, duid, { type: 'address', address });
}

export async function runHostileCampaign(o: HostileOptions): Promise<HostileReport> {
  const log = (m: string) => o.verbose && process.stderr.write(`[hostile] ${m}\n`);
  const target = await startTarget(o);
  const pid = target.child.pid as number;
  const inputs: Record<string, number> = {};
  const count = (kind: string, n = 1) => (inputs[kind] = (inputs[kind] ?? 0) + n);
  const rand = prng(0x5eed);
  const sockets = new Set<net.Socket>();
  const timers: NodeJS.Timeout[] = [];
  let running = true;
  try {
    const dump = (await getJson(target.adminPort, '/bindings')) as { bindings: { clientId: string; addresses: { address: string }[] }[] };
    const truth: Truth[] = dump.bindings.filter((b) => b.addresses.length > 0).map((b) => ({ address: parseIPv6(b.addresses[0].address), clientId: b.clientId }));
    if (truth.length === 0) throw new Error('the lab has no bindings with an address');
    await sleep(300);
    const before = procStatus(pid);
    log(`target pid ${pid}, udp ${target.udpPort}, tcp ${target.tcpPort}, admin ${target.adminPort}, RSS ${before?.rss} KiB`);
    let peak = before?.hwm ?? 0;
    timers.push(
      setInterval(() => {
        const s = procStatus(pid);
        if (s && s.hwm > peak) peak = s.hwm;
      }, 200),
    );

    // ---- the legitimate requestor ----------------------------------------------------
    const legit = { attempted: 0, answered: 0, wrong: 0, lat: [] as number[] };
    const legitDuid = Buffer.from('000300010200005300aa', 'hex');
    const legitLoop = (async () => {
      let i = 0;
      while (running) {
        const t = truth[i++ % truth.length];
        legit.attempted++;
        const t0 = performance.now();
        try {
          const r = await udpLeasequery({ type: 'address', address: t.address }, { host: HOST, port: target.udpPort, localAddress: LEGIT, requestorDuid: legitDuid, irtMs: 250, mrc: 4 });
          legit.lat.push(performance.now() - t0);
          if (r.binding?.clientDuid?.toString('hex') === t.clientId) legit.answered++;
          else legit.wrong++;
        } catch {
          // timed out after every retransmission: counted as attempted, not answered
        }
        await sleep(5);
      }
    })();

    // ---- UDP ---------------------------------------------------------------------------
    const noisy = dgram.createSocket('udp4');
    const outsider = dgram.createSocket('udp4');
    noisy.on('error', () => undefined);
    outsider.on('error', () => undefined);
    await new Promise<void>((r) => noisy.bind(0, NOISY, () => r()));
    await new Promise<void>((r) => outsider.bind(0, OUTSIDER, () => r()));
    let fuzzerReplies = 0;
    noisy.on('message', () => fuzzerReplies++);
    const sentLen = new Map<number, number>();
    const ob = { datagrams: 0, bytesIn: 0, replies: 0, bytesOut: 0, amplified: 0, maxRatio: 0 };
    outsider.on('message', (reply) => {
      ob.replies++;
      ob.bytesOut += reply.length;
      const h = peekHeader(reply);
      const sent = h ? sentLen.get(h.transactionId) : undefined;
      const ratio = reply.length / (sent ?? 1);
      if (ratio > ob.maxRatio) ob.maxRatio = ratio;
      if (sent === undefined || reply.length > sent) ob.amplified++;
    });
    let xid = 1;
    const randomBytes = (max: number) => {
      const b = Buffer.allocUnsafe(Math.floor(rand() * max));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      return b;
    };
    const mutate = (b: Buffer, from: number) => {
      const flips = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < flips && b.length > from; f++) b[from + Math.floor(rand() * (b.length - from))] = Math.floor(rand() * 256);
      return rand() < 0.3 ? b.subarray(0, from + Math.floor(rand() * Math.max(1, b.length - from))) : b;
    };
    const someDuid = () => Buffer.from(`0003000102${Math.floor(rand() * 0xffffff).toString(16).padStart(6, '0')}00`, 'hex');
    const sendOutsider = (bytes: Buffer, kind: string) => {
      // Every datagram that could be answered has its own transaction-id: replies are matched exactly.
      const h = peekHeader(bytes);
      if (h) {
        if (sentLen.has(h.transactionId)) return;
        sentLen.set(h.transactionId, bytes.length);
      }
      ob.datagrams++;
      ob.bytesIn += bytes.length;
      count(kind);
      outsider.send(bytes, target.udpPort, HOST);
    };
    const udpRate = o.udpRate ?? 2000;
    const perTick = Math.max(1, Math.round(udpRate / 100));
    timers.push(
      setInterval(() => {
        for (let k = 0; k < perTick; k++) {
          // permitted but hostile (127.0.0.3): random and mutated/truncated queries
          if (rand() < 0.5) {
            noisy.send(randomBytes(1500), target.udpPort, HOST);
            count('udp-random');
          } else {
            const t = truth[Math.floor(rand() * truth.length)];
            noisy.send(mutate(encodeMessage(addressQuery(Math.floor(rand() * 0xffffff), t.address, someDuid())), 0), target.udpPort, HOST);
            count('udp-mutated');
          }
          // outside the ACL (127.0.0.2)
          const r = rand();
          const id = (xid = (xid + 1) & 0xffffff);
          const t = truth[Math.floor(rand() * truth.length)];
          if (r < 0.4) sendOutsider(encodeMessage(addressQuery(id, t.address, someDuid())), 'udp-outsider-valid');
          else if (r < 0.5) sendOutsider(encodeMessage({ kind: 'client-server', msgType: 14, transactionId: id, options: [{ name: 'clientId', code: 1, duid: Buffer.from([0, 3, 1]) }] }), 'udp-outsider-minimal');
          else if (r < 0.8) sendOutsider(mutate(encodeMessage(addressQuery(id, t.address, someDuid())), 4), 'udp-outsider-mutated');
          else sendOutsider(randomBytes(600), 'udp-outsider-random');
        }
      }, 10),
    );

    // ---- TCP ---------------------------------------------------------------------------
    const connect = (localAddress: string, kind: string): net.Socket => {
      const s = net.connect({ host: HOST, port: target.tcpPort, localAddress });
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
      s.on('data', () => undefined);
      count(kind);
      return s;
    };
    // garbage streams and oversized frames from the permitted noisy source
    timers.push(
      setInterval(() => {
        const g = connect(NOISY, 'tcp-garbage');
        g.on('connect', () => g.end(randomBytes(4096)));
        const big = connect(NOISY, 'tcp-oversized-frame');
        big.on('connect', () => {
          // a frame announcing 65535 bytes whose body is garbage, then a second announcing more than is sent
          big.write(Buffer.concat([Buffer.from([0xff, 0xff]), randomBytes(65535), Buffer.from([0xff, 0xff]), randomBytes(30000)]));
          setTimeout(() => big.destroy(), 500);
        });
        const fr = connect(NOISY, 'tcp-garbage-frames');
        fr.on('connect', () => {
          for (let i = 0; i < 20; i++) {
            const body = Buffer.alloc(40);
            randomBytes(41).copy(body);
            fr.write(Buffer.concat([Buffer.from([0, 40]), body]));
          }
          const t = truth[Math.floor(rand() * truth.length)];
          fr.end(mutate(encodeFramedMessage(addressQuery(Math.floor(rand() * 0xffffff), t.address, someDuid())), 2));
        });
        const half = connect(NOISY, 'tcp-half-open');
        half.on('connect', () => half.end(Buffer.from([0x00, 0x50, 14, 0, 0])));
      }, 250),
    );
    // slow loris: one byte per second of a frame announcing 1000 bytes, never finished
    for (let i = 0; i < (o.slowLoris ?? 5); i++) {
      const s = connect(HOGGER, 'tcp-slowloris');
      s.on('connect', () => {
        s.write(Buffer.from([0x03]));
        const t = setInterval(() => {
          if (s.writable) s.write(Buffer.from([0xe8]));
        }, 1000);
        timers.push(t);
      });
    }
    // connection floods beyond BULK_LQ_MAX_CONNS, held open
    const flood = () => {
      for (let i = 0; i < (o.floodSize ?? 40); i++) connect(HOGGER, 'tcp-flood');
    };
    flood();
    timers.push(setInterval(flood, 2000));
    // connections from outside the ACL
    timers.push(
      setInterval(() => {
        for (let i = 0; i < 10; i++) {
          const s = connect(OUTSIDER, 'tcp-outsider');
          s.on('connect', () => s.write(encodeFramedMessage(addressQuery(1, truth[0].address, someDuid()))));
        }
      }, 500),
    );

    // ---- HTTP (the admin endpoint) -------------------------------------------------------
    const rawHttp = (bytes: string | Buffer, kind: string, slow = false) => {
      const s = net.connect({ host: HOST, port: target.adminPort, localAddress: OUTSIDER });
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
      s.on('data', () => undefined);
      count(kind);
      s.on('connect', () => {
        if (!slow) {
          s.end(bytes);
          return;
        }
        const b = Buffer.from(bytes);
        let i = 0;
        const t = setInterval(() => {
          if (!s.writable || i >= b.length) return clearInterval(t);
          s.write(b.subarray(i, ++i));
        }, 1000);
        timers.push(t);
      });
    };
    if (!(process.env.LQR_HOSTILE_SKIP ?? '').includes('http')) timers.push(
      setInterval(() => {
        rawHttp('BREW /coffee HTCPCP/1.0\r\n\r\n', 'http-bad-method');
        rawHttp('DELETE /bindings HTTP/1.1\r\nhost: x\r\n\r\n', 'http-bad-method');
        rawHttp(`GET /stats HTTP/1.1\r\nhost: x\r\nx-huge: ${'a'.repeat(128 * 1024)}\r\n\r\n`, 'http-huge-header');
        rawHttp(randomBytes(2048), 'http-garbage');
        rawHttp(`POST /step?n=0 HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\n${'x'.repeat(10_000)}`, 'http-huge-body');
      }, 500),
    );
    if (!(process.env.LQR_HOSTILE_SKIP ?? '').includes('slow')) for (let i = 0; i < 5; i++) rawHttp('GET /stats HTTP/1.1\r\nhost: x\r\nx-slow: 1\r\n\r\n', 'http-slow-header', true);

    // ---- run ------------------------------------------------------------------------------
    const t0 = Date.now();
    while (Date.now() - t0 < o.durationMs && !target.exited) {
      await sleep(500);
      log(`${Math.round((Date.now() - t0) / 1000)} s: legit ${legit.answered}/${legit.attempted}, outsider ${ob.replies} replies / ${ob.datagrams} datagrams, RSS peak ${peak} KiB`);
    }
    running = false;
    for (const t of timers) clearInterval(t);
    timers.length = 0;
    for (const s of sockets) s.destroy();
    await legitLoop;
    await sleep(300);
    noisy.close();
    outsider.close();

    // ---- after ------------------------------------------------------------------------------
    log('campaign over; final checks');
    const alive = !target.exited && procStatus(pid) !== undefined;
    let finalUdpOk = false;
    let finalBulkOk = false;
    let engine: Record<string, unknown> = {};
    if (alive) {
      const t = truth[7 % truth.length];
      try {
        const r = await udpLeasequery({ type: 'address', address: t.address }, { host: HOST, port: target.udpPort, localAddress: LEGIT, irtMs: 250, mrc: 4 });
        finalUdpOk = r.binding?.clientDuid?.toString('hex') === t.clientId;
      } catch {
        finalUdpOk = false;
      }
      // Connections of the campaign are closing on the server side: retry for a while.
      for (let attempt = 0; attempt < 20 && !finalBulkOk; attempt++) {
        try {
          const conn = await RequestorConnection.connect({ host: HOST, port: target.tcpPort }); // from 127.0.0.1, the legit source
          let found = 0;
          for await (const e of conn.bulk({ type: 'client-id', clientId: Buffer.from(t.clientId, 'hex') })) {
            if (e.kind === 'binding' && e.binding.addresses.some((a) => formatIPv6(a.address) === formatIPv6(t.address))) found++;
          }
          conn.close();
          finalBulkOk = found === 1;
        } catch {
          await sleep(250);
        }
      }
      try {
        const stats = (await getJson(target.adminPort, '/stats')) as { engine: Record<string, unknown> }[];
        engine = stats[0]?.engine ?? {};
      } catch {
        engine = {};
      }
    }
    log(`final checks done (udp ${finalUdpOk}, bulk ${finalBulkOk})`);
    const after = procStatus(pid);
    if (after && after.hwm > peak) peak = after.hwm;
    const lat = [...legit.lat].sort((a, b) => a - b);
    return {
      inputs,
      targetAlive: alive,
      rssBeforeKiB: before?.rss ?? NaN,
      rssPeakKiB: peak,
      rssAfterKiB: after?.rss ?? NaN,
      legitAttempted: legit.attempted,
      legitAnswered: legit.answered,
      legitWrong: legit.wrong,
      legitP50Ms: percentile(lat, 50),
      legitP99Ms: percentile(lat, 99),
      finalUdpOk,
      finalBulkOk,
      outsiderDatagrams: ob.datagrams,
      outsiderBytesIn: ob.bytesIn,
      outsiderReplies: ob.replies,
      outsiderBytesOut: ob.bytesOut,
      outsiderAmplified: ob.amplified,
      outsiderMaxRatio: ob.maxRatio,
      fuzzerReplies,
      engine,
    };
  } finally {
    running = false;
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    if (!target.exited) {
      log('stopping the target');
      target.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => target.child.once('exit', r)), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      if (!target.exited) target.child.kill('SIGKILL');
    }
  }
}

/** The report as benchmark lines. */
export function reportLines(r: HostileReport): BenchResult[] {
  const bench = 'hostile';
  const out: BenchResult[] = [];
  for (const [kind, n] of Object.entries(r.inputs).sort()) out.push({ bench, metric: `inputs-${kind}`, value: n, unit: 'inputs' });
  const mib = (k: number) => Math.round((k / 1024) * 10) / 10;
  const ms = (x: number) => Math.round(x * 100) / 100;
  out.push(
    { bench, metric: 'target-alive', value: r.targetAlive ? 1 : 0, unit: 'bool' },
    { bench, metric: 'target-rss-before', value: mib(r.rssBeforeKiB), unit: 'MiB' },
    { bench, metric: 'target-rss-peak', value: mib(r.rssPeakKiB), unit: 'MiB' },
    { bench, metric: 'target-rss-after', value: mib(r.rssAfterKiB), unit: 'MiB' },
    { bench, metric: 'legit-answered', value: r.legitAnswered, unit: 'queries', attempted: r.legitAttempted, wrong: r.legitWrong },
    { bench, metric: 'legit-attempted', value: r.legitAttempted, unit: 'queries' },
    { bench, metric: 'legit-latency-p50', value: ms(r.legitP50Ms), unit: 'ms' },
    { bench, metric: 'legit-latency-p99', value: ms(r.legitP99Ms), unit: 'ms' },
    { bench, metric: 'final-udp-answered', value: r.finalUdpOk ? 1 : 0, unit: 'bool' },
    { bench, metric: 'final-bulk-answered', value: r.finalBulkOk ? 1 : 0, unit: 'bool' },
    { bench, metric: 'outsider-datagrams', value: r.outsiderDatagrams, unit: 'datagrams', bytes: r.outsiderBytesIn },
    { bench, metric: 'outsider-replies', value: r.outsiderReplies, unit: 'datagrams', bytes: r.outsiderBytesOut },
    { bench, metric: 'outsider-amplified-replies', value: r.outsiderAmplified, unit: 'datagrams' },
    { bench, metric: 'permitted-fuzzer-replies', value: r.fuzzerReplies, unit: 'datagrams' },
    { bench, metric: 'outsider-max-reply-ratio', value: Math.round(r.outsiderMaxRatio * 1000) / 1000, unit: 'reply/query bytes' },
  );
  const e = r.engine;
  for (const k of ['udpQueries', 'udpMalformed', 'udpDenied', 'udpDeniedAnswered', 'udpDeniedDropped', 'udpRateLimited', 'tcpConnections', 'tcpRefused', 'tcpRefusedPerPrefix', 'tcpDeniedByAcl', 'tcpRateLimited', 'tcpProtocolErrors', 'tcpTimeouts']) {
    if (typeof e[k] === 'number') out.push({ bench, metric: `engine-${k}`, value: e[k] as number, unit: 'count' });
  }
  return out;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const seconds = Number(process.env.LQR_HOSTILE_SECONDS ?? 20);
  const report = await runHostileCampaign({ lqrEntry: resolve(here, '..', 'src', 'cli', 'lqr.js'), durationMs: seconds * 1000, verbose: process.env.LQR_HOSTILE_VERBOSE === '1' });
  for (const line of reportLines(report)) emit(line);
  if (!report.targetAlive || report.outsiderAmplified > 0 || !report.finalUdpOk || !report.finalBulkOk) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:hostile failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}

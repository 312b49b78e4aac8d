// Shared by every benchmark: results are JSON lines on stdout (DESIGN.md "bench/"),
// one per metric, so that runs can be compared by tools rather than by eye.
import os from 'node:os';
import { SCHEMA_VERSION, type BindingEvent } from '../src/events/model.js';
import { dhcpTimeToUnixMs, unixMsToDhcpTime } from '../src/protocol/index.js';

export interface BenchResult {
  /** Which benchmark, e.g. 'codec'. */
  bench: string;
  /** What was measured, e.g. 'decode-rate'. */
  metric: string;
  value: number;
  /** e.g. 'msg/s', 'bytes', 'ms'. */
  unit: string;
  /** Anything else worth keeping with the number (min, max, rounds, sizes...). */
  [extra: string]: unknown;
}

/** Prints one result as one JSON line. */
export function emit(result: BenchResult): void {
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** Median of a non-empty list of numbers. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Milliseconds since an arbitrary origin, at nanosecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface Rates {
  /** Operations per wall-clock second, one entry per timed round. */
  wall: number[];
  /**
   * Operations per second of this process's CPU time (user + system, all threads) in
   * the same rounds: steadier than wall time on a shared machine, and the "one core"
   * figure when the process is single-threaded.
   */
  cpu: number[];
}

/**
 * Runs `round` (which does `ops` operations) `rounds` times after `warmup` untimed
 * runs, and returns the rate of each timed round.
 */
export function measureRates(round: () => void, ops: number, { rounds = 7, warmup = 2 } = {}): Rates {
  for (let i = 0; i < warmup; i++) round();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    round();
    const elapsed = nowMs() - t0;
    const used = process.cpuUsage(c0);
    wall.push((ops * 1000) / elapsed);
    cpu.push((ops * 1e6) / Math.max(1, used.user + used.system));
  }
  return { wall, cpu };
}

/** Conditions of the run, to print beside the numbers. */
export function machine(): Record<string, unknown> {
  return { node: process.version, cpus: os.cpus().length, load1: Math.round(os.loadavg()[0] * 100) / 100 };
}

/**
 * A live binding event for one client holding one address (an hour's valid lifetime,
 * CLT_TIME 0), with every derived field as the normalizer would set it: the synthetic
 * load of the replica and scale benchmarks and of tests that need plain events.
 */
export function oneAddressEvent(p: { clientId: string; address: string; linkAddress: string; source: string; at: number }): BindingEvent {
  const baseTime = unixMsToDhcpTime(p.at);
  return {
    type: 'binding',
    schemaVersion: SCHEMA_VERSION,
    source: { name: p.source, serverDuid: '000100010000000000000001' },
    phase: 'live',
    clientId: p.clientId,
    linkAddress: p.linkAddress,
    addresses: [{ address: p.address, preferredLifetime: 1800, validLifetime: 3600, preferredUntil: p.at + 1_800_000, validUntil: p.at + 3_600_000 }],
    prefixes: [],
    cltTime: 0,
    baseTime,
    receivedAt: p.at,
    clockOffsetMs: p.at - dhcpTimeToUnixMs(baseTime),
    lastTransactionAt: p.at,
    relay: null,
    raw: Buffer.from(p.clientId, 'hex').toString('base64'),
  };
}

// Projection benchmark (`npm run bench:projection`, node --expose-gc): a million
// realistic binding events (seeded) folded into the lease tables.
//
// Measures: apply rate from parsed events and from JSON record values (with the fast
// validation path, and with zod's decodeEvent for comparison, and the decode costs on
// their own), the rate of renewals of known bindings, bytes per binding at 1,000,000
// (heapUsed + arrayBuffers delta after forced GC), snapshot write time and size, load
// time, and QUERY_BY_ADDRESS latency (exact and prefix containment) at 1M.
//
// The population follows the lab's numbering plan (src/lab/topology.ts): links behind
// access relays (a third of them behind an aggregation relay as well), per-subscriber
// remote-id (DOCSIS cable-modem MAC), interface-id and link-local peer-address, a
// subscriber-id for a fifth of the clients; half the clients hold an address only, a
// quarter a delegated prefix only, a quarter both. Events come from the connector's own
// normalizer, so their raw CLIENT_DATA and derived instants are the real thing.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEvent, encodeEvent, normalizeClientData, type BindingEvent, type LqEvent } from '../src/events/index.js';
import type { ClientDataOption, Dhcp6Option, RelayMessage } from '../src/protocol/index.js';
import { unixMsToDhcpTime } from '../src/protocol/index.js';
import { decodeEventFast, Projection } from '../src/projection/index.js';
import { emit, machine, median, nowMs } from './lib.js';

const BENCH = 'projection';
const CLIENTS = Number(process.env.LQR_BENCH_BINDINGS ?? 1_000_000);
const LINKS = 2000;
const SEED = 0x5eed;
// Events are made in small batches, as a consumer receives them: a large live set of
// input objects would make every major GC slower and charge it to apply.
const BATCH = 10_000;
const NOW = 1_700_000_000_000;
const ZOD_EVENTS = Math.min(CLIENTS, 200_000);
const RENEWALS = Math.min(CLIENTS, 200_000);
const LOOKUPS = 100_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc (npm run bench:projection does)\n');
  process.exit(2);
}

/** A 32-bit hash of (i, salt): every attribute of client i, reproducibly. */
function h32(i: number, salt: number): number {
  let h = Math.imul(SEED ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77) ^ Math.imul(salt + 7, 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

function ipv6(words: number[]): Buffer {
  const b = Buffer.alloc(16);
  for (let k = 0; k < 8; k++) b.writeUInt16BE(words[k] ?? 0, k * 2);
  return b;
}

function duidEn(enterprise: number, id: string): Buffer {
  const b = Buffer.alloc(6 + id.length);
  b.writeUInt16BE(2, 0);
  b.writeUInt32BE(enterprise, 2);
  b.write(id, 6, 'latin1');
  return b;
}

const linkOf = (i: number): number => h32(i, 2) % LINKS;
const kindOf = (i: number): 'na' | 'pd' | 'both' => (['na', 'na', 'pd', 'both'] as const)[h32(i, 1) % 4];
const addressOf = (i: number, l: number): Buffer => ipv6([0x2001, 0xdb8, l, 0, 0, 1, (i >>> 16) & 0xffff, i & 0xffff]);
const prefixOf = (i: number): Buffer => {
  const field = 0x800000 + i;
  return ipv6([0x2001, 0xdb8, field >>> 8, (field & 0xff) << 8, 0, 0, 0, 0]);
};
const prefixLengthOf = (i: number): number => [56, 56, 56, 56, 56, 56, 56, 60, 60, 64][h32(i, 6) % 10];

function clientDuid(i: number): Buffer {
  const h = h32(i, 3);
  const mac = [0x02, SEED & 0xff, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff];
  const t = h % 10;
  if (t < 6) return Buffer.from([0, 3, 0, 1, ...mac]); // DUID-LL
  if (t < 9) {
    const b = Buffer.alloc(14); // DUID-LLT
    b.writeUInt16BE(1, 0);
    b.writeUInt16BE(1, 2);
    b.writeUInt32BE(600_000_000 + (h >>> 8), 4);
    Buffer.from(mac).copy(b, 8);
    return b;
  }
  return duidEn(9, `cpe-${SEED}-${i}`); // DUID-EN
}

function relayChain(i: number, l: number): RelayMessage {
  const linkAddress = ipv6([0x2001, 0xdb8, l, 0, 0, 0, 0, 1]);
  const first: Dhcp6Option[] = [{ name: 'interfaceId', code: 18, data: Buffer.from(`ge-0/${(i >>> 6) % 16}/${i % 48}`, 'latin1') }];
  if (h32(i, 4) % 10 !== 0) first.push({ name: 'remoteId', code: 37, enterpriseNumber: 4491, remoteId: Buffer.from([0x00, 0x10, 0x95, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]) });
  if (h32(i, 5) % 5 === 0) first.push({ name: 'subscriberId', code: 38, data: Buffer.from(`sub-${i}`, 'latin1') });
  first.push({ name: 'relayId', code: 53, duid: duidEn(32473, `relay-${l}`) });
  const inner: RelayMessage = { kind: 'relay', msgType: 12, hopCount: 0, linkAddress, peerAddress: ipv6([0xfe80, 0, 0, 0, 0x0010, 0x95ff, (i >>> 16) & 0xffff, i & 0xffff]), options: first };
  if (l % 3 !== 2) return inner;
  const a = Math.floor(l / 6);
  return {
    kind: 'relay',
    msgType: 12,
    hopCount: 1,
    linkAddress: ipv6([0, 0, 0, 0, 0, 0, 0, 0]),
    peerAddress: ipv6([0xfd00, 0, 0, l, 0, 0, 0, 1]),
    options: [
      { name: 'interfaceId', code: 18, data: Buffer.from(`agg-port-${l}`, 'latin1') },
      { name: 'relayId', code: 53, duid: duidEn(32473, `agg-${a}`) },
      { name: 'relayMsg', code: 9, message: inner },
    ],
  };
}

/** Client i's binding as server `source` reports it `ageS` seconds before NOW. */
function bindingEvent(i: number, source = 'dhcp-a', ageS = h32(i, 7) % 3600): BindingEvent {
  const l = linkOf(i);
  const kind = kindOf(i);
  const valid = 7200 + (h32(i, 8) % 79_200);
  const options: Dhcp6Option[] = [{ name: 'clientId', code: 1, duid: clientDuid(i) }];
  if (kind !== 'pd') options.push({ name: 'iaAddr', code: 5, address: addressOf(i, l), preferredLifetime: valid >>> 1, validLifetime: valid, options: [] });
  if (kind !== 'na') options.push({ name: 'iaPrefix', code: 26, preferredLifetime: valid >>> 1, validLifetime: valid, prefixLength: prefixLengthOf(i), prefix: prefixOf(i), options: [] });
  options.push({ name: 'cltTime', code: 46, seconds: h32(i, 9) % 1800 });
  const relay = relayChain(i, l);
  const peer = relay.hopCount === 1 ? ipv6([0xfd00, 0, 0xa, Math.floor(l / 6), 0, 0, 0, 1]) : ipv6([0xfd00, 0, 0, l, 0, 0, 0, 1]);
  options.push({ name: 'lqRelayData', code: 47, peerAddress: peer, relayMessage: relay });
  const cd: ClientDataOption = { name: 'clientData', code: 45, options };
  const receivedAt = NOW - ageS * 1000;
  return normalizeClientData(cd, undefined, {
    source: { name: source, serverDuid: source === 'dhcp-a' ? '000100012c3a5e00020000530001' : '000100012c3a5e00020000530002' },
    phase: 'live',
    baseTime: unixMsToDhcpTime(receivedAt - 250),
    receivedAt,
  });
}

function batch(from: number, to: number, make: (i: number) => BindingEvent = (i) => bindingEvent(i)): BindingEvent[] {
  const out: BindingEvent[] = [];
  for (let i = from; i < to; i++) out.push(make(i));
  return out;
}

function heapNow(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const newProjection = (): Projection => new Projection({ serverDuid: Buffer.from('000100012c3a5e0002000053ffff', 'hex'), clock: () => NOW });
const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * A fixed reference workload (1M Map.set + Map.get with string keys), timed in CPU ms:
 * the same code takes ~150 ms on a current laptop core. Divide rates by the ratio to
 * compare runs on different machines.
 */
function calibrate(): number {
  const keys: string[] = [];
  for (let i = 0; i < 1_000_000; i++) keys.push(`key-${i}-padding`);
  const m = new Map<string, number>();
  const c0 = process.cpuUsage();
  for (let i = 0; i < keys.length; i++) m.set(keys[i], i);
  let s = 0;
  for (let i = 0; i < keys.length; i++) s += m.get(keys[i]) as number;
  const c = process.cpuUsage(c0);
  return s < 0 ? -1 : round((c.user + c.system) / 1000);
}

/** Wall and CPU milliseconds of `f`. */
function timed(f: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = nowMs();
  f();
  const c = process.cpuUsage(c0);
  return { wall: nowMs() - t0, cpu: (c.user + c.system) / 1000 };
}

/** events/s by wall clock as the value, events per CPU second beside it. */
function rate(metric: string, events: number, t: { wall: number; cpu: number }, extra: Record<string, unknown> = {}): void {
  emit({ bench: BENCH, metric, value: Math.round((events * 1000) / t.wall), unit: 'events/s', perCpuSecond: Math.round((events * 1000) / t.cpu), events, ...extra });
}

emit({ bench: BENCH, metric: 'population', value: CLIENTS, unit: 'bindings', links: LINKS, seed: SEED, calibrationCpuMs: calibrate(), ...machine() });

// ---- 1. apply from parsed events; bytes per binding ---------------------------------------------
// Each batch lives in its own call frame, so that no event outlives its batch (a
// suspended top-level frame would keep the last batch alive and skew the memory figure).
function timedApply(proj: Projection, from: number, to: number, make?: (i: number) => BindingEvent): { wall: number; cpu: number } {
  const events = batch(from, to, make);
  return timed(() => {
    for (const e of events) proj.apply(e);
  });
}

function applyAll(proj: Projection, n: number): { wall: number; cpu: number } {
  const sum = { wall: 0, cpu: 0 };
  for (let from = 0; from < n; from += BATCH) {
    const t = timedApply(proj, from, Math.min(n, from + BATCH));
    sum.wall += t.wall;
    sum.cpu += t.cpu;
  }
  return sum;
}

const base = heapNow();
let p: Projection | undefined = newProjection();
rate('apply-rate-objects', CLIENTS, applyAll(p, CLIENTS), { what: 'new bindings, from parsed events' });

const used = heapNow() - base;
const st = p.stats();
emit({
  bench: BENCH,
  metric: 'bytes-per-binding',
  value: round(used / st.bindings, 1),
  unit: 'bytes',
  bindings: st.bindings,
  resources: st.resources,
  relayTemplates: st.relayTemplates,
  totalMB: round(used / 1048576, 1),
  typedArrayMB: round(p.typedArrayBytes / 1048576, 1),
});

// ---- 2. renewals of known bindings (the steady state: mostly updates) ------------------------
function renewals(proj: Projection): void {
  const events = batch(0, RENEWALS, (i) => bindingEvent(i, 'dhcp-a', (h32(i, 7) % 3600) - 3600));
  rate('apply-rate-renewals', RENEWALS, timed(() => events.forEach((e) => proj.apply(e))), { what: 'newer reports of known bindings' });
  rate('apply-rate-duplicates', RENEWALS, timed(() => events.forEach((e) => proj.apply(e))), { what: 'the same reports again' });
}
renewals(p);

// ---- 3. lookups at 1M -------------------------------------------------------------------------
function latencies(n: number, lookup: (i: number) => unknown): { p50: number; p99: number; found: number } {
  const us: number[] = [];
  let found = 0;
  for (let k = 0; k < n; k++) {
    const i = h32(k, 99) % CLIENTS;
    const t0 = process.hrtime.bigint();
    const r = lookup(i);
    const t1 = process.hrtime.bigint();
    us.push(Number(t1 - t0) / 1000);
    if (r) found++;
  }
  us.sort((a, b) => a - b);
  return { p50: median(us), p99: us[Math.floor(us.length * 0.99)], found };
}
{
  const proj = p;
  latencies(20_000, (i) => proj.byAddress(addressOf(i, linkOf(i)))); // warm-up
  // Each lookup is timed alone (hrtime around one call): the figures include a Binding
  // materialized with Buffers, as the engine receives it.
  const exact = latencies(LOOKUPS, (i) => (kindOf(i) === 'pd' ? proj.byAddress(prefixOf(i)) : proj.byAddress(addressOf(i, linkOf(i)))));
  emit({ bench: BENCH, metric: 'lookup-address-p50', value: round(exact.p50, 2), unit: 'us', lookups: LOOKUPS, found: exact.found });
  emit({ bench: BENCH, metric: 'lookup-address-p99', value: round(exact.p99, 2), unit: 'us', lookups: LOOKUPS });
  // An address inside a delegated prefix (not the prefix itself): longest-match containment.
  const inside = (i: number): Buffer => {
    const a = Buffer.from(prefixOf(i));
    a[15] = 0x42;
    return a;
  };
  const prefix = latencies(LOOKUPS, (i) => (kindOf(i) === 'na' ? proj.byAddress(addressOf(i, linkOf(i))) : proj.byAddress(inside(i))));
  emit({ bench: BENCH, metric: 'lookup-in-prefix-p50', value: round(prefix.p50, 2), unit: 'us', lookups: LOOKUPS, found: prefix.found });
  emit({ bench: BENCH, metric: 'lookup-in-prefix-p99', value: round(prefix.p99, 2), unit: 'us', lookups: LOOKUPS });
}

// ---- 4. snapshot write and load ---------------------------------------------------------------
{
  const dir = await mkdtemp(join(tmpdir(), 'lqr-bench-'));
  try {
    const path = join(dir, 'projection.lqsnap');
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    await p.snapshot(path, [{ topic: 'lq.events', partition: 0, offset: String(CLIENTS) }]);
    const writeMs = nowMs() - t0;
    const writeCpu = process.cpuUsage(c0);
    const size = (await stat(path)).size;
    emit({ bench: BENCH, metric: 'snapshot-write', value: round(writeMs), unit: 'ms', cpuMs: round((writeCpu.user + writeCpu.system) / 1000), bindings: st.bindings });
    emit({ bench: BENCH, metric: 'snapshot-size', value: size, unit: 'bytes', perBinding: round(size / st.bindings, 1) });
    p = undefined; // free the live tables before loading a second copy
    heapNow();
    const q = newProjection();
    const c1 = process.cpuUsage();
    const t1 = nowMs();
    await q.loadSnapshot(path);
    const loadMs = nowMs() - t1;
    const loadCpu = process.cpuUsage(c1);
    emit({ bench: BENCH, metric: 'snapshot-load', value: round(loadMs), unit: 'ms', cpuMs: round((loadCpu.user + loadCpu.system) / 1000), bindings: q.stats().bindings });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- 5. from JSON record values: decode + validate + apply ------------------------------------
{
  const values = batch(0, 5 * BATCH).map((e) => encodeEvent(e).value);
  const bytes = values.reduce((n, v) => n + v.length, 0);
  emit({ bench: BENCH, metric: 'event-size', value: Math.round(bytes / values.length), unit: 'bytes', what: 'JSON value of a binding event' });
  const decodeRate = (metric: string, f: (v: Buffer) => unknown, what: string): void => {
    for (const v of values.slice(0, 10_000)) f(v);
    let sink = 0;
    rate(metric, values.length, timed(() => values.forEach((v) => (sink += f(v) ? 1 : 0))), { what, decoded: sink });
  };
  decodeRate('decode-rate-json-parse', (v) => JSON.parse(v.toString('utf8')), 'JSON.parse only');
  decodeRate('decode-rate-zod', decodeEvent, 'decodeEvent: JSON.parse + zod');
  decodeRate('decode-rate-fast', decodeEventFast, 'decodeEventFast: JSON.parse + hand validation');
}
function timedDecodeApply(proj: Projection, decode: (v: Buffer) => LqEvent, from: number, to: number): { wall: number; cpu: number } {
  const values = batch(from, to).map((e) => encodeEvent(e).value);
  return timed(() => {
    for (const v of values) proj.apply(decode(v));
  });
}
for (const [metric, decode, n] of [
  ['apply-rate-json-fast', decodeEventFast, CLIENTS],
  ['apply-rate-json-zod', decodeEvent, ZOD_EVENTS],
] as const) {
  heapNow();
  const proj = newProjection();
  const sum = { wall: 0, cpu: 0 };
  for (let from = 0; from < n; from += BATCH) {
    const t = timedDecodeApply(proj, decode, from, Math.min(n, from + BATCH));
    sum.wall += t.wall;
    sum.cpu += t.cpu;
  }
  rate(metric, n, sum, { what: `record value -> ${decode === decodeEventFast ? 'decodeEventFast' : 'decodeEvent (zod)'} -> apply` });
}

// ---- 6. failover pairs: every binding reported by two servers -----------------------------------
function failover(n: number): Projection {
  const proj = newProjection();
  for (let from = 0; from < n; from += BATCH) {
    timedApply(proj, from, Math.min(n, from + BATCH));
    timedApply(proj, from, Math.min(n, from + BATCH), (i) => bindingEvent(i, 'dhcp-b', (h32(i, 7) % 3600) + 5));
  }
  return proj;
}
{
  const n = Math.min(CLIENTS, 200_000);
  const before = heapNow();
  const proj = failover(n);
  const bytes = heapNow() - before;
  emit({ bench: BENCH, metric: 'bytes-per-binding-failover', value: round(bytes / proj.stats().bindings, 1), unit: 'bytes', bindings: proj.stats().bindings, sourcesPerBinding: 2 });
}

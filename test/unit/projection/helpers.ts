// Event builders for the projection tests: consistent time fields (as the normalizer
// derives them) from a few parameters, so a test states only what it is about.
import { SCHEMA_VERSION, type BindingEvent, type BulkScope, type RelayData, type SourceEvent } from '../../../src/events/model.js';
import { dhcpTimeToUnixMs, unixMsToDhcpTime } from '../../../src/protocol/index.js';
import { Projection, type ProjectionOptions } from '../../../src/projection/index.js';

/** 2023-11-14T22:13:20Z: the tests' "now" unless they move it. */
export const T0 = 1_700_000_000_000;
export const INF = 0xffffffff;

export interface Clock {
  now: number;
  (): number;
}

export function clock(start = T0): Clock {
  const c = (() => c.now) as Clock;
  c.now = start;
  return c;
}

export function projection(c: Clock = clock(), options: Partial<ProjectionOptions> = {}): Projection {
  return new Projection({ serverDuid: Buffer.from('000300010a0b0c0d0e0f', 'hex'), clock: c, ...options });
}

export interface EventSpec {
  source?: string;
  client?: string;
  link?: string;
  /** [address, validLifetime seconds] or an address (lifetime 3600). */
  addresses?: (string | [string, number])[];
  /** [prefix, length, validLifetime seconds] or [prefix, length]. */
  prefixes?: ([string, number] | [string, number, number])[];
  /** When the connector received it (ms). */
  at?: number;
  /** Seconds since the last client transaction (null: no CLT_TIME). */
  clt?: number | null;
  /** Server clock offset against the connector (ms); baseTime derives from at - skew. */
  skewMs?: number;
  phase?: BindingEvent['phase'];
  relay?: RelayData | null;
  /** Moves lastTransactionAt off the value derived from receivedAt and CLT_TIME (another producer). */
  lastTxOffsetMs?: number;
}

function until(at: number, lifetime: number): number | null {
  return lifetime === INF ? null : at + lifetime * 1000;
}

export function binding(spec: EventSpec = {}): BindingEvent {
  const at = spec.at ?? T0;
  const clt = spec.clt === undefined ? 0 : spec.clt;
  const baseTime = unixMsToDhcpTime(at - (spec.skewMs ?? 0));
  const addresses = (spec.addresses ?? []).map((a) => {
    const [address, vl] = typeof a === 'string' ? [a, 3600] : a;
    const pl = vl === INF ? INF : Math.floor(vl / 2);
    return { address, preferredLifetime: pl, validLifetime: vl, preferredUntil: until(at, pl), validUntil: until(at, vl) };
  });
  const prefixes = (spec.prefixes ?? []).map(([prefix, prefixLength, vl = 3600]) => {
    const pl = vl === INF ? INF : Math.floor(vl / 2);
    return { prefix, prefixLength, preferredLifetime: pl, validLifetime: vl, preferredUntil: until(at, pl), validUntil: until(at, vl) };
  });
  const client = spec.client ?? '000300010200000000aa';
  const body = { client, link: spec.link, addresses, prefixes, clt, baseTime, relay: spec.relay ?? null };
  return {
    type: 'binding',
    schemaVersion: SCHEMA_VERSION,
    source: { name: spec.source ?? 'dhcp-a', serverDuid: '0001000100000001' },
    phase: spec.phase ?? 'live',
    clientId: client,
    linkAddress: spec.link ?? '2001:db8:1::1',
    addresses,
    prefixes,
    cltTime: clt,
    baseTime,
    receivedAt: at,
    clockOffsetMs: at - dhcpTimeToUnixMs(baseTime),
    lastTransactionAt: clt === null ? null : at - clt * 1000 + (spec.lastTxOffsetMs ?? 0),
    relay: spec.relay ?? null,
    raw: Buffer.from(JSON.stringify(body)).toString('base64'),
  };
}

export function sourceEvent(kind: SourceEvent['kind'], at: number, extra: { source?: string; resyncId?: string; scope?: BulkScope } = {}): SourceEvent {
  const e: SourceEvent = {
    type: 'source',
    schemaVersion: SCHEMA_VERSION,
    source: { name: extra.source ?? 'dhcp-a', serverDuid: '0001000100000001' },
    kind,
    at,
    baseTime: unixMsToDhcpTime(at),
  };
  if (extra.resyncId !== undefined) e.resyncId = extra.resyncId;
  if (extra.scope !== undefined) e.scope = extra.scope;
  return e;
}

const hexOf = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** A two-hop chain like the lab's: aggregation relay outside, the access relay next to the client. */
export function relayChain(opts: { link?: string; relay?: string; agg?: string; remoteId?: string; interfaceId?: string; peer?: string } = {}): RelayData {
  const link = opts.link ?? '2001:db8:1::1';
  const inner = {
    hopCount: 0,
    linkAddress: link,
    peerAddress: opts.peer ?? 'fe80::10:95ff:fe00:1',
    relayId: hexOf(opts.relay ?? 'relay-1'),
    ...(opts.remoteId !== undefined ? { remoteId: { enterpriseNumber: 4491, id: hexOf(opts.remoteId) } } : {}),
    interfaceId: hexOf(opts.interfaceId ?? 'ge-0/0/1'),
  };
  const outer = { hopCount: 1, linkAddress: '::', peerAddress: 'fd00::1:1', relayId: hexOf(opts.agg ?? 'agg-0'), interfaceId: hexOf('agg-port-1') };
  const r: RelayData = { peerAddress: 'fd00::a:1', hops: [outer, inner], relayId: inner.relayId, interfaceId: inner.interfaceId };
  if (inner.remoteId) r.remoteId = inner.remoteId;
  return r;
}

export const ip = (s: string): Buffer => {
  // Avoid the codec in assertions' inputs: the tests compare against the projection's own parse.
  return Buffer.from(s.split(':').length === 8 ? s.split(':').map((g) => g.padStart(4, '0')).join('') : expand(s), 'hex');
};

function expand(s: string): string {
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

export const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
export const latin1Hex = hexOf;

// Event builders for the audit tests: binding and source events with consistent time
// fields (as the normalizer derives them) from a few parameters.
import { SCHEMA_VERSION, type BindingEvent, type BulkScope, type LqEvent, type RelayData, type SourceEvent } from '../../../src/events/model.js';
import { dhcpTimeToUnixMs, unixMsToDhcpTime } from '../../../src/protocol/index.js';
import { IntervalEngine, type EngineOptions, type Interval } from '../../../src/audit/index.js';

/** 2024-11-01T00:00:00Z. */
export const T0 = Date.UTC(2024, 10, 1);
export const INF = 0xffffffff;
export const MIN = 60_000;
export const HOUR = 3_600_000;

export interface Spec {
  source?: string;
  client?: string;
  link?: string;
  /** [address, validLifetime s] or an address (3600 s). */
  addresses?: (string | [string, number])[];
  /** [prefix, length, validLifetime s] or [prefix, length] (3600 s). */
  prefixes?: ([string, number] | [string, number, number])[];
  /** receivedAt, connector clock. */
  at?: number;
  /** Seconds since the last client transaction; null: no CLT_TIME. Default 0. */
  clt?: number | null;
  /** Server clock behind the connector by this many ms (baseTime = at - skew). */
  skewMs?: number;
  phase?: BindingEvent['phase'];
  relay?: RelayData | null;
}

function until(at: number, lifetime: number): number | null {
  return lifetime === INF ? null : at + lifetime * 1000;
}

export function bind(spec: Spec = {}): BindingEvent {
  const at = spec.at ?? T0;
  const clt = spec.clt === undefined ? 0 : spec.clt;
  const baseTime = unixMsToDhcpTime(at - (spec.skewMs ?? 0));
  // receivedAt keeps its ms; the derived instants follow the normalizer (receivedAt + lifetime).
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
  const body = { client, link: spec.link, addresses: spec.addresses, prefixes: spec.prefixes, clt, baseTime, relay: spec.relay ?? null };
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
    lastTransactionAt: clt === null ? null : at - clt * 1000,
    relay: spec.relay ?? null,
    raw: Buffer.from(JSON.stringify(body)).toString('base64'),
  };
}

export function sourceEvent(kind: SourceEvent['kind'], spec: { source?: string; at?: number; resyncId?: string; scope?: BulkScope } = {}): SourceEvent {
  const e: SourceEvent = {
    type: 'source',
    schemaVersion: SCHEMA_VERSION,
    source: { name: spec.source ?? 'dhcp-a', serverDuid: '0001000100000001' },
    kind,
    at: spec.at ?? T0,
    baseTime: null,
  };
  if (spec.resyncId !== undefined) e.resyncId = spec.resyncId;
  if (spec.scope !== undefined) e.scope = spec.scope;
  return e;
}

export function relay(opts: { relayId?: string; remoteId?: [number, string] } = {}): RelayData {
  const r: RelayData = {
    peerAddress: 'fe80::1',
    hops: [{ hopCount: 0, linkAddress: '2001:db8:1::1', peerAddress: 'fe80::1' }],
  };
  if (opts.relayId) {
    r.relayId = opts.relayId;
    r.hops[0].relayId = opts.relayId;
  }
  if (opts.remoteId) {
    r.remoteId = { enterpriseNumber: opts.remoteId[0], id: opts.remoteId[1] };
    r.hops[0].remoteId = { enterpriseNumber: opts.remoteId[0], id: opts.remoteId[1] };
  }
  return r;
}

/** Feeds events (in the order given) through an engine; returns every interval, open ones last. */
export function history(events: LqEvent[], opts: EngineOptions & { until?: number } = {}): { intervals: Interval[]; engine: IntervalEngine } {
  const intervals: Interval[] = [];
  const engine = new IntervalEngine({ ...opts, onClose: (iv) => intervals.push(iv) });
  events.forEach((e, i) => engine.apply(e, { partition: 0, offset: String(i) }));
  if (opts.until !== undefined) engine.advanceTo(opts.until);
  engine.closeOpen();
  return { intervals, engine };
}

/** Short form of an interval for assertions. */
export function brief(iv: Interval): string {
  const end = iv.end === null ? 'open' : `+${(iv.end - T0) / 1000}s`;
  return `${iv.resource} ${iv.clientId.slice(-2)} +${(iv.start - T0) / 1000}s..${end} ${iv.closeReason} [${iv.sources.join(',')}]`;
}

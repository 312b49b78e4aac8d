// The replica's HTTP face (node:http, a small router of our own): lookups as JSON,
// Prometheus metrics, liveness and readiness.
//
//   GET /v1/bindings?address=A | prefix=P/LEN | client-id=HEX | relay-id=HEX | link=L | remote-id=EN:HEX  [&link=L]
//   GET /metrics   GET /healthz   GET /readyz   GET /v1/status
//
// /v1/bindings selects exactly what the leasequery engine selects (its own
// selectBindings over the same projection) and reports lifetimes and CLT_TIME
// recomputed at the time of the answer, as a LEASEQUERY-REPLY would; bindings with no
// live resource are left out, as a bulk answer leaves them out. Until the replica has
// caught up it answers 503 (see replica.ts on why an incomplete replica stays quiet).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Binding, BindingProvenance } from '../leasequery/view.js';
import { selectBindings } from '../leasequery/server/match.js';
import type { ParsedQuery } from '../leasequery/server/query.js';
import { isActiveAt, lifetimeAt } from '../leasequery/server/reply.js';
import { summarizeRelay } from '../leasequery/requestor/present.js';
import { silentLogger, type Logger } from '../log.js';
import { CONTENT_TYPE, Registry, exponentialBuckets } from '../metrics/index.js';
import { QueryType, dhcpTimeToUnixMs, formatIPv6, parseIPv6, unixMsToDhcpTime } from '../protocol/index.js';
import { createApiServer, type HttpSecurityConfig } from './http-security.js';
import type { Replica } from './replica.js';

export interface ReplicaHttpOptions {
  replica: Replica;
  host?: string;
  port: number;
  logger?: Logger;
  registry?: Registry;
  /** TLS / mTLS and bearer token (http-security.ts); default plain HTTP, open. */
  security?: HttpSecurityConfig;
}

export interface ReplicaHttp {
  readonly port: number;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** A query parameter that does not say what it should. */
class BadRequest extends Error {}

const QUERY_KEYS = ['address', 'prefix', 'client-id', 'relay-id', 'remote-id', 'link'] as const;
type QueryKind = (typeof QUERY_KEYS)[number];

function hexParam(name: string, v: string): Buffer {
  const s = v.replace(/:/g, '').toLowerCase();
  if (s.length === 0 || s.length % 2 !== 0 || !/^[0-9a-f]+$/.test(s)) throw new BadRequest(`${name} must be hex bytes (colons allowed), got "${v}"`);
  return Buffer.from(s, 'hex');
}

function ipv6Param(name: string, v: string): Buffer {
  try {
    return parseIPv6(v);
  } catch {
    throw new BadRequest(`${name} must be an IPv6 address, got "${v}"`);
  }
}

/** The engine's view of a query from URL parameters (exactly one selector; link may restrict the others). */
export function queryFromParams(params: URLSearchParams): { kind: QueryKind; query: ParsedQuery } {
  const given = QUERY_KEYS.filter((k) => params.has(k));
  const selectors = given.filter((k) => k !== 'link');
  if (selectors.length > 1) throw new BadRequest(`give one of address, prefix, client-id, relay-id, remote-id (got ${selectors.join(', ')})`);
  if (selectors.length === 0 && !params.has('link')) throw new BadRequest('give one of address, prefix, client-id, relay-id, link, remote-id');
  const linkText = params.get('link');
  const link = linkText ? ipv6Param('link', linkText) : undefined;
  const base: ParsedQuery = { xid: 0, transport: 'bulk', queryType: 0, requested: new Set<number>(), wantsBaseTime: true };
  if (link && !link.equals(Buffer.alloc(16))) base.link = link;
  const kind = (selectors[0] ?? 'link') as QueryKind;
  const v = params.get(kind) as string;
  switch (kind) {
    case 'address':
      return { kind, query: { ...base, queryType: QueryType.QUERY_BY_ADDRESS, address: ipv6Param('address', v) } };
    case 'prefix': {
      // A delegated prefix is found by any address inside it (RFC 5007 4.1.2.1: QUERY_BY_ADDRESS covers prefixes).
      const [addr] = v.split('/');
      return { kind, query: { ...base, queryType: QueryType.QUERY_BY_ADDRESS, address: ipv6Param('prefix', addr) } };
    }
    case 'client-id':
      return { kind, query: { ...base, queryType: QueryType.QUERY_BY_CLIENTID, clientId: hexParam('client-id', v) } };
    case 'relay-id':
      return { kind, query: { ...base, queryType: QueryType.QUERY_BY_RELAY_ID, relayId: hexParam('relay-id', v) } };
    case 'remote-id': {
      const m = /^(\d+):(.+)$/.exec(v);
      if (!m) throw new BadRequest(`remote-id is ENTERPRISE-NUMBER:HEX, got "${v}"`);
      return { kind, query: { ...base, queryType: QueryType.QUERY_BY_REMOTE_ID, remoteId: { enterpriseNumber: Number(m[1]), remoteId: hexParam('remote-id', m[2]) } } };
    }
    case 'link':
      if (!link) throw new BadRequest('link must not be ::');
      return { kind, query: { ...base, queryType: QueryType.QUERY_BY_LINK_ADDRESS } };
  }
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** One binding as JSON at `now`: what a LEASEQUERY-REPLY would carry, plus absolute instants. */
export function bindingJson(b: Binding, now: number, topic?: string): Record<string, unknown> {
  const res = (until: number, pref: number) => {
    const valid = lifetimeAt(until, now);
    return { preferredLifetime: Math.min(lifetimeAt(pref, now), valid), validLifetime: valid, preferredUntil: iso(pref), validUntil: iso(until) };
  };
  return {
    clientId: b.clientDuid.toString('hex'),
    link: formatIPv6(b.linkAddress),
    addresses: b.addresses.filter((a) => a.validUntil - now >= 1000).map((a) => ({ address: formatIPv6(a.address), ...res(a.validUntil, a.preferredUntil) })),
    prefixes: b.prefixes
      .filter((p) => p.validUntil - now >= 1000)
      .map((p) => ({ prefix: `${formatIPv6(p.prefix)}/${p.length}`, ...res(p.validUntil, p.preferredUntil) })),
    cltTime: Math.max(0, Math.floor(now / 1000) - Math.floor(b.lastTransactionAt / 1000)),
    lastTransactionAt: iso(b.lastTransactionAt),
    changedAt: iso(b.changedAt),
    relay: b.relay ? summarizeRelay(b.relay) : null,
    ...(b.provenance ? { report: reportJson(b.provenance, topic) } : {}),
  };
}

/**
 * The report this answer rests on: its source, its place in lq.events, and its instants
 * in both clocks (the server's base time, and the connector's receive time; they differ
 * by the server's clock offset plus the network delay).
 */
function reportJson(p: BindingProvenance, topic: string | undefined): Record<string, unknown> {
  const serverMs = dhcpTimeToUnixMs(p.baseTime);
  return {
    source: p.source,
    kafka: p.partition === null ? null : { topic: topic ?? null, partition: p.partition, offset: p.offset === null ? null : String(p.offset) },
    phase: p.phase,
    baseTime: p.baseTime,
    cltTime: p.cltTime,
    serverClock: { reportedAt: iso(serverMs), lastTransactionAt: p.cltTime === null ? null : iso(serverMs - p.cltTime * 1000) },
    connectorClock: { receivedAt: iso(p.receivedAt), lastTransactionAt: p.cltTime === null ? null : iso(p.receivedAt - p.cltTime * 1000) },
  };
}

export async function startReplicaHttp(opts: ReplicaHttpOptions): Promise<ReplicaHttp> {
  const { replica } = opts;
  const log = opts.logger ?? silentLogger;
  const registry = opts.registry ?? new Registry();
  const m = replicaMetrics(registry, replica);

  const routes: Record<string, (req: IncomingMessage, url: URL) => { status: number; type: string; body: string }> = {
    '/healthz': () => ({ status: 200, type: 'text/plain', body: 'ok\n' }),
    '/readyz': () => {
      const s = replica.status();
      return { status: s.ready ? 200 : 503, type: 'application/json', body: JSON.stringify({ ready: s.ready, caughtUp: s.caughtUp, connected: s.connected, lag: s.lag }) + '\n' };
    },
    '/metrics': () => ({ status: 200, type: CONTENT_TYPE, body: registry.render() }),
    '/v1/status': () => ({ status: 200, type: 'application/json', body: JSON.stringify({ ...replica.status(), projection: replica.projection.stats() }) + '\n' }),
    '/v1/bindings': (_req, url) => {
      const t0 = performance.now();
      let kind = 'invalid';
      let code = 200;
      try {
        const q = queryFromParams(url.searchParams);
        kind = q.kind;
        if (!replica.status().caughtUp) {
          code = 503;
          return { status: 503, type: 'application/json', body: JSON.stringify({ status: 'NotReady', message: 'replica catching up with lq.events' }) + '\n' };
        }
        const view = replica.projection;
        const now = view.now();
        const bindings: Record<string, unknown>[] = [];
        for (const b of selectBindings(view, q.query)) if (isActiveAt(b, now)) bindings.push(bindingJson(b, now, replica.topic));
        // As a LEASEQUERY-REPLY: Success, with no client data when nobody holds it (the replica
        // does not know the servers' configured ranges, so it never says NotConfigured).
        const status = 'Success';
        const body = {
          status,
          serverDuid: view.serverDuid.toString('hex'),
          // The view clock is the connector's clock (the one that stamped receivedAt);
          // baseTime is the same instant as DHCPv6 time (seconds since 2000-01-01 UTC).
          now: { unixMs: now, iso: iso(now), baseTime: unixMsToDhcpTime(now) },
          // The Kafka position this answer reflects: the next offset per lq.events partition.
          kafka: { topic: replica.topic, positions: replica.status().positions, lag: replica.lag() },
          bindings,
        };
        return { status: 200, type: 'application/json', body: JSON.stringify(body) + '\n' };
      } catch (err) {
        if (!(err instanceof BadRequest)) throw err;
        code = 400;
        return { status: 400, type: 'application/json', body: JSON.stringify({ status: 'MalformedQuery', message: err.message }) + '\n' };
      } finally {
        m.httpQueries.labels(kind, String(code)).inc();
        m.httpLatency.labels(kind).observe((performance.now() - t0) / 1000);
      }
    },
  };

  const server: Server = createApiServer(opts.security, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://replica');
    const route = routes[url.pathname];
    let out: { status: number; type: string; body: string };
    if (!route) out = { status: 404, type: 'text/plain', body: `no route ${url.pathname}\n` };
    else if (req.method !== 'GET' && req.method !== 'HEAD') out = { status: 405, type: 'text/plain', body: 'GET only\n' };
    else {
      try {
        out = route(req, url);
      } catch (err) {
        log.error({ err, url: req.url }, 'http request failed');
        out = { status: 500, type: 'text/plain', body: 'internal error\n' };
      }
    }
    res.writeHead(out.status, { 'content-type': out.type, 'content-length': Buffer.byteLength(out.body) });
    res.end(req.method === 'HEAD' ? undefined : out.body);
  }, { logger: log, registry, metricPrefix: 'lqr_replica_http' });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '::1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Metrics of a replica: projection size, lag, applied records, leasequery and HTTP queries. */
function replicaMetrics(registry: Registry, replica: Replica) {
  const bindings = registry.gauge('lqr_replica_bindings', 'Bindings in the projection (tombstones included)').labels();
  const resources = registry.gauge('lqr_replica_resources', 'Addresses and prefixes in the projection').labels();
  const lag = registry.gauge('lqr_replica_lag_records', 'Records between the applied position and the lq.events end offsets (last poll)').labels();
  const ready = registry.gauge('lqr_replica_ready', '1 when caught up, connected and within the lag bound').labels();
  const connected = registry.gauge('lqr_replica_kafka_connected', '1 when the last end-offset poll reached the brokers').labels();
  const records = registry.counter('lqr_replica_records_total', 'lq.events records consumed, by outcome', ['outcome']);
  const applySeconds = registry.histogram('lqr_replica_batch_apply_seconds', 'Time to apply one fetched batch', [], exponentialBuckets(0.0001, 4, 9)).labels();
  const lqQueries = registry.counter('lqr_replica_leasequery_queries_total', 'Leasequery queries received, by kind', ['kind']);
  const lqReplies = registry.counter('lqr_replica_leasequery_replies_total', 'Leasequery replies, by status code', ['status']);
  const httpQueries = registry.counter('lqr_replica_http_queries_total', 'GET /v1/bindings by query type and HTTP status', ['type', 'code']);
  const httpLatency = registry.histogram('lqr_replica_http_query_seconds', 'GET /v1/bindings latency by query type', ['type'], exponentialBuckets(0.00005, 4, 10));
  replica.onBatchApplied = (_n, ms) => applySeconds.observe(ms / 1000);
  // Counters mirror totals kept elsewhere: add what is new since the last scrape.
  const seen = new Map<string, number>();
  const mirror = (key: string, total: number, inc: (n: number) => void) => {
    const d = total - (seen.get(key) ?? 0);
    if (d > 0) inc(d);
    seen.set(key, total);
  };
  registry.onCollect(() => {
    const s = replica.status();
    lag.set(s.lag);
    ready.set(s.ready ? 1 : 0);
    connected.set(s.connected ? 1 : 0);
    for (const [k, v] of Object.entries(s.records)) if (k !== 'total') mirror(`rec:${k}`, v, (n) => records.labels(k).inc(n));
    if (s.caughtUp || replica.status().snapshot.loadedFrom) {
      const ps = replica.projection.stats();
      bindings.set(ps.bindings);
      resources.set(ps.resources);
    }
    const st = replica.engine?.stats;
    if (st) {
      mirror('lq:udp', st.udpQueries, (n) => lqQueries.labels('udp').inc(n));
      mirror('lq:bulk', st.bulkQueries, (n) => lqQueries.labels('bulk').inc(n));
      mirror('lq:active', st.activeSessions, (n) => lqQueries.labels('active').inc(n));
      for (const [code, v] of Object.entries(st.statuses)) mirror(`st:${code}`, v, (n) => lqReplies.labels(code).inc(n));
    }
  });
  return { httpQueries, httpLatency };
}

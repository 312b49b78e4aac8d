// Prometheus counters of the engine's defences (hostile input and access): datagrams
// from outside the ACL (answered with a bounded NotAllowed, or dropped), rate-limited
// datagrams and connections, refused connections, malformed input. They mirror the
// totals in ServerStats (the engine's own counters), read at each scrape; an engine that
// is replaced (restart) starts again from zero, which the mirror takes as a new series.
import type { Registry } from '../../metrics/index.js';
import type { ServerStats } from './stats.js';

/**
 * Register the counters under `prefix` (e.g. 'lqr_replica_leasequery'); `stats` returns
 * the running engine's counters, or undefined while it is not listening.
 */
export function registerEngineDefenceMetrics(registry: Registry, prefix: string, stats: () => ServerStats | undefined): void {
  const denied = registry.counter(`${prefix}_udp_outside_acl_total`, 'UDP datagrams from sources outside the ACL, by action (answered: NotAllowed no larger than the query; dropped)', ['action']);
  const limited = registry.counter(`${prefix}_rate_limited_total`, 'Dropped by the per-prefix rate limit: UDP datagrams, TCP connections', ['transport']);
  const evictions = registry.counter(`${prefix}_rate_limit_evictions_total`, 'Rate-limit buckets evicted while in use because the bucket table was full').labels();
  const refused = registry.counter(`${prefix}_tcp_refused_total`, 'TCP connections closed at accept, by reason', ['reason']);
  const malformed = registry.counter(`${prefix}_malformed_total`, 'Undecodable UDP datagrams and TCP protocol errors', ['transport']);
  const timeouts = registry.counter(`${prefix}_tcp_timeouts_total`, 'TCP connections closed by BULK_LQ_DATA_TIMEOUT / send timeouts').labels();
  const seen = new Map<string, number>();
  let last: ServerStats | undefined;
  const mirror = (key: string, total: number, inc: (n: number) => void): void => {
    const d = total - (seen.get(key) ?? 0);
    if (d > 0) inc(d);
    seen.set(key, total);
  };
  registry.onCollect(() => {
    const st = stats();
    if (!st) return;
    if (st !== last) {
      // A new engine (restart): its counters start at zero.
      seen.clear();
      last = st;
    }
    mirror('denied-answered', st.udpDeniedAnswered, (n) => denied.labels('answered').inc(n));
    mirror('denied-dropped', st.udpDeniedDropped, (n) => denied.labels('dropped').inc(n));
    mirror('rl-udp', st.udpRateLimited, (n) => limited.labels('udp').inc(n));
    mirror('rl-tcp', st.tcpRateLimited, (n) => limited.labels('tcp').inc(n));
    mirror('evictions', st.rateLimitEvictions, (n) => evictions.inc(n));
    mirror('refused-acl', st.tcpDeniedByAcl, (n) => refused.labels('acl').inc(n));
    mirror('refused-max', st.tcpRefused, (n) => refused.labels('max_connections').inc(n));
    mirror('refused-rate', st.tcpRateLimited, (n) => refused.labels('rate_limit').inc(n));
    mirror('refused-prefix', st.tcpRefusedPerPrefix, (n) => refused.labels('per_prefix').inc(n));
    mirror('malformed-udp', st.udpMalformed, (n) => malformed.labels('udp').inc(n));
    mirror('malformed-tcp', st.tcpProtocolErrors, (n) => malformed.labels('tcp').inc(n));
    mirror('timeouts', st.tcpTimeouts, (n) => timeouts.inc(n));
  });
}

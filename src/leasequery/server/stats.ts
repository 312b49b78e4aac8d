// Counters of a leasequery server, for tests, the lab's admin endpoint and metrics.

export interface ServerStats {
  udpQueries: number;
  udpReplies: number;
  udpDiscarded: number;
  udpMalformed: number;
  /** Datagrams from sources the ACL gives no UDP access at all. */
  udpDenied: number;
  /** ... of which answered NotAllowed (a reply no larger than the datagram). */
  udpDeniedAnswered: number;
  /** ... of which dropped: undecodable, not a LEASEQUERY, or even a bare NotAllowed would be larger than the query. */
  udpDeniedDropped: number;
  /** Datagrams dropped by the per-prefix rate limit. */
  udpRateLimited: number;
  tcpConnections: number;
  tcpRefused: number;
  tcpDeniedByAcl: number;
  /** Connections closed at accept by the per-prefix rate limit. */
  tcpRateLimited: number;
  /** Connections closed at accept because their prefix already held maxConnectionsPerPrefix. */
  tcpRefusedPerPrefix: number;
  /** Rate-limit buckets evicted while in use because the table was full (UDP + TCP). */
  rateLimitEvictions: number;
  tcpProtocolErrors: number;
  tcpTimeouts: number;
  bulkQueries: number;
  bulkBindingsSent: number;
  activeSessions: number;
  activeUpdatesSent: number;
  activeDropped: number;
  activeKeepalives: number;
  tlsHandshakes: number;
  tlsRefused: number;
  /** Most bytes any connection ever had waiting in its socket buffer (back-pressure bound). */
  peakWriteBufferBytes: number;
  /** Replies by status code (UDP and TCP). */
  statuses: Record<number, number>;
}

export function newStats(): ServerStats {
  return {
    udpQueries: 0,
    udpReplies: 0,
    udpDiscarded: 0,
    udpMalformed: 0,
    udpDenied: 0,
    udpDeniedAnswered: 0,
    udpDeniedDropped: 0,
    udpRateLimited: 0,
    tcpConnections: 0,
    tcpRefused: 0,
    tcpDeniedByAcl: 0,
    tcpRateLimited: 0,
    tcpRefusedPerPrefix: 0,
    rateLimitEvictions: 0,
    tcpProtocolErrors: 0,
    tcpTimeouts: 0,
    bulkQueries: 0,
    bulkBindingsSent: 0,
    activeSessions: 0,
    activeUpdatesSent: 0,
    activeDropped: 0,
    activeKeepalives: 0,
    tlsHandshakes: 0,
    tlsRefused: 0,
    peakWriteBufferBytes: 0,
    statuses: {},
  };
}

export function countStatus(stats: ServerStats, status: number): void {
  stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
}

// Counters of a leasequery server, for tests, the lab's admin endpoint and metrics.

export interface ServerStats {
  udpQueries: number;
  udpReplies: number;
  udpDiscarded: number;
  udpMalformed: number;
  tcpConnections: number;
  tcpRefused: number;
  tcpDeniedByAcl: number;
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
    tcpConnections: 0,
    tcpRefused: 0,
    tcpDeniedByAcl: 0,
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

// Configuration of the leasequery server engine, with the RFC defaults.
import type { Logger } from '../../log.js';
import { Defaults } from '../../protocol/index.js';
import type { LeaseView } from '../view.js';
import type { AclRule } from './acl.js';
import type { RateLimitOptions } from './ratelimit.js';

export interface ServerTimers {
  /** BULK_LQ_DATA_TIMEOUT (RFC 5460 section 5.6): a connection stalled reading a query, or blocked while sending, is closed. */
  bulkDataTimeoutMs: number;
  /** ACTIVE_LQ_SEND_TIMEOUT (RFC 7653, "Connection and Transmission Parameters"): an Active requestor that does not read for this long is dropped. */
  activeSendTimeoutMs: number;
  /** ACTIVE_LQ_IDLE_TIMEOUT (same table): after this long without a message, the server sends a keepalive. */
  activeIdleTimeoutMs: number;
}

export const DEFAULT_TIMERS: ServerTimers = {
  bulkDataTimeoutMs: Defaults.BULK_LQ_DATA_TIMEOUT_MS,
  activeSendTimeoutMs: Defaults.ACTIVE_LQ_SEND_TIMEOUT_MS,
  activeIdleTimeoutMs: Defaults.ACTIVE_LQ_IDLE_TIMEOUT_MS,
};

export interface TlsServerConfig {
  /** PEM certificate chain and private key of the server. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA bundle to verify requestor certificates against (with requestCert). */
  ca?: string | Buffer;
  /** Ask requestors for a certificate and refuse the handshake without a valid one. */
  requestCert?: boolean;
}

export interface LeasequeryServerOptions {
  view: LeaseView;
  logger?: Logger;
  /** Address to listen on (default '::1'; '::' for every address, IPv4 included). */
  host?: string;
  /** UDP LEASEQUERY port; omit for no UDP; 0 = an ephemeral port. */
  udpPort?: number;
  /** TCP Bulk/Active Leasequery port; omit for no TCP; 0 = an ephemeral port. */
  tcpPort?: number;
  /** Access control; default loopback only (see acl.ts). */
  acl?: readonly AclRule[];
  /** RFC 5007 section 4.4.2 "sensitive options": never returned, even when requested. */
  sensitiveOptions?: readonly number[];
  timers?: Partial<ServerTimers>;
  /** BULK_LQ_MAX_CONNS (RFC 5460 section 5.6; RFC 7653 applies it to Active connections too). */
  maxConnections?: number;
  /**
   * Open connections one source prefix may hold (prefix lengths of `rateLimit`, default
   * /64 and /32): without it, one requestor's idle or slow connections can take every
   * BULK_LQ_MAX_CONNS slot. Default: no per-prefix limit.
   */
  maxConnectionsPerPrefix?: number;
  /**
   * Per Active Leasequery connection, how many distinct bindings may wait for the socket
   * (changes of one binding coalesce: RFC 7653 "Information Communicated by Active Leasequery" only requires the current state).
   * A requestor that falls further behind is dropped.
   */
  maxPendingUpdates?: number;
  /** Queries read ahead on one connection before the server stops reading (RFC 5460 section 7.3). */
  maxQueuedQueries?: number;
  /** STARTTLS (RFC 7653 "Using TLS"); without it STARTTLS gets TLSConnectionRefused. */
  tls?: TlsServerConfig;
  /** Refuse queries on TCP connections that did not negotiate TLS (NotAllowed). */
  requireTls?: boolean;
  /**
   * Token buckets per source prefix for UDP queries and new TCP connections (see
   * ratelimit.ts). Default: no rate limit (the ACL decides who may ask at all).
   */
  rateLimit?: RateLimitOptions;
}

export interface ResolvedOptions {
  host: string;
  timers: ServerTimers;
  maxConnections: number;
  maxPendingUpdates: number;
  maxQueuedQueries: number;
  sensitive: ReadonlySet<number>;
}

export function resolveOptions(o: LeasequeryServerOptions): ResolvedOptions {
  const timers = { ...DEFAULT_TIMERS, ...o.timers };
  const pp = o.maxConnectionsPerPrefix;
  if (pp !== undefined && !(Number.isInteger(pp) && pp >= 1)) throw new RangeError(`maxConnectionsPerPrefix must be a positive integer, got ${String(pp)}`);
  for (const [k, v] of Object.entries(timers)) {
    if (!(typeof v === 'number' && v > 0)) throw new RangeError(`timer ${k} must be a positive number of ms, got ${String(v)}`);
  }
  return {
    host: o.host ?? '::1',
    timers,
    maxConnections: o.maxConnections ?? Defaults.BULK_LQ_MAX_CONNS,
    maxPendingUpdates: o.maxPendingUpdates ?? 100_000,
    maxQueuedQueries: o.maxQueuedQueries ?? 16,
    sensitive: new Set(o.sensitiveOptions ?? []),
  };
}

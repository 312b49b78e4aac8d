// The session's view of the requestor library (src/leasequery/requestor): a TCP
// connection on which Bulk and Active Leasequeries run. Production uses
// RequestorConnection; unit tests of the state machine plug in a scripted fake.
import { readFileSync } from 'node:fs';
import type { SessionConfig, SourceConfig } from '../config/index.js';
import {
  RequestorConnection,
  type ActiveEvent,
  type BulkEvent,
  type QueryExtras,
  type QuerySpec,
  type RequestorTlsOptions,
  type TcpRequestorOptions,
} from '../leasequery/index.js';
import { parseIPv6 } from '../protocol/index.js';

export interface LeasequeryLink {
  /** 'on' after STARTTLS, 'refused' when the server refused and the policy allowed clear text. */
  readonly tlsState: 'none' | 'on' | 'refused';
  active(spec?: QuerySpec, extras?: QueryExtras): AsyncIterableIterator<ActiveEvent>;
  bulk(spec: QuerySpec, extras?: QueryExtras): AsyncIterableIterator<BulkEvent>;
  close(): void;
}

export type Connect = (opts: TcpRequestorOptions) => Promise<LeasequeryLink>;

/** The production connect: TCP, then STARTTLS when configured (RFC 7653 "Using TLS"). */
export const connectRequestor: Connect = (opts) => RequestorConnection.connect(opts);

/** Requestor options of one source (TLS files are read here, once per session). */
export function requestorOptions(source: SourceConfig, session: SessionConfig, requestorDuid?: Buffer): TcpRequestorOptions {
  let tls: RequestorTlsOptions | undefined;
  if (source.tls) {
    const t = source.tls;
    tls = {
      policy: t.mode,
      ca: t.caFile ? readFileSync(t.caFile) : undefined,
      cert: t.certFile ? readFileSync(t.certFile) : undefined,
      key: t.keyFile ? readFileSync(t.keyFile) : undefined,
      servername: t.servername,
      rejectUnauthorized: t.rejectUnauthorized,
    };
  }
  return {
    host: source.host,
    port: source.port,
    requestorDuid,
    tls,
    connectTimeoutMs: session.connectTimeoutMs,
    activeRcvTimeoutMs: session.activeRcvTimeoutMs,
    bulkDataTimeoutMs: session.bulkDataTimeoutMs,
  };
}

/** The OPTION_LQ_QUERY of the source's ACTIVELEASEQUERY; undefined = every binding change. */
export function activeQuerySpec(source: SourceConfig): QuerySpec | undefined {
  const q = source.query;
  if (!q) return undefined;
  const link = 'link' in q && q.link !== undefined ? parseIPv6(q.link) : undefined;
  switch (q.type) {
    case 'relay-id':
      return { type: 'relay-id', relayId: Buffer.from(q.relayId, 'hex'), link };
    case 'link':
      return { type: 'link', link: parseIPv6(q.link) };
    case 'remote-id':
      return { type: 'remote-id', enterpriseNumber: q.enterpriseNumber, remoteId: Buffer.from(q.remoteId, 'hex'), link };
  }
}

// The requestor library: UDP LEASEQUERY, and Bulk and Active Leasequery over TCP.
// One implementation for the connector and `lqr query`.
import { RequestorConnection, type TcpRequestorOptions } from './connection.js';
import type { ActiveEvent, BulkEvent } from './events.js';
import type { QueryExtras, QuerySpec } from './query.js';

export { RequestorConnection, type RequestorTlsOptions, type TcpRequestorOptions } from './connection.js';
export { udpLeasequery, LQ_MAX_RC, LQ_MAX_RT_MS, LQ_TIMEOUT_MS, type UdpLeasequeryOptions, type UdpLeasequeryResult } from './udp.js';
export { RequestorError, type RequestorErrorCode } from './errors.js';
export type { ActiveEvent, BindingEvent, BulkEvent, DoneEvent, Phase } from './events.js';
export { readClientData, clientDataBytes, type ReportedAddress, type ReportedBinding, type ReportedPrefix } from './client-data.js';
export { buildActiveLeasequery, buildLeasequery, buildStartTls, queryTypeOf, type QueryExtras, type QuerySpec } from './query.js';
export { defaultRequestorDuid } from './identity.js';

/** One Bulk Leasequery on its own connection (closed when the answer ends or iteration stops). */
export async function* bulkLeasequery(opts: TcpRequestorOptions, spec: QuerySpec, extras?: QueryExtras): AsyncGenerator<BulkEvent> {
  const conn = await RequestorConnection.connect(opts);
  try {
    yield* conn.bulk(spec, extras);
  } finally {
    conn.close();
  }
}

/** One Active Leasequery on its own connection (closed when iteration stops). */
export async function* activeLeasequery(opts: TcpRequestorOptions, spec?: QuerySpec, extras?: QueryExtras): AsyncGenerator<ActiveEvent> {
  const conn = await RequestorConnection.connect(opts);
  try {
    yield* conn.active(spec, extras);
  } finally {
    conn.close();
  }
}

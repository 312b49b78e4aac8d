// Failures of a leasequery exchange that are not a status from the server (those are
// results: the server answered). The CLI maps `code` to exit codes.

export type RequestorErrorCode =
  /** No (complete) answer in time: RFC 5007 LQ_MAX_RC exhausted, BULK_LQ_DATA_TIMEOUT, ACTIVE_LQ_RCV_TIMEOUT, connect timeout. */
  | 'timeout'
  /** The TCP connection could not be made (ECONNREFUSED, unreachable, ...). */
  | 'refused'
  /** The connection closed before the query's answer was complete. */
  | 'closed'
  /** TLS was required and the server answered TLSConnectionRefused. */
  | 'tls-refused'
  /** The TLS handshake failed (certificate not trusted, name mismatch, ...). */
  | 'tls-failed'
  /** The server sent something the protocol does not allow here. */
  | 'protocol';

export class RequestorError extends Error {
  constructor(
    readonly code: RequestorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RequestorError';
  }
}

// Typed errors of the audit tools: each says what was wrong and what to do. The CLI
// maps `code` to an exit status (src/cli/commands/audit.ts).

export type AuditErrorCode =
  /** An instant that is not ISO 8601 with a zone, nor Unix milliseconds. */
  | 'bad-instant'
  /** A duration that is not "<n>[ms|s|m|h|d]" or "all". */
  | 'bad-duration'
  /** An IPv6 address or prefix that does not parse. */
  | 'bad-resource'
  /** Another malformed argument (hex, remote-id, range). */
  | 'bad-argument'
  /** The brokers did not answer within the bound. */
  | 'unreachable'
  /** Reading made no progress within the bound. */
  | 'stalled'
  /** A topic that does not exist or cannot be used as asked. */
  | 'topic';

export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditError';
  }
}

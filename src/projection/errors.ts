// Typed errors of the projection: what was wrong, where, and what to do about it.

/** A binding or source event that `apply` cannot take (bad address text, oversized DUID...). */
export class ProjectionInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionInputError';
  }
}

export type SnapshotErrorReason = 'io' | 'magic' | 'version' | 'truncated' | 'checksum' | 'format';

/**
 * A snapshot that cannot be loaded. Thrown before the live tables are touched: a
 * projection either loads a whole snapshot or keeps what it had.
 */
export class SnapshotError extends Error {
  constructor(
    readonly reason: SnapshotErrorReason,
    readonly path: string,
    message: string,
  ) {
    super(`snapshot ${path}: ${message}`);
    this.name = 'SnapshotError';
  }
}

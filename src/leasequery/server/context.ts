// What a query handler (bulk.ts, active.ts) sees of the TCP connection it runs on.
import type { Logger } from '../../log.js';
import type { LeaseView } from '../view.js';
import type { ResolvedOptions } from './options.js';
import type { ServerStats } from './stats.js';
import type { FramedWriter } from './writer.js';

export interface ConnectionContext {
  readonly id: number;
  readonly view: LeaseView;
  readonly writer: FramedWriter;
  readonly logger: Logger;
  readonly opts: ResolvedOptions;
  readonly stats: ServerStats;
  /** The server is shutting down: in-progress queries end with QueryTerminated. */
  readonly terminating: boolean;
  readonly closed: boolean;
  /** Flush what was written, then close (RFC 5460 section 7.4). */
  end(reason: string): void;
  /** Close at once (a peer that stopped reading, a protocol violation). */
  destroy(reason: string): void;
}

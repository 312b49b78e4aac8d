// Errors of `lqr start` meant for the person at the terminal: each names what failed
// and what to do about it, and is printed without a stack trace.
export type DemoErrorCode =
  /** A port given on the command line (or needed) is taken, or the address cannot be bound. */
  | 'PORT'
  /** The --config file is not valid (the message names each bad field by its path). */
  | 'CONFIG'
  /** No local Kafka could be started (no Java, Maven failed, the broker died, ...). */
  | 'KAFKA_START'
  /** The Kafka cluster does not answer, or refuses the topics. */
  | 'KAFKA'
  /** The data directory cannot be used. */
  | 'DATA_DIR'
  /** A component did not come up (lab server, connector, replica). */
  | 'STARTUP'
  /** The start was interrupted (Ctrl-C, SIGTERM) before everything was ready. */
  | 'INTERRUPTED';

export class DemoError extends Error {
  constructor(
    readonly code: DemoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DemoError';
  }
}

/** The message of anything thrown, without its stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

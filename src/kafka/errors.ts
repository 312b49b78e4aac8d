// Typed errors of the Kafka layer. Callers never see kafkajs's error classes: every
// failure that leaves src/kafka is one of these (the kafkajs error is kept as `cause`).

/** Base class of every error thrown by src/kafka. */
export class KafkaLayerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaLayerError';
  }
}

/**
 * Another producer with the same transactional id has started (its InitProducerId
 * bumped the epoch): this instance is a zombie and must stop producing. Not
 * retriable; the only way on is a new producer (which in turn fences whoever
 * holds the id then).
 */
export class ProducerFencedError extends KafkaLayerError {
  constructor(
    readonly transactionalId: string,
    options?: { cause?: unknown },
  ) {
    super(`producer with transactional id "${transactionalId}" was fenced by a newer instance with the same id`, options);
    this.name = 'ProducerFencedError';
  }
}

/** A transaction failed and was aborted (nothing of it is visible to read_committed readers). */
export class TransactionAbortedError extends KafkaLayerError {
  constructor(
    readonly transactionalId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`transaction of "${transactionalId}" aborted: ${message}`, options);
    this.name = 'TransactionAbortedError';
  }
}

/** An existing topic does not have the configuration this project requires. */
export class TopicConfigMismatchError extends KafkaLayerError {
  constructor(
    readonly topic: string,
    readonly setting: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`topic "${topic}" exists with ${setting}=${actual}, but ${setting}=${expected} is required`);
    this.name = 'TopicConfigMismatchError';
  }
}

/** A topic that must exist does not. */
export class TopicNotFoundError extends KafkaLayerError {
  constructor(readonly topic: string) {
    super(`topic "${topic}" does not exist`);
    this.name = 'TopicNotFoundError';
  }
}

/** A Kafka operation failed (connection, protocol or timeout); `retriable` as kafkajs judged it. */
export class KafkaOperationError extends KafkaLayerError {
  constructor(
    readonly operation: string,
    message: string,
    readonly retriable: boolean,
    readonly kafkaErrorType: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
    this.name = 'KafkaOperationError';
  }
}

/** Something did not happen within its bound (e.g. a catch-up read did not reach its end offsets). */
export class KafkaTimeoutError extends KafkaLayerError {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaTimeoutError';
  }
}

// Broker error types (kafkajs `type`) that mean "a newer producer owns this transactional id".
// Requests at the versions kafkajs speaks get INVALID_PRODUCER_EPOCH (47); newer versions
// (KIP-588) answer PRODUCER_FENCED (90), which kafkajs 2.2.4 does not name, so its code is
// checked as well.
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
const FENCED_CODES = new Set([47, 90]);

interface ErrorLike {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  message?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

/** Every error in a kafkajs error's chain (`cause`, `originalError`, aggregated `errors`). */
function* errorChain(err: unknown, depth = 0): Generator<ErrorLike> {
  if (err === null || typeof err !== 'object' || depth > 8) return;
  const e = err as ErrorLike;
  yield e;
  yield* errorChain(e.originalError, depth + 1);
  yield* errorChain(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* errorChain(inner, depth + 1);
}

/** The broker error type (e.g. "INVALID_PRODUCER_EPOCH") somewhere in a kafkajs error's chain. */
export function kafkaErrorType(err: unknown): string | undefined {
  for (const e of errorChain(err)) if (typeof e.type === 'string') return e.type;
  return undefined;
}

/** True when the error (or one it wraps) says this producer was fenced. */
export function isFencingError(err: unknown): boolean {
  for (const e of errorChain(err)) {
    if (e instanceof ProducerFencedError) return true;
    if (typeof e.type === 'string' && FENCED_TYPES.has(e.type)) return true;
    if (typeof e.code === 'number' && FENCED_CODES.has(e.code) && typeof e.type === 'string') return true;
  }
  return false;
}

/** Map anything thrown by kafkajs to this layer's typed errors. Errors already typed pass through. */
export function mapKafkaError(operation: string, err: unknown): KafkaLayerError {
  if (err instanceof KafkaLayerError) return err;
  const top = (err ?? {}) as ErrorLike;
  const message = typeof top.message === 'string' ? top.message : String(err);
  const retriable = top.retriable === true;
  return new KafkaOperationError(operation, message, retriable, kafkaErrorType(err), { cause: err });
}

/**
 * The commit request failed in a way that leaves its outcome unknown (e.g. a timeout
 * after EndTxn was sent): the transaction may or may not become visible. The producer
 * re-initializes before its next transaction (which completes or aborts whatever the
 * coordinator holds); the caller learns the truth by reading back what it wrote
 * (for the connector: its resume point in lq.sources).
 */
export class TransactionOutcomeUnknownError extends KafkaLayerError {
  constructor(
    readonly transactionalId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`commit of a transaction of "${transactionalId}" has an unknown outcome: ${message}`, options);
    this.name = 'TransactionOutcomeUnknownError';
  }
}

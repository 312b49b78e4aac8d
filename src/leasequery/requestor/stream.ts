// The answer stream of one query on a TCP connection, as an async iterable with a
// bounded buffer: when the consumer stops pulling, the buffer fills and the connection
// stops reading the socket (TCP then slows the server down), so a slow consumer (a slow
// Kafka, later) costs no memory beyond `highWater` events.

export interface StreamHost {
  /** The stream's buffer crossed the high-water mark (pause) or drained below the low one (resume). */
  onPressure(): void;
  /** The consumer abandoned the stream before its end. */
  onAbandon(stream: EventStream<unknown>): void;
}

export class EventStream<E> implements AsyncIterableIterator<E> {
  private readonly buffer: E[] = [];
  private head = 0;
  /** Pending next() calls, oldest first (an async iterator may be called again before it settles). */
  private readonly waiters: { resolve: (r: IteratorResult<E>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private failure?: unknown;
  /** The last event has been received (it may not have been consumed yet). */
  complete = false;

  constructor(
    private readonly host: StreamHost,
    readonly highWater: number,
  ) {}

  get buffered(): number {
    return this.buffer.length - this.head;
  }

  get overHighWater(): boolean {
    return this.buffered >= this.highWater;
  }

  get underLowWater(): boolean {
    return this.buffered <= this.highWater >>> 1;
  }

  /** Deliver an event (from the connection's reader). */
  push(e: E): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) {
      w.resolve({ value: e, done: false });
      return;
    }
    this.buffer.push(e);
  }

  /** No more events after those buffered. */
  end(): void {
    this.complete = true;
    this.ended = true;
    if (this.buffered === 0) for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Fail after the buffered events (connection lost, timeout). No-op once complete. */
  fail(err: unknown): void {
    if (this.ended) return;
    this.failure = err;
    this.ended = true;
    if (this.buffered === 0 && this.waiters.length > 0) {
      this.failure = undefined;
      for (const w of this.waiters.splice(0)) w.reject(err);
    }
  }

  next(): Promise<IteratorResult<E>> {
    if (this.buffered > 0) {
      const e = this.buffer[this.head];
      this.buffer[this.head++] = undefined as unknown as E;
      if (this.head > 1024 && this.head * 2 > this.buffer.length) {
        this.buffer.splice(0, this.head);
        this.head = 0;
      }
      this.host.onPressure();
      return Promise.resolve({ value: e, done: false });
    }
    if (this.ended) {
      if (this.failure !== undefined) {
        const f = this.failure;
        this.failure = undefined;
        return Promise.reject(f);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<E>> {
    const abandoned = !this.complete;
    this.ended = true;
    this.complete = true;
    this.failure = undefined;
    this.buffer.length = 0;
    this.head = 0;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
    if (abandoned) this.host.onAbandon(this as EventStream<unknown>);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<E> {
    return this;
  }
}

// The bounded queue between one source's session and the publisher. Capacity counts
// the items queued AND those taken into a Kafka transaction that has not committed
// yet, so memory per source is bounded by `capacity` whatever Kafka does. When it is
// full, push() returns a promise and the session awaits it instead of pulling more
// from its requestor stream, which then stops reading the socket (back-pressure all
// the way to the DHCPv6 server).
//
// With hundreds of sources, per-source bounds alone would let memory grow with the
// number of sources; a QueueBudget shared by all queues bounds the total as well. A
// source below its small reserve may always push, so a busy source that filled the
// shared budget never stops a quiet one (its events still go out in the publisher's
// round-robin).

/** The room shared by every source's queue. */
export class QueueBudget {
  used = 0;
  private readonly queues = new Set<SourceQueue<unknown>>();

  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.used >= this.limit;
  }

  /** @internal */
  attach(q: SourceQueue<unknown>): void {
    this.queues.add(q);
  }

  /** @internal A closed queue no longer waits for room. */
  detach(q: SourceQueue<unknown>): void {
    this.queues.delete(q);
  }

  /** @internal Room came back: let waiting queues re-check. */
  released(): void {
    for (const q of this.queues) q.wakeWaiters();
  }
}

export class QueueClosedError extends Error {
  constructor(reason: string) {
    super(`source queue closed: ${reason}`);
    this.name = 'QueueClosedError';
  }
}

export class SourceQueue<T> {
  private items: T[] = [];
  private head = 0;
  private inFlight = 0;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed?: QueueClosedError;

  /** Called when an item is pushed into an empty queue (the publisher's wake-up). */
  onReadable?: () => void;

  constructor(
    readonly capacity: number,
    private readonly budget?: QueueBudget,
    /** Items a source may always have, whatever the shared budget says. */
    private readonly reserve = Math.min(256, capacity),
  ) {
    budget?.attach(this as SourceQueue<unknown>);
  }

  private hasRoom(): boolean {
    if (this.used >= this.capacity) return false;
    return !this.budget?.full || this.used < this.reserve;
  }

  /** Items waiting to be taken. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Items queued plus items in an uncommitted transaction. */
  get used(): number {
    return this.length + this.inFlight;
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /**
   * Add an item. Returns undefined when there is room for more (the common case: no
   * promise, no microtask), else a promise that resolves once there is room again.
   * Rejects with QueueClosedError once the queue is closed.
   */
  push(item: T): Promise<void> | undefined {
    if (this.closed) return Promise.reject(this.closed);
    this.items.push(item);
    if (this.budget) this.budget.used++;
    if (this.length === 1) this.onReadable?.();
    if (this.hasRoom()) return undefined;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Up to `max` items, oldest first, moved in flight (they keep their capacity until release()). */
  take(max: number): T[] {
    const n = Math.min(max, this.length);
    if (n <= 0) return [];
    const out = this.items.slice(this.head, this.head + n);
    this.head += n;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.inFlight += n;
    return out;
  }

  /** The oldest item, moved in flight; undefined when none waits. */
  takeOne(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.inFlight++;
    return item;
  }

  /** Look at the oldest waiting item without taking it. */
  peek(): T | undefined {
    return this.length > 0 ? this.items[this.head] : undefined;
  }

  /** `n` items taken earlier were committed (or dropped): their room is free again. */
  release(n: number): void {
    const k = Math.min(n, this.inFlight);
    this.inFlight -= k;
    if (this.budget) {
      this.budget.used -= k;
      this.budget.released();
    } else this.wakeWaiters();
  }

  /** Drop everything, reject every waiting push, refuse further pushes. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = new QueueClosedError(reason);
    const held = this.used;
    this.items = [];
    this.head = 0;
    this.inFlight = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.reject(this.closed);
    if (this.budget) {
      this.budget.used -= held;
      this.budget.detach(this as SourceQueue<unknown>);
      this.budget.released();
    }
  }

  /** @internal Resolve waiting pushes while there is room. */
  wakeWaiters(): void {
    while (this.waiters.length > 0 && this.hasRoom()) this.waiters.shift()?.resolve();
  }
}

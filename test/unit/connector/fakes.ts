// Fakes of the connector's seams for unit tests: a scripted leasequery link (what
// RequestorConnection offers the session), a transaction sink that keeps what was
// committed, and builders of requestor events.
import type { ActiveEvent, BulkEvent, QueryExtras, QuerySpec } from '../../../src/leasequery/index.js';
import type { ProducerRecord } from '../../../src/kafka/index.js';
import type { LeasequeryLink } from '../../../src/connector/index.js';
import type { TransactionSink } from '../../../src/connector/index.js';
import type { ClientDataOption, ClientServerMessage } from '../../../src/protocol/index.js';
import { parseIPv6 } from '../../../src/protocol/index.js';

/** An async iterable fed from outside: push events, then end or fail it. */
export class Channel<T> implements AsyncIterableIterator<T> {
  private buf: T[] = [];
  private waiter?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private ended = false;
  private failure?: unknown;
  pulled = 0;

  push(...xs: T[]): void {
    for (const x of xs) {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve({ value: x, done: false });
      } else this.buf.push(x);
    }
  }
  end(): void {
    this.ended = true;
    this.waiter?.resolve({ value: undefined, done: true });
    this.waiter = undefined;
  }
  fail(err: unknown): void {
    if (this.ended) return;
    this.failure = err;
    this.ended = true;
    this.waiter?.reject(err);
    this.waiter = undefined;
  }
  get buffered(): number {
    return this.buf.length;
  }
  next(): Promise<IteratorResult<T>> {
    if (this.buf.length > 0) {
      this.pulled++;
      return Promise.resolve({ value: this.buf.shift() as T, done: false });
    }
    if (this.ended) return this.failure !== undefined ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = {
        resolve: (r) => {
          if (!r.done) this.pulled++;
          resolve(r);
        },
        reject,
      };
    });
  }
  return(): Promise<IteratorResult<T>> {
    this.ended = true;
    return Promise.resolve({ value: undefined, done: true });
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

export interface ActiveCall {
  spec?: QuerySpec;
  extras?: QueryExtras;
  stream: Channel<ActiveEvent>;
}
export interface BulkCall {
  spec: QuerySpec;
  extras?: QueryExtras;
  stream: Channel<BulkEvent>;
}

/** A connection whose answers the test writes. */
export class FakeLink implements LeasequeryLink {
  tlsState: 'none' | 'on' | 'refused' = 'none';
  closed = false;
  readonly activeCalls: ActiveCall[] = [];
  readonly bulkCalls: BulkCall[] = [];
  /** Called for each bulk query: script its answer on the channel (default: an empty answer). */
  onBulk: (call: BulkCall) => void = (c) => {
    c.stream.push(done(0));
    c.stream.end();
  };
  onActive: (call: ActiveCall) => void = () => undefined;

  active(spec?: QuerySpec, extras?: QueryExtras): AsyncIterableIterator<ActiveEvent> {
    const call = { spec, extras, stream: new Channel<ActiveEvent>() };
    this.activeCalls.push(call);
    this.onActive(call);
    return call.stream;
  }
  bulk(spec: QuerySpec, extras?: QueryExtras): AsyncIterableIterator<BulkEvent> {
    const call = { spec, extras, stream: new Channel<BulkEvent>() };
    this.bulkCalls.push(call);
    this.onBulk(call);
    return call.stream;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = Object.assign(new Error('the connection was closed by the requestor'), { code: 'closed' });
    for (const c of this.activeCalls) c.stream.fail(err);
    for (const c of this.bulkCalls) c.stream.fail(err);
  }
}

const MESSAGE: ClientServerMessage = { kind: 'client-server', msgType: 17, transactionId: 1, options: [] };

/** OPTION_CLIENT_DATA of client `n` holding one address on link 2001:db8:<link>::/64. */
export function clientData(n: number, opts: { link?: number; valid?: number; clt?: number; released?: boolean } = {}): ClientDataOption {
  const duid = Buffer.from([0, 3, 0, 1, 2, 0, 0, 0, (n >> 8) & 0xff, n & 0xff]);
  const link = opts.link ?? 1;
  const options: ClientDataOption['options'] = [{ name: 'clientId', code: 1, duid }];
  if (!opts.released) {
    options.push({ name: 'iaAddr', code: 5, address: parseIPv6(`2001:db8:${link}::${(n + 1).toString(16)}`), preferredLifetime: 1800, validLifetime: opts.valid ?? 3600, options: [] });
  }
  options.push({ name: 'cltTime', code: 46, seconds: opts.clt ?? 0 });
  options.push({
    name: 'lqRelayData',
    code: 47,
    peerAddress: parseIPv6(`fd00::${link}`),
    relayMessage: {
      kind: 'relay',
      msgType: 12,
      hopCount: 0,
      linkAddress: parseIPv6(`2001:db8:${link}::1`),
      peerAddress: parseIPv6('fe80::1'),
      options: [{ name: 'relayId', code: 53, duid: Buffer.from(`relay-${link}`) }],
    },
  });
  return { name: 'clientData', code: 45, options };
}

export function binding(n: number, phase: 'bulk' | 'catch-up' | 'live', baseTime: number | undefined, receivedAt = 1_700_000_000_000, opts: Parameters<typeof clientData>[1] = {}): ActiveEvent & BulkEvent {
  const cd = clientData(n, opts);
  return {
    kind: 'binding',
    phase,
    binding: { addresses: [], prefixes: [], options: cd.options },
    clientData: cd,
    raw: () => Buffer.alloc(0),
    message: MESSAGE,
    baseTime,
    receivedAt,
  } as ActiveEvent & BulkEvent;
}

export const done = (status: number, baseTime = 100, statusMessage = ''): ActiveEvent & BulkEvent =>
  ({ kind: 'done', status, statusMessage, baseTime, receivedAt: 1_700_000_000_000, serverDuid: Buffer.from('000100010000000102005e005300', 'hex') }) as ActiveEvent & BulkEvent;
export const accepted = (baseTime = 100): ActiveEvent => ({ kind: 'accepted', baseTime, receivedAt: 1_700_000_000_000, serverDuid: Buffer.from('000100010000000102005e005300', 'hex') });
export const catchUpComplete = (baseTime: number): ActiveEvent => ({ kind: 'catch-up-complete', baseTime, receivedAt: 1_700_000_000_000 });
export const dataMissing = (baseTime: number): ActiveEvent => ({ kind: 'data-missing', baseTime, statusMessage: 'no history', receivedAt: 1_700_000_000_000 });
export const keepalive = (baseTime: number): ActiveEvent => ({ kind: 'keepalive', baseTime, receivedAt: 1_700_000_000_000 });

/** A sink that commits into memory; `fail` makes the next commits throw. */
export class MemorySink implements TransactionSink {
  readonly transactions: ProducerRecord[][] = [];
  fail?: Error;
  /** Resolve commits only when released (to hold a transaction "in flight"). */
  hold = false;
  private held: (() => void)[] = [];
  closed = false;

  async commit(records: ReadonlyArray<ProducerRecord>): Promise<void> {
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.fail) throw this.fail;
    this.transactions.push([...records]);
  }
  release(): void {
    const h = this.held;
    this.held = [];
    for (const r of h) r();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  records(topic?: string): ProducerRecord[] {
    return this.transactions.flat().filter((r) => topic === undefined || r.topic === topic);
  }
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond` holds (polling the event loop), or fail after `ms`. */
export async function until(cond: () => boolean, ms = 2_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await tick(2);
  }
}

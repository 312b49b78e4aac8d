// The replica (issue 6): the projection of lq.events, kept current from Kafka, served
// by the leasequery engine (UDP, Bulk, Active) and over HTTP.
//
// Life cycle:
//   start()  load the newest good snapshot (a bad one is skipped with a warning), then
//            consume lq.events read_committed from the snapshot's offsets (or the
//            earliest) in the background; periodic snapshots and expiry.
//   ready    every partition has been applied up to the end offsets observed when
//            consumption (re)started, the broker answers, and the lag stays small.
//   stop()   close the listeners, stop consuming, write a last snapshot.
//
// Until the first catch-up the leasequery listeners stay CLOSED (see openListeners):
// a replica that has read half the topic would answer "no binding" for a client it
// simply has not read yet, and that answer cannot be told from a true one. A closed
// port makes RFC 5007/5460 requestors fail over at once (ICMP port unreachable / TCP
// RST) to a server that knows. Once caught up the replica keeps answering even when
// the broker goes away (its state is the last committed one, and a leasequery answer
// carries the times a requestor needs to judge it); /readyz then says false so an
// operator's load balancer can prefer a current replica.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KafkaAdmin, TopicReader, type KafkaSettings, type ReadBatch } from '../kafka/index.js';
import { LeasequeryServer, type LeasequeryServerOptions, type ListeningAddresses } from '../leasequery/server/index.js';
import { silentLogger, type Logger } from '../log.js';
import { Projection, SnapshotStore, decodeEventFast, type SnapshotOffset } from '../projection/index.js';
import { kafkaHistory } from './history.js';
import { loadOrCreateServerDuid } from './identity.js';

export interface ReplicaOptions {
  kafka: KafkaSettings;
  /** lq.events topic (default: kafka.topics.events.name). */
  topic?: string;
  /** Snapshots and the server DUID live here. */
  dataDir: string;
  /** OPTION_SERVERID of the replies; default: generated once and kept in dataDir. */
  serverDuid?: Buffer;
  /** Address the leasequery listeners bind (default '::1'). */
  host?: string;
  /** UDP LEASEQUERY port (0 = ephemeral; omit for none). */
  udpPort?: number;
  /** TCP Bulk/Active Leasequery port (0 = ephemeral; omit for none). */
  tcpPort?: number;
  /** Further engine options (acl, timers, tls, ...). */
  engine?: Omit<LeasequeryServerOptions, 'view' | 'host' | 'udpPort' | 'tcpPort' | 'logger'>;
  /** Time between snapshots, ms (default 5 min; 0 = only on stop). */
  snapshotIntervalMs?: number;
  /** Snapshots kept (default 3). */
  snapshotKeep?: number;
  /** Time between expiry passes, ms (default 1 s). */
  expireIntervalMs?: number;
  /** Time between end-offset polls (lag, broker health), ms (default 1 s). */
  lagPollMs?: number;
  /** Records behind the topic end a caught-up replica may be and stay ready (default 10_000). */
  readyMaxLag?: number;
  /** Reconnect backoff bounds, ms (default 500 .. 30_000). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** The projection's clock (default Date.now: the connector's clock, which stamps the events). */
  clock?: () => number;
  logger?: Logger;
  /** Test hook: awaited before each batch is applied (hold the replica "catching up"). */
  beforeBatch?: (batch: ReadBatch) => Promise<void> | void;
}

export interface ReplicaStatus {
  ready: boolean;
  caughtUp: boolean;
  connected: boolean;
  /** Records between what was applied and the topic end (last poll). */
  lag: number;
  /** Next offset to read per partition. */
  positions: Record<string, string>;
  /** Topic end offsets at the last poll. */
  endOffsets: Record<string, string>;
  lastEndPollAt: number | null;
  snapshot: { loadedFrom: string | null; lastWrittenAt: number | null; lastPath: string | null };
  records: { applied: number; stale: number; duplicate: number; noted: number; invalid: number; total: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Replica {
  readonly topic: string;
  private projectionRef?: Projection;
  private serverDuidRef?: Buffer;
  private readonly log: Logger;
  private readonly store: SnapshotStore;
  private server?: LeasequeryServer;
  private reader?: TopicReader;
  private admin?: KafkaAdmin;
  private stopped = false;
  private loop?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  /** Next offset to read per partition (what has been applied, control records included). */
  private next = new Map<number, bigint>();
  private ends = new Map<number, bigint>();
  /** End offsets to reach before the first "caught up" of this connection. */
  private target?: Map<number, bigint>;
  private caughtUpOnce = false;
  private connectedFlag = false;
  private lastEndPollAt: number | null = null;
  private loadedFrom: string | null = null;
  private lastSnapshot: { at: number | null; path: string | null } = { at: null, path: null };
  private snapshotting?: Promise<void>;
  private readyWaiters: (() => void)[] = [];
  readonly counts = { applied: 0, stale: 0, duplicate: 0, noted: 0, invalid: 0, total: 0 };
  /** Observers of each applied batch (metrics): records and wall time. */
  onBatchApplied?: (records: number, ms: number) => void;

  constructor(private readonly opts: ReplicaOptions) {
    this.topic = opts.topic ?? opts.kafka.topics.events.name;
    this.log = (opts.logger ?? silentLogger).child({ component: 'replica', topic: this.topic });
    this.store = new SnapshotStore({ dir: join(opts.dataDir, 'snapshots'), keep: opts.snapshotKeep ?? 3, logger: this.log });
  }

  get projection(): Projection {
    if (!this.projectionRef) throw new Error('replica not started');
    return this.projectionRef;
  }

  get serverDuid(): Buffer {
    if (!this.serverDuidRef) throw new Error('replica not started');
    return this.serverDuidRef;
  }

  get listening(): ListeningAddresses | undefined {
    return this.server?.listening;
  }

  get engine(): LeasequeryServer | undefined {
    return this.server;
  }

  get ready(): boolean {
    return this.caughtUpOnce && this.connectedFlag && !this.stopped && this.lag() <= (this.opts.readyMaxLag ?? 10_000);
  }

  /** Load the newest good snapshot and start consuming; returns at once (see whenReady()). */
  async start(): Promise<void> {
    if (this.projectionRef) throw new Error('replica already started');
    await mkdir(this.opts.dataDir, { recursive: true });
    this.serverDuidRef = this.opts.serverDuid ?? (await loadOrCreateServerDuid(this.opts.dataDir));
    const projection = new Projection({
      serverDuid: this.serverDuidRef,
      clock: this.opts.clock,
      logger: this.log,
      history: kafkaHistory({ settings: this.opts.kafka, topic: this.topic, logger: this.log }, () => this.projection),
    });
    const loaded = await this.store.loadNewest(projection);
    if (loaded) {
      this.loadedFrom = loaded.path;
      for (const o of loaded.offsets) if (o.topic === this.topic) this.next.set(o.partition, BigInt(o.offset));
      this.log.info({ path: loaded.path, offsets: Object.fromEntries([...this.next].map(([p, o]) => [p, o.toString()])) }, 'resuming from snapshot');
    } else {
      this.log.info('no usable snapshot: rebuilding from the earliest offset');
    }
    // Anything the snapshot's offsets do not cover resumes after what it applied.
    for (const [p, last] of projection.positions()) if (!this.next.has(p) || this.next.get(p)! <= last) this.next.set(p, last + 1n);
    this.projectionRef = projection;
    const every = (ms: number, fn: () => void | Promise<void>) => {
      const t = setInterval(() => void Promise.resolve(fn()).catch((err) => this.log.error({ err }, 'periodic task failed')), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.expireIntervalMs ?? 1000, () => void projection.expire((this.opts.clock ?? Date.now)()));
    every(this.opts.lagPollMs ?? 1000, () => this.pollEnds());
    const snapEvery = this.opts.snapshotIntervalMs ?? 300_000;
    if (snapEvery > 0) every(snapEvery, () => this.writeSnapshot());
    this.loop = this.consume();
  }

  /** Resolves once caught up for the first time (and the listeners are open). */
  whenReady(): Promise<void> {
    if (this.caughtUpOnce) return Promise.resolve();
    return new Promise((r) => this.readyWaiters.push(r));
  }

  status(): ReplicaStatus {
    const rec = (m: Map<number, bigint>) => Object.fromEntries([...m].map(([p, o]) => [String(p), o.toString()]));
    return {
      ready: this.ready,
      caughtUp: this.caughtUpOnce,
      connected: this.connectedFlag,
      lag: this.lag(),
      positions: rec(this.next),
      endOffsets: rec(this.ends),
      lastEndPollAt: this.lastEndPollAt,
      snapshot: { loadedFrom: this.loadedFrom, lastWrittenAt: this.lastSnapshot.at, lastPath: this.lastSnapshot.path },
      records: { ...this.counts },
    };
  }

  /** Records between the applied positions and the last observed end offsets. */
  lag(): number {
    let lag = 0n;
    for (const [p, end] of this.ends) {
      const at = this.next.get(p) ?? 0n;
      if (end > at) lag += end - at;
    }
    return Number(lag);
  }

  /** Write a snapshot of the projection now (batches wait while it is written). */
  async writeSnapshot(): Promise<void> {
    if (!this.projectionRef) return;
    while (this.snapshotting) await this.snapshotting;
    const offsets: SnapshotOffset[] = [...this.next].map(([partition, o]) => ({ topic: this.topic, partition, offset: o.toString() }));
    this.snapshotting = (async () => {
      const info = await this.store.write(this.projection, offsets);
      this.lastSnapshot = { at: Date.now(), path: info.path };
      this.log.info({ path: info.path, bindings: info.bindings, bytes: info.bytes }, 'snapshot written');
    })().finally(() => (this.snapshotting = undefined));
    await this.snapshotting;
  }

  /** Close the listeners, stop consuming, write a last snapshot. */
  async stop(opts: { snapshot?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const w of this.readyWaiters.splice(0)) w();
    await this.server?.stop().catch((err) => this.log.warn({ err }, 'stopping the leasequery listeners failed'));
    this.server = undefined;
    await this.reader?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await this.admin?.close().catch(() => undefined);
    this.admin = undefined;
    if (opts.snapshot !== false && this.projectionRef && this.caughtUpOnce) {
      await this.writeSnapshot().catch((err) => this.log.error({ err }, 'final snapshot failed'));
    }
  }

  // ---- consumption ------------------------------------------------------------------------

  private async consume(): Promise<void> {
    let backoff = this.opts.backoffMinMs ?? 500;
    while (!this.stopped) {
      try {
        this.admin ??= await KafkaAdmin.connect(this.opts.kafka, { logger: this.log });
        this.target = await this.admin.endOffsets(this.topic);
        this.ends = new Map(this.target);
        this.lastEndPollAt = Date.now();
        this.connectedFlag = true;
        const from = { offsets: new Map(this.next) };
        // A short fetch wait bounds how long stop() waits for an in-flight fetch; records
        // that arrive are returned at once whatever the wait (minBytes 1).
        // Large fetches while catching up: a rebuild is bound by fetch round trips, not by
        // applying (8 MiB per partition, 64 MiB per fetch; kafkajs defaults are 1 and 10).
        const reader = await TopicReader.open(this.opts.kafka, { topic: this.topic, from, logger: this.log, maxWaitTimeMs: 500, maxBytesPerPartition: 8 << 20, maxBytes: 64 << 20 });
        this.reader = reader;
        if (this.stopped) break;
        for (const [p, o] of reader.positions()) if (!this.next.has(p)) this.next.set(p, o);
        await reader.run((batch) => this.onBatch(batch));
        this.checkCaughtUp(); // an empty or fully snapshotted topic is caught up at once
        backoff = this.opts.backoffMinMs ?? 500;
        await reader.done;
      } catch (err) {
        if (this.stopped) break;
        this.connectedFlag = false;
        this.log.warn({ err: (err as Error).message, retryInMs: backoff }, 'lq.events consumption interrupted; serving the last state, reconnecting');
        await this.reader?.close().catch(() => undefined);
        this.reader = undefined;
        await this.admin?.close().catch(() => undefined);
        this.admin = undefined;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.opts.backoffMaxMs ?? 30_000);
      }
    }
  }

  private async onBatch(batch: ReadBatch): Promise<void> {
    if (this.opts.beforeBatch) await this.opts.beforeBatch(batch);
    while (this.snapshotting) await this.snapshotting;
    const p = this.projection;
    const t0 = performance.now();
    for (const m of batch.messages) {
      this.counts.total++;
      const position = { partition: batch.partition, offset: m.offset };
      if (!m.value) {
        p.notePosition(position);
        this.counts.invalid++;
        continue;
      }
      try {
        const outcome = p.apply(decodeEventFast(m.value), position);
        this.counts[outcome]++;
      } catch (err) {
        // A record that is not a valid event (or one the projection cannot represent)
        // is counted, logged with its position and skipped: one bad producer must not
        // take the replica down, and the audit tooling can find it by its offset.
        this.counts.invalid++;
        p.notePosition(position);
        this.log.warn({ partition: batch.partition, offset: m.offset.toString(), err: (err as Error).message }, 'skipping an invalid lq.events record');
      }
    }
    const n = this.next.get(batch.partition);
    if (n === undefined || batch.nextOffset > n) this.next.set(batch.partition, batch.nextOffset);
    this.onBatchApplied?.(batch.messages.length, performance.now() - t0);
    // The reader also advances past control records without a batch: read its view too.
    this.syncPositions();
    this.checkCaughtUp();
  }

  private syncPositions(): void {
    const r = this.reader;
    if (!r) return;
    for (const [p, o] of r.positions()) {
      const n = this.next.get(p);
      if (n === undefined || o > n) this.next.set(p, o);
    }
  }

  private async pollEnds(): Promise<void> {
    if (this.stopped || !this.admin) return;
    try {
      this.ends = await this.admin.endOffsets(this.topic);
      this.lastEndPollAt = Date.now();
      this.connectedFlag = true;
    } catch (err) {
      if (this.connectedFlag) this.log.warn({ err: (err as Error).message }, 'cannot reach the brokers: not ready');
      this.connectedFlag = false;
    }
    this.syncPositions();
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.caughtUpOnce || !this.target || this.stopped) return;
    for (const [p, end] of this.target) if ((this.next.get(p) ?? 0n) < end) return;
    this.caughtUpOnce = true;
    this.log.info({ bindings: this.projection.stats().bindings, records: this.counts.total }, 'caught up with lq.events');
    void this.openListeners()
      .catch((err) => this.log.error({ err }, 'opening the leasequery listeners failed'))
      .finally(() => {
        for (const w of this.readyWaiters.splice(0)) w();
      });
  }

  private async openListeners(): Promise<void> {
    if (this.server || this.stopped) return;
    if (this.opts.udpPort === undefined && this.opts.tcpPort === undefined) return;
    const server = new LeasequeryServer({
      ...this.opts.engine,
      view: this.projection,
      logger: this.log,
      host: this.opts.host ?? '::1',
      udpPort: this.opts.udpPort,
      tcpPort: this.opts.tcpPort,
    });
    const addr = await server.start();
    this.server = server;
    this.log.info({ ...addr }, 'leasequery listeners open');
  }
}

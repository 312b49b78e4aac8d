// One source's session: the state machine of states.ts as one async loop. Sessions
// never wait for each other: a slow or dead server only ever delays its own loop, and
// the only thing a session waits on besides its server is its own bounded queue.
//
// Per connection:
//   1. connect (TCP, STARTTLS if configured)                     -> connected, tls
//   2. no resume point: initial load, a full Bulk Leasequery over every scope; the
//      lowest OPTION_LQ_BASE_TIME of its replies is B0, the first resume point
//                                                                -> bulk-started/complete
//   3. ACTIVELEASEQUERY with OPTION_LQ_START_TIME = resume point (minus a margin):
//      catch-up, then CatchUpComplete, then live                 -> catch-up-started/complete
//   4. DataMissing (RFC 7653 section 8.3.1): a Bulk Leasequery with START = the START
//      just sent and END = the DataMissing base-time, on a second connection, while
//      the first keeps streaming live updates; the resume point is frozen until it
//      completes                                                 -> data-missing, bulk-*
//   5. anything ending the connection (error, timeout, LEASEQUERY-DONE such as
//      QueryTerminated, a failed recovery) -> disconnected, backing-off, 1.
//
// The start-time margin: the server engine coalesces pending changes per binding and
// sends a binding's newest state at the back of its queue, so a message with base-time
// B can go out while a change from before B is still queued. Resuming exactly at B
// after losing the connection then would skip that change; re-reading a few seconds
// (session.startTimeMarginS) costs duplicates, which the projection ignores.
import { randomUUID } from 'node:crypto';
import type { SessionConfig, SourceConfig } from '../config/index.js';
import { SCHEMA_VERSION, normalizeClientData, type BindingEvent, type BulkScope, type LqEvent, type SourceEvent, type SourceEventKind } from '../events/index.js';
import type { ActiveEvent, BulkEvent, QueryExtras, QuerySpec } from '../leasequery/index.js';
import { RequestorError } from '../leasequery/index.js';
import type { Logger } from '../log.js';
import { OptionCode, StatusCode, dhcpTimeToUnixMs, formatIPv6, statusName } from '../protocol/index.js';
import { Backoff } from './backoff.js';
import type { SourceStart } from './checkpoint.js';
import type { SourceMetrics } from './metrics.js';
import { QueueClosedError, type SourceQueue } from './queue.js';
import { activeQuerySpec, requestorOptions, type Connect, type LeasequeryLink } from './requestor.js';
import { ResumePoint } from './resume.js';
import { ScopeSet } from './scopes.js';
import type { SessionState } from './states.js';

/** What a session hands the publisher: an event and the checkpoint state that holds once it is committed. */
export interface QueueItem {
  /** null: a checkpoint-only item (the resume point moved without an event, e.g. a keepalive). */
  event: LqEvent | null;
  resumePoint: number | null;
  initialLoadDone: boolean;
  /** Connector clock (ms) when the message behind it arrived. */
  receivedAt: number;
}

export interface SessionOptions {
  source: SourceConfig;
  session: SessionConfig;
  requestorDuid?: Buffer;
  start: SourceStart;
  queue: SourceQueue<QueueItem>;
  connect: Connect;
  logger: Logger;
  metrics: SourceMetrics;
  clock?: () => number;
  random?: () => number;
  /** Sleep that resolves early when the signal aborts (tests shorten it). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The server ended the session (LEASEQUERY-DONE, a refused query): not a connector fault. */
export class SessionEndedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SessionEndedError';
  }
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Ask for OPTION_LQ_RELAY_DATA in every query: links, relay-ids and remote-ids come from it. */
const REQUEST_OPTIONS = [OptionCode.LQ_RELAY_DATA];

/** A short, stable reason class for the reconnects metric. */
function reasonClass(err: unknown): string {
  if (err instanceof RequestorError) return err.code;
  if (err instanceof SessionEndedError) return 'server-ended';
  return 'error';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SourceSession {
  readonly name: string;
  readonly scopes: ScopeSet;
  readonly resume: ResumePoint;
  state: SessionState = 'stopped';
  /** When the session last did something (state change, message, queue room): stuck detection. */
  lastProgressAt: number;
  /** True while the session waits for room in its queue (Kafka is the slow one, not the server). */
  waitingForQueue = false;
  serverDuid: string | null;
  initialLoadDone: boolean;
  /** The last error that ended a connection, for status output. */
  lastError?: string;

  private readonly opts: SessionOptions;
  private readonly clock: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly links = new Set<LeasequeryLink>();
  private readonly abort = new AbortController();
  private readonly activeSpec: QuerySpec | undefined;
  private loop?: Promise<void>;
  private stopping = false;
  private lastBaseTime: number | null = null;
  /** Base-times of the current Active Leasequery count towards the resume point (after CatchUpComplete). */
  private livePhase = false;
  private recovery?: Promise<void>;
  /**
   * (client, link) of every live binding received while a recovery bulk runs. The live
   * stream reports every change from the DataMissing on, and the recovery only changes
   * up to its END (the DataMissing base-time), so for these bindings the newest live
   * report is at least as new as anything the bulk can say; a bulk report of one of them
   * that arrives after the live one (two connections, no order between them) would put
   * an older state after a newer one in the log, and is dropped.
   */
  private liveDuringRecovery?: Set<string>;
  private failure?: unknown;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.name = opts.source.name;
    this.clock = opts.clock ?? Date.now;
    this.sleep = opts.sleep ?? defaultSleep;
    this.backoff = new Backoff(opts.session.backoff, opts.random);
    this.log = opts.logger;
    this.scopes = new ScopeSet(opts.source.scopes, opts.start.learnedScopes);
    this.resume = new ResumePoint(opts.start.resumePoint);
    this.serverDuid = opts.start.serverDuid;
    this.initialLoadDone = opts.start.initialLoadDone;
    this.activeSpec = activeQuerySpec(opts.source);
    this.lastProgressAt = this.clock();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** End the session: close its connections, stop retrying. Resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    for (const l of this.links) l.close();
    await this.loop;
  }

  private setState(s: SessionState, fields: Record<string, unknown> = {}): void {
    if (s === this.state) return;
    this.log.info({ from: this.state, to: s, ...fields }, `source session ${s}`);
    this.state = s;
    this.lastProgressAt = this.clock();
    this.opts.metrics.setState(s);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let connected = false;
      let reason: string;
      let klass = 'error';
      try {
        await this.serveConnection(() => (connected = true));
        reason = 'the session ended';
      } catch (err) {
        if (err instanceof QueueClosedError) break; // the connector is restarting or stopping
        reason = this.stopping ? 'connector stopping' : describe(err);
        klass = this.stopping ? 'stopping' : reasonClass(err);
        if (!this.stopping) this.log.warn({ err: describe(err), reason: klass }, 'source session ended');
      } finally {
        await this.closeAll();
      }
      this.lastError = reason;
      if (!this.stopping) this.opts.metrics.reconnect(klass);
      if (connected) {
        try {
          await this.emit('disconnected', { reason });
        } catch (err) {
          if (err instanceof QueueClosedError) break;
          throw err;
        }
      }
      if (this.stopping) break;
      const delay = this.backoff.next();
      this.setState('backing-off', { delayMs: delay, attempt: this.backoff.attempts, reason });
      await this.sleep(delay, this.abort.signal);
    }
    this.setState('stopped');
  }

  private async closeAll(): Promise<void> {
    for (const l of this.links) l.close();
    this.links.clear();
    // A recovery must not push after its connection's session is over.
    await this.recovery?.catch(() => undefined);
    this.recovery = undefined;
    this.failure = undefined;
  }

  private async open(): Promise<LeasequeryLink> {
    const link = await this.opts.connect(requestorOptions(this.opts.source, this.opts.session, this.opts.requestorDuid));
    if (this.stopping) {
      link.close();
      throw new Error('connector stopping');
    }
    this.links.add(link);
    return link;
  }

  private async serveConnection(onConnected: () => void): Promise<void> {
    this.setState('connecting', { host: this.opts.source.host, port: this.opts.source.port });
    this.resume.newConnection();
    this.livePhase = false;
    const conn = await this.open();
    onConnected();
    await this.emit('connected');
    if (conn.tlsState === 'on') await this.emit('tls');
    else if (conn.tlsState === 'refused') this.log.warn('the server refused STARTTLS; continuing in clear text (tls.mode: prefer)');

    if (this.resume.value === null) {
      this.setState('initial-load', { scopes: this.scopes.size });
      if (this.scopes.size === 0) this.log.warn('no scopes configured or learned: the initial load is empty; bindings that never change will not be seen');
      await this.resync(conn, undefined, (b0) => {
        this.initialLoadDone = true;
        if (b0 !== null) this.resume.setInitial(b0);
      });
    }

    const startTime = this.resume.startTime(this.opts.session.startTimeMarginS);
    const stream = conn.active(this.activeSpec, { startTime, requestOptions: REQUEST_OPTIONS });
    if (startTime !== undefined) {
      this.setState('catch-up', { startTime });
      this.opts.metrics.catchUp();
      await this.emit('catch-up-started');
    } else {
      this.livePhase = true;
      this.setState('live');
      this.backoff.reset();
    }
    try {
      for await (const ev of stream) {
        await this.onActive(ev, startTime);
        if (this.failure !== undefined) break;
      }
    } catch (err) {
      if (this.failure === undefined) throw err;
    }
    if (this.failure !== undefined) throw this.failure;
    throw new SessionEndedError('the Active Leasequery stream ended');
  }

  private baseTimeOf(ev: { baseTime?: number }): number {
    if (ev.baseTime !== undefined) return ev.baseTime;
    // The connector always asks for OPTION_LQ_BASE_TIME; a server that leaves it out of
    // one message is given the last one it sent.
    if (this.lastBaseTime !== null) return this.lastBaseTime;
    throw new SessionEndedError('the server sent no OPTION_LQ_BASE_TIME although it was requested (RFC 7653 section 7.1)');
  }

  private async onActive(ev: ActiveEvent, startTime: number | undefined): Promise<void> {
    this.lastProgressAt = ev.receivedAt;
    if (ev.baseTime !== undefined) this.lastBaseTime = ev.baseTime;
    switch (ev.kind) {
      case 'accepted':
        this.noteServerDuid(ev.serverDuid);
        return;
      case 'binding': {
        const baseTime = this.baseTimeOf(ev);
        const live = ev.phase === 'live';
        const b = this.normalize(ev, live ? 'live' : 'catch-up', baseTime);
        if (live) this.observeLive(baseTime, ev.receivedAt);
        if (live && this.liveDuringRecovery) this.liveDuringRecovery.add(`${b.clientId}|${b.linkAddress}`);
        this.scopes.learnFrom(b);
        const p = this.push(b, ev.receivedAt);
        if (p) await this.waitForRoom(p);
        return;
      }
      case 'catch-up-complete': {
        this.livePhase = true;
        this.observeLive(this.baseTimeOf(ev), ev.receivedAt);
        await this.emit('catch-up-complete');
        if (!this.resume.frozen) {
          this.setState('live');
          this.backoff.reset();
        }
        return;
      }
      case 'data-missing': {
        const endTime = this.baseTimeOf(ev);
        this.opts.metrics.dataMissing();
        this.log.warn({ startTime, endTime, status: ev.statusMessage }, 'DataMissing: the server has no history back to the start time; recovering with a Bulk Leasequery');
        await this.emit('data-missing', { reason: ev.statusMessage || 'DataMissing' });
        this.noteServerDuid(ev.serverDuid);
        this.startRecovery(startTime, endTime);
        // RFC 7653 section 8.3.1: DataMissing ends the catch-up phase; live updates follow.
        this.livePhase = true;
        this.observeLive(endTime, ev.receivedAt);
        return;
      }
      case 'keepalive': {
        if (!this.livePhase) return;
        if (this.observeLive(this.baseTimeOf(ev), ev.receivedAt)) {
          const p = this.push(null, ev.receivedAt);
          if (p) await this.waitForRoom(p);
        }
        return;
      }
      case 'status':
        this.log.warn({ status: ev.status, message: ev.statusMessage }, `LEASEQUERY-DATA with status ${statusName(ev.status)}`);
        return;
      case 'done':
        throw new SessionEndedError(`LEASEQUERY-DONE with status ${statusName(ev.status)} (${ev.status})${ev.statusMessage ? `: ${ev.statusMessage}` : ''}`, ev.status);
    }
  }

  /** Count a live base-time; true when the resume point moved. */
  private observeLive(baseTime: number, receivedAt: number): boolean {
    this.opts.metrics.clockSample(receivedAt - dhcpTimeToUnixMs(baseTime));
    const o = this.resume.observeLive(baseTime);
    if (o.clockStepped) this.log.warn({ baseTime }, "the server's clock went back: the resume point follows it");
    return o.advanced;
  }

  private noteServerDuid(duid: Buffer | undefined): void {
    if (!duid) return;
    const hex = duid.toString('hex');
    if (hex !== this.serverDuid) {
      if (this.serverDuid !== null) this.log.warn({ was: this.serverDuid, now: hex }, 'the server DUID changed');
      this.serverDuid = hex;
    }
  }

  private normalize(ev: Extract<ActiveEvent | BulkEvent, { kind: 'binding' }>, phase: BindingEvent['phase'], baseTime: number, queryLink?: Buffer): BindingEvent {
    if (this.serverDuid === null) {
      for (const o of ev.message.options) if (o.name === 'serverId') this.noteServerDuid(o.duid);
    }
    const b = normalizeClientData(ev.clientData, undefined, {
      source: { name: this.name, serverDuid: this.serverDuid },
      phase,
      baseTime,
      receivedAt: ev.receivedAt,
      queryLink,
    });
    this.opts.metrics.event(`binding-${phase}`);
    this.opts.metrics.bytes((b.raw.length * 3) >>> 2);
    return b;
  }

  private push(event: LqEvent | null, receivedAt: number): Promise<void> | undefined {
    return this.opts.queue.push({ event, resumePoint: this.resume.value, initialLoadDone: this.initialLoadDone, receivedAt });
  }

  private async waitForRoom(p: Promise<void>): Promise<void> {
    this.waitingForQueue = true;
    try {
      await p;
    } finally {
      this.waitingForQueue = false;
      this.lastProgressAt = this.clock();
    }
  }

  private async emit(kind: SourceEventKind, extra: { reason?: string; resyncId?: string; scope?: BulkScope } = {}): Promise<void> {
    const at = this.clock();
    const e: SourceEvent = {
      type: 'source',
      schemaVersion: SCHEMA_VERSION,
      source: { name: this.name, serverDuid: this.serverDuid },
      kind,
      at,
      baseTime: this.lastBaseTime,
      ...extra,
    };
    this.opts.metrics.event(kind);
    this.log.debug({ kind, ...extra }, 'source event');
    const p = this.push(e, at);
    if (p) await this.waitForRoom(p);
  }

  /** RFC 7653 section 8.3.1: the recovery bulk, on a second connection, beside the live stream. */
  private startRecovery(startTime: number | undefined, endTime: number): void {
    if (this.recovery) {
      this.log.warn('DataMissing again while a recovery is running: the running one covers it');
      return;
    }
    this.resume.freeze();
    this.setState('recovering', { startTime, endTime });
    const window = startTime === undefined ? undefined : { startTime, endTime };
    const superseded = (this.liveDuringRecovery = new Set());
    this.recovery = (async () => {
      const conn = await this.open();
      try {
        await this.resync(conn, window, () => this.resume.thaw(), superseded);
      } finally {
        this.liveDuringRecovery = undefined;
        conn.close();
        this.links.delete(conn);
      }
    })().then(
      () => {
        this.opts.metrics.recovery('ok');
        this.recovery = undefined;
        if (this.livePhase && !this.stopping) {
          this.setState('live');
          this.backoff.reset();
        }
      },
      (err: unknown) => {
        this.opts.metrics.recovery('failed');
        if (err instanceof QueueClosedError || this.stopping) return;
        // Crash-only: the whole session restarts; the frozen resume point makes the next
        // Active Leasequery ask for the same window again.
        this.failure = err instanceof Error ? new Error(`recovery bulk leasequery failed: ${err.message}`, { cause: err }) : err;
        for (const l of this.links) l.close();
      },
    );
  }

  /**
   * A resync: Bulk Leasequeries over every scope between bulk-started and bulk-complete
   * markers (RFC 5460 section 6.2), optionally limited to the changes of a time window
   * (RFC 7653 OPTION_LQ_START_TIME / OPTION_LQ_END_TIME). `beforeComplete` gets the
   * lowest base-time of the replies and runs before the bulk-complete marker is queued,
   * so the checkpoint that marker commits reflects it.
   */
  private async resync(
    conn: LeasequeryLink,
    window: { startTime: number; endTime: number } | undefined,
    beforeComplete: (minBaseTime: number | null) => void,
    superseded?: ReadonlySet<string>,
  ): Promise<void> {
    const resyncId = randomUUID();
    const scope: BulkScope = { ...this.scopes.scope(), ...(window ?? {}) };
    const queries = this.scopes.queries();
    this.log.info({ resyncId, links: scope.linkAddresses.length, relayIds: scope.relayIds.length, ...window }, window ? 'recovery bulk leasequery' : 'full resync (bulk leasequery)');
    await this.emit('bulk-started', { resyncId, scope });
    const extras: QueryExtras = { requestOptions: REQUEST_OPTIONS, startTime: window?.startTime, endTime: window?.endTime };
    let minBase: number | null = null;
    let bindings = 0;
    let skipped = 0;
    for (const spec of queries) {
      for await (const ev of conn.bulk(spec, extras)) {
        this.lastProgressAt = ev.receivedAt;
        if (ev.baseTime !== undefined) {
          this.lastBaseTime = ev.baseTime;
          if (minBase === null || ev.baseTime < minBase) minBase = ev.baseTime;
        }
        if (ev.kind === 'binding') {
          const b = this.normalize(ev, 'bulk', this.baseTimeOf(ev), spec.type === 'link' ? spec.link : undefined);
          if (superseded?.has(`${b.clientId}|${b.linkAddress}`)) {
            skipped++;
            continue;
          }
          bindings++;
          const p = this.push(b, ev.receivedAt);
          if (p) await this.waitForRoom(p);
        } else {
          this.noteServerDuid(ev.serverDuid);
          if (ev.status === StatusCode.NotConfigured) {
            // The server has no such link (or relay): nothing of it to report.
            this.log.warn({ scope: spec.type === 'link' ? formatIPv6(spec.link) : spec.type }, `bulk leasequery answered NotConfigured: ${ev.statusMessage}`);
          } else if (ev.status !== StatusCode.Success) {
            throw new SessionEndedError(`bulk leasequery answered ${statusName(ev.status)} (${ev.status})${ev.statusMessage ? `: ${ev.statusMessage}` : ''}`, ev.status);
          }
        }
      }
    }
    beforeComplete(minBase);
    await this.emit('bulk-complete', { resyncId, scope });
    this.log.info({ resyncId, bindings, supersededByLive: skipped, minBaseTime: minBase }, 'bulk leasequery complete');
  }
}

// Active Leasequery (RFC 7653), one session per ACTIVELEASEQUERY:
//
//   LEASEQUERY-REPLY   accepted (or an error status, then the connection closes), or
//                      DataMissing + base-time when OPTION_LQ_START_TIME reaches back
//                      beyond the history: catch-up is over, live updates follow
//   LEASEQUERY-DATA    one per binding change (CLIENT_DATA; base-time when asked)
//                      catch-up changes interleaved with live ones, then one DATA with
//                      status CatchUpComplete (or DataMissing if history broke off)
//   LEASEQUERY-DATA    keepalive (base-time only) after ACTIVE_LQ_IDLE_TIMEOUT of silence
//   LEASEQUERY-DONE    QueryTerminated when the server shuts down
//
// Memory is bounded however slowly the requestor reads: changes wait in a map keyed by
// binding, so repeated changes of one binding coalesce into its newest state (RFC 7653
// "Information Communicated by Active Leasequery": only the state current when the
// message is created need be sent); beyond maxPendingUpdates distinct bindings, or
// ACTIVE_LQ_SEND_TIMEOUT without the socket draining, the requestor is dropped.
import { MessageType, QueryType, StatusCode, type Dhcp6Option } from '../../protocol/index.js';
import { HistoryGapError, type Binding, type BindingChange, type HistoryResult } from '../view.js';
import type { ConnectionContext } from './context.js';
import { bindingMatches } from './match.js';
import type { ParsedQuery } from './query.js';
import { baseTimeOption, clientDataOption, replyHead, replyMessage, statusOption, type ReplyOptions } from './reply.js';
import { countStatus } from './stats.js';
import { ConnectionClosedError } from './writer.js';

export class ActiveSession {
  private readonly pending = new Map<string, Binding>();
  /** During catch-up: newest seq sent per binding, so an older history entry never follows a newer live one. */
  private sentSeq: Map<string, number> | null = null;
  /** QUERY_BY_ADDRESS: bindings reported so far, so their release (which has no address) is reported too. */
  private readonly followed = new Set<string>();
  private unsubscribe?: () => void;
  private flushScheduled = false;
  private idleTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Until the first reply is sent, changes only accumulate. */
  private holding = false;
  private readonly ro: ReplyOptions;

  constructor(
    private readonly ctx: ConnectionContext,
    private readonly q: ParsedQuery,
  ) {
    this.ro = { requested: q.requested, sensitive: ctx.opts.sensitive };
  }

  /**
   * Subscribe, answer, start catch-up. Changes that happen while the view looks up its
   * history (it may have to ask Kafka) wait, coalesced, until the first reply is out.
   */
  async start(): Promise<void> {
    const { ctx, q } = this;
    const view = ctx.view;
    ctx.stats.activeSessions++;
    this.holding = true;
    // Subscribe before reading history, so no change falls between the two.
    this.unsubscribe = view.subscribe((c) => this.onChange(c));
    ctx.writer.onDrain = () => this.scheduleFlush();
    let history: HistoryResult | undefined;
    if (q.startMs !== undefined) {
      try {
        history = await view.historySince(q.startMs);
      } catch (err) {
        ctx.logger.error({ conn: ctx.id, err }, 'looking up catch-up history failed');
        history = { available: false };
      }
      if (this.stopped || ctx.writer.closed) return;
    }
    const identity = { serverDuid: view.serverDuid, requestorDuid: q.requestorDuid };
    const now = view.now();
    if (history && !history.available) {
      // RFC 7653 "Processing Replies from a Request Containing an OPTION_LQ_START_TIME":
      // reply at once with DataMissing and a base-time of the server's current time; this
      // ends the catch-up phase and only real-time updates follow on this connection.
      countStatus(ctx.stats, StatusCode.DataMissing);
      ctx.writer.send(
        replyMessage(MessageType.LEASEQUERY_REPLY, q.xid, [
          ...replyHead(identity, { status: StatusCode.DataMissing, message: 'the server no longer has the changes since OPTION_LQ_START_TIME' }),
          baseTimeOption(now),
        ]),
      );
    } else {
      const head = replyHead(identity);
      if (q.wantsBaseTime) head.push(baseTimeOption(now));
      countStatus(ctx.stats, StatusCode.Success);
      ctx.writer.send(replyMessage(MessageType.LEASEQUERY_REPLY, q.xid, head));
    }
    this.holding = false;
    this.scheduleFlush();
    if (history?.available) {
      this.sentSeq = new Map();
      void this.catchUp(history.changes);
    }
    this.armIdle();
  }

  private matches(b: Binding): boolean {
    if (this.q.queryType !== QueryType.QUERY_BY_ADDRESS) return bindingMatches(b, this.q);
    if (bindingMatches(b, this.q)) {
      this.followed.add(b.key);
      return true;
    }
    return this.followed.has(b.key);
  }

  private onChange(c: BindingChange): void {
    if (this.stopped || !this.matches(c)) return;
    this.pending.delete(c.key); // re-insert: the newest state goes to the back of the queue
    this.pending.set(c.key, c);
    if (this.pending.size > this.ctx.opts.maxPendingUpdates) {
      this.ctx.stats.activeDropped++;
      this.ctx.logger.warn({ conn: this.ctx.id, pending: this.pending.size }, 'active leasequery requestor too far behind: dropping it');
      this.ctx.destroy('requestor too far behind');
      return;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.stopped || this.holding || this.pending.size === 0) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Send pending changes until the socket is full (then 'drain' schedules the rest). */
  private flush(): void {
    this.flushScheduled = false;
    const w = this.ctx.writer;
    if (this.stopped || w.closed) return;
    for (const [key, b] of this.pending) {
      if (w.blocked) return;
      this.pending.delete(key);
      this.sendBinding(b);
    }
  }

  private sendBinding(b: Binding): boolean {
    const now = this.ctx.view.now();
    const options: Dhcp6Option[] = [clientDataOption(b, now, this.ro)];
    if (this.q.wantsBaseTime) options.push(baseTimeOption(now));
    if (this.sentSeq) {
      const prev = this.sentSeq.get(b.key);
      if (prev === undefined || prev < b.seq) this.sentSeq.set(b.key, b.seq);
    }
    try {
      const room = this.ctx.writer.send(replyMessage(MessageType.LEASEQUERY_DATA, this.q.xid, options));
      this.ctx.stats.activeUpdatesSent++;
      return room;
    } catch (err) {
      // A binding with no valid wire form (e.g. over 64 KiB) must not end the session.
      this.ctx.logger.error({ conn: this.ctx.id, err, binding: b.key }, 'binding could not be encoded: skipped');
      return !this.ctx.writer.blocked;
    }
  }

  /** Stream the history (RFC 7653 catch-up phase), interleaved with live updates. */
  private async catchUp(changes: AsyncIterable<BindingChange>): Promise<void> {
    const w = this.ctx.writer;
    let endStatus: number = StatusCode.CatchUpComplete;
    let endMessage = 'catch-up complete';
    try {
      for await (const c of changes) {
        if (this.stopped || w.closed) return;
        if (!this.matches(c)) continue;
        const sent = this.sentSeq?.get(c.key);
        const waiting = this.pending.get(c.key);
        // Skip a state older than one already sent or about to be sent.
        if ((sent !== undefined && sent >= c.seq) || (waiting && waiting.seq >= c.seq)) continue;
        if (!this.sendBinding(c)) await w.drained();
      }
    } catch (err) {
      if (err instanceof ConnectionClosedError) return;
      if (this.stopped) return;
      if (!(err instanceof HistoryGapError)) this.ctx.logger.error({ conn: this.ctx.id, err }, 'reading catch-up history failed');
      // RFC 7653 allows DataMissing in a LEASEQUERY-DATA: the requestor recovers with a bulk query.
      endStatus = StatusCode.DataMissing;
      endMessage = err instanceof Error ? err.message : String(err);
    }
    this.sentSeq = null;
    if (this.stopped || w.closed) return;
    countStatus(this.ctx.stats, endStatus);
    // RFC 7653: "a LEASEQUERY-DATA message MUST be sent with a DHCPv6 status code value of CatchUpComplete".
    w.send(replyMessage(MessageType.LEASEQUERY_DATA, this.q.xid, [statusOption(endStatus, endMessage), baseTimeOption(this.ctx.view.now())]));
  }

  /** Keepalive (RFC 7653 ACTIVE_LQ_IDLE_TIMEOUT): a LEASEQUERY-DATA with only the base-time. */
  private armIdle(): void {
    const idle = this.ctx.opts.timers.activeIdleTimeoutMs;
    const due = Math.max(1, this.ctx.writer.lastWriteAt + idle - performance.now());
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.stopped || this.ctx.writer.closed) return;
      if (performance.now() - this.ctx.writer.lastWriteAt >= idle - 1 && !this.ctx.writer.blocked) {
        this.ctx.stats.activeKeepalives++;
        this.ctx.writer.send(replyMessage(MessageType.LEASEQUERY_DATA, this.q.xid, [baseTimeOption(this.ctx.view.now())]));
      }
      this.armIdle();
    }, due);
    this.idleTimer.unref?.();
  }

  /** Server shutdown: LEASEQUERY-DONE with QueryTerminated (RFC 7653 "Processing Active Replies"). */
  terminate(message: string): void {
    if (this.stopped) return;
    const w = this.ctx.writer;
    this.stop();
    if (w.closed) return;
    countStatus(this.ctx.stats, StatusCode.QueryTerminated);
    w.send(replyMessage(MessageType.LEASEQUERY_DONE, this.q.xid, [statusOption(StatusCode.QueryTerminated, message), baseTimeOption(this.ctx.view.now())]));
  }

  /** The connection is gone (or the session ends): release the subscription and timers. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.pending.clear();
    this.followed.clear();
    if (this.ctx.writer.onDrain) this.ctx.writer.onDrain = undefined;
  }
}

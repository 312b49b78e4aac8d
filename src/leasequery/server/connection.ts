// One TCP connection of Bulk (RFC 5460) and Active (RFC 7653) Leasequery: framing,
// STARTTLS, the read-ahead bound, timeouts, and dispatch of each query in order.
//
// Robustness: whatever a peer sends, the server answers where the protocol has an
// answer and otherwise closes this connection only. A frame holds at most 64 KiB (the
// 2-octet length), queries read ahead are bounded (then reading pauses: RFC 5460 7.3
// "MUST NOT read more query messages ... than it is prepared to process"), and a peer
// that stalls mid-frame or stays idle is closed after BULK_LQ_DATA_TIMEOUT (RFC 5460 7.1).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../../log.js';
import {
  DecodeError,
  FrameDecoder,
  MessageType,
  StatusCode,
  decodeMessage,
  type ClientServerMessage,
  type Dhcp6Message,
} from '../../protocol/index.js';
import type { LeaseView } from '../view.js';
import { peekHeader, topOption } from '../wire.js';
import type { Acl } from './acl.js';
import { ActiveSession } from './active.js';
import { serveBulk } from './bulk.js';
import type { ConnectionContext } from './context.js';
import type { ResolvedOptions } from './options.js';
import { parseQuery } from './query.js';
import { replyHead, replyMessage, statusReply } from './reply.js';
import { countStatus, type ServerStats } from './stats.js';
import { FramedWriter } from './writer.js';

export interface ConnectionDeps {
  id: number;
  socket: Socket;
  view: LeaseView;
  acl: Acl;
  opts: ResolvedOptions;
  stats: ServerStats;
  logger: Logger;
  /** Present when STARTTLS is configured. */
  secureContext?: SecureContext;
  requestCert?: boolean;
  requireTls: boolean;
  onClose: (c: LeasequeryConnection) => void;
}

export class LeasequeryConnection implements ConnectionContext {
  readonly id: number;
  readonly view: LeaseView;
  readonly writer: FramedWriter;
  readonly logger: Logger;
  readonly opts: ResolvedOptions;
  readonly stats: ServerStats;
  readonly remoteAddress: string;
  private readonly socket: Socket;
  private stream: Duplex;
  private readonly decoder = new FrameDecoder();
  private readonly queue: Buffer[] = [];
  private busy = false;
  private paused = false;
  private messages = 0;
  private tls: 'none' | 'negotiating' | 'on' = 'none';
  private active?: ActiveSession;
  private readTimer?: NodeJS.Timeout;
  /** performance.now() when the first byte of the partial frame now held arrived. */
  private partialSince?: number;
  private terminatingFlag = false;
  private peerEnded = false;
  private closedFlag = false;
  private closeWaiters: (() => void)[] = [];

  constructor(private readonly deps: ConnectionDeps) {
    this.id = deps.id;
    this.view = deps.view;
    this.logger = deps.logger;
    this.opts = deps.opts;
    this.stats = deps.stats;
    this.socket = deps.socket;
    this.stream = deps.socket;
    this.remoteAddress = deps.socket.remoteAddress ?? '';
    this.writer = new FramedWriter(this.stream, deps.opts.timers.bulkDataTimeoutMs, () => this.onStall());
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.debug({ err: err.message }, 'socket error'));
    this.socket.on('close', () => this.onClosed());
    this.attachReader(this.socket);
    this.armReadTimer();
  }

  get terminating(): boolean {
    return this.terminatingFlag;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private debug(obj: object, msg: string): void {
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ conn: this.id, peer: this.remoteAddress, ...obj }, msg);
  }

  private attachReader(s: Duplex): void {
    s.on('data', this.onData);
    s.on('end', this.onPeerEnd);
  }

  /**
   * The requestor closed its sending side (RFC 7653: it MAY, right after its query;
   * RFC 5460 7.4: the server closes its end once outstanding requests are done).
   */
  private readonly onPeerEnd = (): void => {
    this.peerEnded = true;
    this.endIfFinished();
  };

  private endIfFinished(): void {
    if (this.peerEnded && !this.busy && !this.active && this.queue.length === 0) this.end('requestor closed its side');
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closedFlag || this.tls === 'negotiating') return;
    const hadPartial = this.decoder.bufferedBytes > 0;
    const frames = this.decoder.push(chunk);
    for (const f of frames) this.queue.push(f);
    if (this.queue.length >= this.opts.maxQueuedQueries && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    // A frame must arrive whole within BULK_LQ_DATA_TIMEOUT of its first byte: a peer
    // dribbling one byte at a time (slow loris) must not hold a connection slot forever.
    if (this.decoder.bufferedBytes === 0) this.partialSince = undefined;
    else if (!hadPartial || frames.length > 0) this.partialSince = performance.now();
    this.armReadTimer();
    void this.pump();
  };

  /**
   * BULK_LQ_DATA_TIMEOUT while reading: runs when the connection is waiting on the peer
   * (idle with no query in progress and no active session, or with a partial frame).
   */
  private armReadTimer(): void {
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = undefined;
    if (this.closedFlag) return;
    const partial = this.decoder.bufferedBytes > 0;
    const waitingOnPeer = partial || (!this.active && !this.busy && this.queue.length === 0);
    if (!waitingOnPeer) return;
    const timeout = this.opts.timers.bulkDataTimeoutMs;
    const delay = partial && this.partialSince !== undefined ? Math.max(0, timeout - (performance.now() - this.partialSince)) : timeout;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      this.stats.tcpTimeouts++;
      const partial = this.decoder.bufferedBytes;
      this.logger.info({ conn: this.id, peer: this.remoteAddress, partialFrameBytes: partial }, partial ? 'peer stalled in the middle of a frame: closing' : 'idle connection: closing');
      this.destroy('read timeout');
    }, delay);
    this.readTimer.unref?.();
  }

  private onStall(): void {
    this.stats.tcpTimeouts++;
    if (this.active) this.stats.activeDropped++;
    this.logger.warn({ conn: this.id, peer: this.remoteAddress, buffered: this.writer.bufferedBytes }, 'peer stopped reading: closing the connection');
    this.destroy('send timeout');
  }

  /** Process queued frames one at a time, in order (RFC 5460 6.5: pipelined queries). */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.closedFlag) {
        const frame = this.queue.shift() as Buffer;
        if (this.paused && this.queue.length < this.opts.maxQueuedQueries / 2) {
          this.paused = false;
          this.stream.resume();
        }
        await this.handleFrame(frame);
      }
    } catch (err) {
      this.logger.error({ conn: this.id, err }, 'leasequery connection failed');
      this.destroy('internal error');
    } finally {
      this.busy = false;
      this.armReadTimer();
      this.endIfFinished();
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    this.messages++;
    let msg: Dhcp6Message;
    try {
      msg = decodeMessage(frame);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.stats.tcpProtocolErrors++;
      const h = peekHeader(frame);
      this.logger.info({ conn: this.id, peer: this.remoteAddress, reason: err.reason, offset: err.offset, error: err.message, msgType: h?.msgType }, 'undecodable message');
      if (h && (h.msgType === MessageType.LEASEQUERY || h.msgType === MessageType.ACTIVELEASEQUERY)) {
        countStatus(this.stats, StatusCode.MalformedQuery);
        this.writer.send(statusReply(h.transactionId, { serverDuid: this.view.serverDuid }, StatusCode.MalformedQuery, `undecodable query: ${err.message}`));
        if (h.msgType === MessageType.ACTIVELEASEQUERY && !this.active) this.end('malformed active leasequery');
        return;
      }
      // No query header to answer: the stream is not leasequery (or out of step). Close it.
      this.destroy('undecodable message');
      return;
    }
    if (msg.kind !== 'client-server') {
      this.stats.tcpProtocolErrors++;
      this.destroy(`unexpected relay message type ${msg.msgType}`);
      return;
    }
    switch (msg.msgType) {
      case MessageType.STARTTLS:
        await this.handleStartTls(msg);
        return;
      case MessageType.LEASEQUERY:
        await this.handleBulk(msg);
        return;
      case MessageType.ACTIVELEASEQUERY:
        this.handleActive(msg);
        return;
      default:
        // RFC 5460 section 4: only LEASEQUERY (and the server's replies) travel on this connection.
        this.stats.tcpProtocolErrors++;
        this.logger.info({ conn: this.id, peer: this.remoteAddress, msgType: msg.msgType }, 'unexpected message type on a leasequery connection: closing');
        this.destroy(`unexpected message type ${msg.msgType}`);
    }
  }

  private reject(xid: number, requestorDuid: Buffer | undefined, status: number, message: string): void {
    countStatus(this.stats, status);
    this.writer.send(statusReply(xid, { serverDuid: this.view.serverDuid, requestorDuid }, status, message));
  }

  private async handleBulk(msg: ClientServerMessage): Promise<void> {
    const requestorDuid = topOption(msg, 'clientId')?.duid;
    if (this.terminatingFlag) return this.reject(msg.transactionId, requestorDuid, StatusCode.QueryTerminated, 'the server is shutting down');
    if (this.deps.requireTls && this.tls !== 'on') return this.reject(msg.transactionId, requestorDuid, StatusCode.NotAllowed, 'this server requires STARTTLS first');
    const p = parseQuery(msg, 'bulk', this.view);
    if (!p.ok) {
      if (p.kind === 'status') this.reject(msg.transactionId, p.requestorDuid, p.status, p.message);
      return;
    }
    if (!this.deps.acl.allows(this.remoteAddress, 'bulk', p.query.queryType)) {
      return this.reject(msg.transactionId, requestorDuid, StatusCode.NotAllowed, `query-type ${p.query.queryType} is not allowed for ${this.remoteAddress}`);
    }
    this.debug({ xid: msg.transactionId, queryType: p.query.queryType }, 'bulk leasequery');
    await serveBulk(this, p.query);
    if (this.terminatingFlag) this.end('server shutting down');
  }

  private handleActive(msg: ClientServerMessage): void {
    const requestorDuid = topOption(msg, 'clientId')?.duid;
    // RFC 7653 "Replying to an Active Leasequery": an error during initial processing gets a
    // LEASEQUERY-REPLY with the status, then the connection is closed.
    const fail = (status: number, message: string): void => {
      this.reject(msg.transactionId, requestorDuid, status, message);
      if (!this.active) this.end(`active leasequery refused: ${message}`);
    };
    if (this.terminatingFlag) return fail(StatusCode.QueryTerminated, 'the server is shutting down');
    if (this.deps.requireTls && this.tls !== 'on') return fail(StatusCode.NotAllowed, 'this server requires STARTTLS first');
    if (this.active) {
      // One Active Leasequery per connection; the running one is not disturbed.
      return this.reject(msg.transactionId, requestorDuid, StatusCode.NotAllowed, 'an Active Leasequery is already running on this connection');
    }
    const p = parseQuery(msg, 'active', this.view);
    if (!p.ok) {
      if (p.kind === 'status') fail(p.status, p.message);
      else this.end(p.reason);
      return;
    }
    if (!this.deps.acl.allows(this.remoteAddress, 'active', p.query.queryType)) {
      return fail(StatusCode.NotAllowed, `Active Leasequery${p.query.queryType ? ` with query-type ${p.query.queryType}` : ''} is not allowed for ${this.remoteAddress}`);
    }
    this.debug({ xid: msg.transactionId, queryType: p.query.queryType, startMs: p.query.startMs }, 'active leasequery');
    // While an active session runs, a blocked socket is judged by ACTIVE_LQ_SEND_TIMEOUT.
    this.writer.stallTimeoutMs = this.opts.timers.activeSendTimeoutMs;
    const session = new ActiveSession(this, p.query);
    this.active = session;
    session.start().catch((err: unknown) => {
      this.logger.error({ conn: this.id, err }, 'active leasequery failed');
      this.destroy('active leasequery failed');
    });
    this.armReadTimer();
  }

  /**
   * STARTTLS (RFC 7653 "Using TLS"): only as the first message. Accepted: a
   * LEASEQUERY-REPLY without error status, then both sides run the TLS handshake on this
   * TCP connection and every later message travels inside TLS. Not configured:
   * TLSConnectionRefused, and the connection continues in clear if the requestor wants.
   */
  private async handleStartTls(msg: ClientServerMessage): Promise<void> {
    const requestorDuid = topOption(msg, 'clientId')?.duid;
    if (this.messages !== 1 || this.tls !== 'none') {
      return this.reject(msg.transactionId, requestorDuid, StatusCode.MalformedQuery, 'STARTTLS is only allowed as the first message of a connection');
    }
    const ctx = this.deps.secureContext;
    if (!ctx) {
      this.stats.tlsRefused++;
      return this.reject(msg.transactionId, requestorDuid, StatusCode.TLSConnectionRefused, 'this server is not configured for TLS');
    }
    if (this.decoder.bufferedBytes > 0 || this.queue.length > 0) {
      // The requestor must wait for our answer before starting the handshake.
      this.stats.tcpProtocolErrors++;
      this.destroy('data after STARTTLS before the reply');
      return;
    }
    this.tls = 'negotiating';
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onPeerEnd);
    countStatus(this.stats, StatusCode.Success);
    this.writer.send(replyMessage(MessageType.LEASEQUERY_REPLY, msg.transactionId, replyHead({ serverDuid: this.view.serverDuid, requestorDuid })));
    this.writer.flushNow(); // the reply goes out in clear, before the handshake
    const secure = new TLSSocket(this.socket, { isServer: true, secureContext: ctx, requestCert: this.deps.requestCert ?? false, rejectUnauthorized: this.deps.requestCert ?? false });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.info({ conn: this.id, peer: this.remoteAddress }, 'TLS handshake timed out');
        this.destroy('TLS handshake timeout');
        resolve();
      }, this.opts.timers.bulkDataTimeoutMs);
      secure.once('secure', () => {
        clearTimeout(timer);
        this.stats.tlsHandshakes++;
        this.tls = 'on';
        this.stream = secure;
        this.writer.setStream(secure);
        secure.on('error', (err) => this.debug({ err: err.message }, 'TLS error'));
        this.attachReader(secure);
        this.debug({ protocol: secure.getProtocol() }, 'TLS established');
        resolve();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        this.logger.info({ conn: this.id, peer: this.remoteAddress, err: err.message }, 'TLS handshake failed');
        this.destroy('TLS handshake failed');
        resolve();
      });
    });
  }

  /** Server shutdown: end every query with QueryTerminated, then close (RFC 5460 7.4). */
  terminate(): void {
    if (this.closedFlag || this.terminatingFlag) return;
    this.terminatingFlag = true;
    this.active?.terminate('the server is shutting down');
    // A bulk query in progress notices the flag and sends its DONE; otherwise close now.
    if (!this.busy) this.end('server shutting down');
  }

  end(reason: string): void {
    if (this.closedFlag) return;
    this.debug({ reason }, 'closing connection');
    this.active?.stop();
    this.writer.flushNow(); // what was gathered in this turn goes out before the FIN
    this.writer.close(); // and nothing after it
    this.stream.end();
    // A peer that never reads would keep a half-closed socket open: bound it.
    setTimeout(() => this.destroy('close timeout'), this.opts.timers.bulkDataTimeoutMs).unref?.();
  }

  destroy(reason: string): void {
    if (this.closedFlag) return;
    this.debug({ reason }, 'destroying connection');
    this.stream.destroy();
    if (this.stream !== this.socket) this.socket.destroy();
    this.onClosed();
  }

  /** Resolves once the connection is closed. */
  whenClosed(): Promise<void> {
    return this.closedFlag ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }

  private onClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.readTimer) clearTimeout(this.readTimer);
    this.active?.stop();
    if (this.writer.peakBuffered > this.stats.peakWriteBufferBytes) this.stats.peakWriteBufferBytes = this.writer.peakBuffered;
    this.writer.close();
    this.queue.length = 0;
    this.deps.onClose(this);
    for (const w of this.closeWaiters) w();
    this.closeWaiters = [];
  }
}

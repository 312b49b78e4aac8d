// A requestor's TCP connection to a leasequery server (RFC 5460 section 6, RFC 7653
// "Requestor Behavior"): optional STARTTLS first, then any number of Bulk and Active
// queries, their answers demultiplexed by transaction-id into async iterables.
//
// Timeouts: while an answer is outstanding and the requestor is reading, a silence of
// BULK_LQ_DATA_TIMEOUT (no Active query open) or ACTIVE_LQ_RCV_TIMEOUT (one open) ends
// the connection. While a consumer is slow and reading is paused, the silence is ours
// and does not count.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  DecodeError,
  Defaults,
  FrameDecoder,
  MessageType,
  StatusCode,
  decodeMessage,
  encodeFramedMessage,
  type ClientServerMessage,
  type Dhcp6Message,
} from '../../protocol/index.js';
import { messageStatus, randomTransactionId } from '../wire.js';
import { RequestorError } from './errors.js';
import { ActiveConverter, BulkConverter, ProtocolViolation, type ActiveEvent, type BulkEvent, type Converter } from './events.js';
import { defaultRequestorDuid } from './identity.js';
import { buildActiveLeasequery, buildLeasequery, buildStartTls, type QueryExtras, type QuerySpec } from './query.js';
import { EventStream, type StreamHost } from './stream.js';

export interface RequestorTlsOptions {
  /** 'require': fail on TLSConnectionRefused; 'prefer': continue in clear (RFC 7653 "Using TLS"). */
  policy: 'require' | 'prefer';
  /** PEM CA certificates to verify the server against (default: Node's bundled CAs). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key, for servers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name to verify the server certificate against (default: the host connected to). */
  servername?: string;
  /** Default true: an unverifiable server certificate fails the handshake. */
  rejectUnauthorized?: boolean;
}

export interface TcpRequestorOptions {
  host: string;
  port?: number;
  requestorDuid?: Buffer;
  tls?: RequestorTlsOptions;
  connectTimeoutMs?: number;
  /** BULK_LQ_DATA_TIMEOUT (RFC 5460 section 5.6), default 300 s. */
  bulkDataTimeoutMs?: number;
  /** ACTIVE_LQ_RCV_TIMEOUT (RFC 7653), default 120 s. */
  activeRcvTimeoutMs?: number;
  /** Events buffered per query before reading pauses (default 1024). */
  highWater?: number;
}

interface Outstanding {
  xid: number;
  active: boolean;
  stream: EventStream<unknown>;
  converter: Converter<unknown>;
}

export class RequestorConnection implements StreamHost {
  readonly requestorDuid: Buffer;
  /** 'on' after a successful STARTTLS; 'refused' when the server refused and policy allowed clear text. */
  tlsState: 'none' | 'on' | 'refused' = 'none';
  private stream: Duplex;
  private decoder = new FrameDecoder();
  private readonly outstanding = new Map<number, Outstanding>();
  private paused = false;
  private rcvTimer?: NodeJS.Timeout;
  private closedFlag = false;
  private closeReason?: RequestorError;
  private readonly closeWaiters: (() => void)[] = [];

  private constructor(
    private socket: net.Socket,
    private readonly opts: TcpRequestorOptions,
  ) {
    this.requestorDuid = opts.requestorDuid ?? defaultRequestorDuid();
    this.stream = socket;
  }

  /** Connect (and negotiate STARTTLS if configured). */
  static async connect(opts: TcpRequestorOptions): Promise<RequestorConnection> {
    const port = opts.port ?? Defaults.PORT;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: opts.host, port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RequestorError('timeout', `no TCP connection to [${opts.host}]:${port} within ${opts.connectTimeoutMs ?? 10_000} ms`));
      }, opts.connectTimeoutMs ?? 10_000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new RequestorError('refused', `cannot connect to [${opts.host}]:${port}: ${err.code ?? err.message}`, { cause: err }));
      });
    });
    const conn = new RequestorConnection(socket, opts);
    try {
      if (opts.tls) await conn.startTls(opts.tls);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    conn.attach();
    return conn;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** STARTTLS as the first message; then the TLS handshake on the same TCP connection. */
  private async startTls(t: RequestorTlsOptions): Promise<void> {
    const xid = randomTransactionId();
    const reply = await this.exchangeFirst(encodeFramedMessage(buildStartTls(xid, this.requestorDuid)), xid);
    const { status, message } = messageStatus(reply);
    if (status === StatusCode.TLSConnectionRefused || status !== StatusCode.Success) {
      if (t.policy === 'prefer' && status === StatusCode.TLSConnectionRefused) {
        this.tlsState = 'refused';
        return;
      }
      throw new RequestorError('tls-refused', `the server refused STARTTLS (status ${status}${message ? `: ${message}` : ''})`);
    }
    const raw = this.socket;
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        socket: raw,
        host: this.opts.host,
        servername: t.servername ?? (net.isIP(this.opts.host) ? undefined : this.opts.host),
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      });
      s.once('secureConnect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => reject(new RequestorError('tls-failed', `TLS handshake with [${this.opts.host}] failed: ${err.message}`, { cause: err })));
    });
    this.stream = secure;
    this.tlsState = 'on';
  }

  /** Send the connection's first message and read one framed reply (before the normal reader runs). */
  private exchangeFirst(frame: Buffer, xid: number): Promise<ClientServerMessage> {
    const s = this.socket;
    const dec = new FrameDecoder();
    const timeoutMs = this.opts.bulkDataTimeoutMs ?? Defaults.BULK_LQ_DATA_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const done = (err?: Error, msg?: ClientServerMessage): void => {
        clearTimeout(timer);
        s.off('data', onData);
        s.off('close', onClose);
        s.pause();
        if (err) reject(err);
        else resolve(msg as ClientServerMessage);
      };
      const onData = (chunk: Buffer): void => {
        const frames = dec.push(chunk);
        if (frames.length === 0) return;
        if (frames.length > 1 || dec.bufferedBytes > 0) return done(new RequestorError('protocol', 'the server sent more than its STARTTLS reply before the TLS handshake'));
        try {
          const m = decodeMessage(frames[0]);
          if (m.kind !== 'client-server' || m.msgType !== MessageType.LEASEQUERY_REPLY || m.transactionId !== xid) {
            return done(new RequestorError('protocol', `expected the LEASEQUERY-REPLY to STARTTLS, got message type ${m.msgType}`));
          }
          done(undefined, m);
        } catch (err) {
          done(new RequestorError('protocol', `undecodable STARTTLS reply: ${(err as Error).message}`, { cause: err }));
        }
      };
      const onClose = (): void => done(new RequestorError('closed', 'the server closed the connection after STARTTLS'));
      const timer = setTimeout(() => done(new RequestorError('timeout', `no reply to STARTTLS within ${timeoutMs} ms`)), timeoutMs);
      s.on('data', onData);
      s.once('close', onClose);
      s.write(frame);
    });
  }

  private attach(): void {
    const s = this.stream;
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err: NodeJS.ErrnoException) => this.shutdown(new RequestorError('closed', `connection error: ${err.code ?? err.message}`, { cause: err })));
    s.on('close', () => this.shutdown(new RequestorError('closed', 'the server closed the connection')));
    s.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.closedFlag) return;
    this.armTimer();
    const frames = this.decoder.push(chunk);
    const receivedAt = Date.now();
    for (const f of frames) {
      let msg: Dhcp6Message;
      try {
        msg = decodeMessage(f);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.protocolError(`undecodable message from the server: ${err.message}`);
        return;
      }
      if (msg.kind !== 'client-server') return this.protocolError(`unexpected relay message ${msg.msgType}`);
      const o = this.outstanding.get(msg.transactionId);
      // RFC 5460 6.3: a message for no outstanding query means the stream is out of step: close.
      if (!o) return this.protocolError(`message type ${msg.msgType} for transaction ${msg.transactionId}, which is not outstanding`);
      let out;
      try {
        out = o.converter.convert(msg, receivedAt);
      } catch (err) {
        if (err instanceof ProtocolViolation) return this.protocolError(err.message);
        throw err;
      }
      for (const e of out.events) o.stream.push(e);
      if (out.complete) {
        o.stream.end();
        this.outstanding.delete(o.xid);
      }
    }
    this.onPressure();
  }

  /** Pause reading while any consumer is behind; resume when all have caught up. */
  onPressure(): void {
    if (this.closedFlag) return;
    let over = false;
    let allUnder = true;
    for (const o of this.outstanding.values()) {
      if (o.stream.overHighWater) over = true;
      if (!o.stream.underLowWater) allUnder = false;
    }
    if (!this.paused && over) {
      this.paused = true;
      this.stream.pause();
      this.armTimer();
    } else if (this.paused && allUnder) {
      this.paused = false;
      this.stream.resume();
      this.armTimer();
    }
  }

  onAbandon(): void {
    // The consumer stopped iterating: the rest of the answer cannot be cancelled on the wire.
    this.close();
  }

  private armTimer(): void {
    if (this.rcvTimer) clearTimeout(this.rcvTimer);
    this.rcvTimer = undefined;
    if (this.closedFlag || this.paused || this.outstanding.size === 0) return;
    let active = false;
    for (const o of this.outstanding.values()) if (o.active) active = true;
    const ms = active ? (this.opts.activeRcvTimeoutMs ?? Defaults.ACTIVE_LQ_RCV_TIMEOUT_MS) : (this.opts.bulkDataTimeoutMs ?? Defaults.BULK_LQ_DATA_TIMEOUT_MS);
    this.rcvTimer = setTimeout(() => {
      const what = active ? 'ACTIVE_LQ_RCV_TIMEOUT' : 'BULK_LQ_DATA_TIMEOUT';
      this.shutdown(new RequestorError('timeout', `nothing received from the server for ${ms} ms (${what})`));
    }, ms);
  }

  private protocolError(message: string): void {
    this.shutdown(new RequestorError('protocol', message));
  }

  private send(msg: ClientServerMessage): void {
    if (this.closedFlag) throw this.closeReason ?? new RequestorError('closed', 'the connection is closed');
    this.stream.write(encodeFramedMessage(msg));
  }

  private open<E>(active: boolean, msg: ClientServerMessage, converter: Converter<E>): EventStream<E> {
    const stream = new EventStream<E>(this, this.opts.highWater ?? 1024);
    if (this.closedFlag) {
      // Fail through the iterator, like any other loss of the connection.
      stream.fail(this.closeReason ?? new RequestorError('closed', 'the connection is closed'));
      return stream;
    }
    this.outstanding.set(msg.transactionId, { xid: msg.transactionId, active, stream: stream as EventStream<unknown>, converter });
    this.send(msg);
    this.armTimer();
    return stream;
  }

  private freshXid(): number {
    let xid = randomTransactionId();
    while (this.outstanding.has(xid)) xid = randomTransactionId();
    return xid;
  }

  /** A Bulk Leasequery: bindings, then one `done` (status Success when the answer is complete). */
  bulk(spec: QuerySpec, extras?: QueryExtras): AsyncIterableIterator<BulkEvent> {
    return this.open<BulkEvent>(false, buildLeasequery(this.freshXid(), this.requestorDuid, spec, extras), new BulkConverter());
  }

  /** An Active Leasequery (`spec` undefined = every binding). Runs until `done`, an error, or close(). */
  active(spec?: QuerySpec, extras?: QueryExtras): AsyncIterableIterator<ActiveEvent> {
    const msg = buildActiveLeasequery(this.freshXid(), this.requestorDuid, spec, extras);
    return this.open<ActiveEvent>(true, msg, new ActiveConverter(extras?.startTime !== undefined));
  }

  /** Close the connection; unfinished answers fail with code 'closed'. */
  close(): void {
    this.shutdown(new RequestorError('closed', 'the connection was closed by the requestor'));
  }

  /** Resolves when the connection is closed. */
  whenClosed(): Promise<void> {
    return this.closedFlag ? Promise.resolve() : new Promise((r) => this.closeWaiters.push(r));
  }

  private shutdown(reason: RequestorError): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.closeReason = reason;
    if (this.rcvTimer) clearTimeout(this.rcvTimer);
    for (const o of this.outstanding.values()) o.stream.fail(reason);
    this.outstanding.clear();
    this.stream.destroy();
    if (this.stream !== this.socket) this.socket.destroy();
    for (const w of this.closeWaiters) w();
  }
}

// The one writer of a TCP connection: whole framed messages (RFC 5460 section 5.1), so
// replies of a bulk query and updates of an active one can interleave safely, and
// back-pressure: when the socket's buffer is full, senders wait for 'drain', and a peer
// that does not read for `stallTimeoutMs` is cut off (RFC 5460 section 7.2
// BULK_LQ_DATA_TIMEOUT; RFC 7653 ACTIVE_LQ_SEND_TIMEOUT).
//
// Messages sent in one turn of the event loop are gathered and handed to the socket as
// one write (one system call for a burst of updates instead of one per message). Memory
// per connection stays under about twice `highWaterMark`.
import type { Duplex } from 'node:stream';
import { encodeFramedMessage, type Dhcp6Message } from '../../protocol/index.js';

export class ConnectionClosedError extends Error {
  constructor() {
    super('connection closed');
    this.name = 'ConnectionClosedError';
  }
}

/** Bytes gathered plus bytes queued in the socket beyond which senders must wait. */
const DEFAULT_HIGH_WATER = 256 * 1024;

export class FramedWriter {
  private stream: Duplex;
  private blockedFlag = false;
  private stallTimer?: NodeJS.Timeout;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closedFlag = false;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  /** The socket refused more (write() returned false): wait for its 'drain'. */
  private socketFull = false;
  /** performance.now() of the last message sent (keepalive bookkeeping). */
  lastWriteAt = performance.now();
  messagesSent = 0;
  /** Most bytes ever waiting (gathered + in the socket's buffer) when a sender was told to wait. */
  peakBuffered = 0;
  /** Called when the writer has room again, for senders that do not await (the live-update flush). */
  onDrain?: () => void;

  constructor(
    stream: Duplex,
    public stallTimeoutMs: number,
    private readonly onStall: () => void,
    private readonly highWaterMark = DEFAULT_HIGH_WATER,
  ) {
    this.stream = stream;
    stream.on('drain', this.handleDrain);
  }

  /** Switch to another stream (after STARTTLS, the TLS socket over the same TCP connection). */
  setStream(stream: Duplex): void {
    this.flushNow();
    this.stream.off('drain', this.handleDrain);
    this.stream = stream;
    this.socketFull = false;
    stream.on('drain', this.handleDrain);
  }

  get blocked(): boolean {
    return this.blockedFlag;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Bytes gathered or waiting in the socket's user-space buffer. */
  get bufferedBytes(): number {
    return this.batchBytes + this.stream.writableLength;
  }

  /**
   * Send one message. Returns false when the caller should stop producing until
   * drained() resolves. Throws EncodeError/FrameError for a message that cannot be
   * encoded (a bug, or a binding too large for one frame).
   */
  send(msg: Dhcp6Message): boolean {
    if (this.closedFlag) return false;
    const frame = encodeFramedMessage(msg);
    this.messagesSent++;
    this.lastWriteAt = performance.now();
    this.batch.push(frame);
    this.batchBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBatch);
    }
    const queued = this.batchBytes + this.stream.writableLength;
    if (queued < this.highWaterMark && !this.socketFull) return true;
    if (queued > this.peakBuffered) this.peakBuffered = queued;
    this.block();
    return false;
  }

  /** Resolves when there is room again (at once if there is); rejects once closed. */
  drained(): Promise<void> {
    if (this.closedFlag) return Promise.reject(new ConnectionClosedError());
    if (!this.blockedFlag) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Hand everything gathered so far to the socket now (e.g. before STARTTLS wraps it). */
  flushNow(): void {
    this.flushBatch();
  }

  private readonly flushBatch = (): void => {
    this.flushScheduled = false;
    if (this.closedFlag || this.batchBytes === 0) return;
    const data = this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    if (!this.stream.write(data)) {
      this.socketFull = true; // 'drain' will unblock
      this.block();
    } else if (this.blockedFlag && !this.socketFull) {
      this.unblock(); // the socket took it all: the senders waiting on our own gathering may go on
    }
  };

  private block(): void {
    if (this.blockedFlag) return;
    this.blockedFlag = true;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.blockedFlag && !this.closedFlag) this.onStall();
    }, this.stallTimeoutMs);
  }

  private unblock(): void {
    this.blockedFlag = false;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.resolve();
    this.onDrain?.();
  }

  private readonly handleDrain = (): void => {
    this.socketFull = false;
    if (this.batchBytes >= this.highWaterMark) return; // still too much gathered: the next flush decides
    if (this.blockedFlag) this.unblock();
  };

  /** The connection is gone: fail every waiter, stop the stall timer, drop what was gathered. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.batch = [];
    this.batchBytes = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.reject(new ConnectionClosedError());
    this.stream.off('drain', this.handleDrain);
  }
}

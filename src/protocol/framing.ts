// TCP framing of Bulk and Active Leasequery, RFC 5460 section 5.1 (RFC 7653 uses the
// same): every message is preceded by its size as 2 octets in network order.
//
//   message-size(2) message(message-size)
import { messageSize, writeMessageAt } from './codec.js';
import { EncodeError, FrameError } from './errors.js';
import type { Dhcp6Message } from './types.js';

export { FrameError };

/** The largest message a frame can carry. */
export const MAX_FRAME_PAYLOAD = 0xffff;
const HEADER = 2;
/** Smallest buffer the decoder allocates for a partial frame. */
const MIN_CAPACITY = 64;

/**
 * Splits a TCP byte stream into messages, whatever the chunking: a frame over many
 * chunks, many frames in one chunk, zero-length frames (returned as empty Buffers).
 *
 * Memory: only an incomplete frame is held, in a buffer that grows (doubling) with the
 * bytes that actually arrived and never beyond that frame's size, so a peer that
 * claims 65535 bytes and sends 3 costs 64 bytes, and no decoder holds more than one
 * maximal frame (65537 bytes).
 *
 * Frames wholly inside a pushed chunk are returned as views of that chunk (no copy):
 * do not reuse a chunk's memory after pushing it. A frame assembled from several
 * chunks is returned in a buffer the decoder gives up.
 */
export class FrameDecoder {
  /** Holds the incomplete frame, header included, in [0, held). */
  private partial: Buffer | null = null;
  private held = 0;

  /** Bytes received but not yet returned in a frame (at most 65536). */
  get bufferedBytes(): number {
    return this.held;
  }

  /** The message-size of the incomplete frame, or undefined if its header has not arrived. */
  get pendingFrameLength(): number | undefined {
    return this.partial !== null && this.held >= HEADER ? (this.partial[0] << 8) | this.partial[1] : undefined;
  }

  /** Feeds a chunk; returns the messages it completes, in order (without their size). */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let pos = 0;
    if (this.held > 0) {
      pos = this.fill(chunk, 0);
      if (this.partial === null) return frames;
      const total = HEADER + ((this.partial[0] << 8) | this.partial[1]);
      if (this.held < total) return frames;
      frames.push(this.partial.subarray(HEADER, total));
      this.partial = null;
      this.held = 0;
    }
    const n = chunk.length;
    while (n - pos >= HEADER) {
      const len = (chunk[pos] << 8) | chunk[pos + 1];
      if (n - pos - HEADER < len) break;
      frames.push(chunk.subarray(pos + HEADER, pos + HEADER + len));
      pos += HEADER + len;
    }
    if (pos < n) this.fill(chunk, pos);
    return frames;
  }

  /**
   * Appends what the incomplete frame still needs from chunk[pos..] to the partial
   * buffer (first the header, then the body); returns the position after what it took.
   * Leaves `partial` null only if nothing was held and nothing taken.
   */
  private fill(chunk: Buffer, pos: number): number {
    if (this.held < HEADER) {
      const take = Math.min(HEADER - this.held, chunk.length - pos);
      this.append(chunk, pos, take, MIN_CAPACITY);
      pos += take;
      if (this.held < HEADER) return pos;
    }
    const partial = this.partial as Buffer;
    const total = HEADER + ((partial[0] << 8) | partial[1]);
    const take = Math.min(total - this.held, chunk.length - pos);
    this.append(chunk, pos, take, total);
    return pos + take;
  }

  /** Copies n bytes into the partial buffer, growing it geometrically up to `limit`. */
  private append(chunk: Buffer, pos: number, n: number, limit: number): void {
    if (n === 0) return;
    const need = this.held + n;
    let buf = this.partial;
    if (buf === null || buf.length < need) {
      const capacity = Math.min(Math.max(need, MIN_CAPACITY, buf === null ? 0 : 2 * buf.length), Math.max(limit, need));
      const grown = Buffer.allocUnsafe(capacity);
      if (buf !== null) buf.copy(grown, 0, 0, this.held);
      buf = grown;
      this.partial = grown;
    }
    chunk.copy(buf, this.held, pos, pos + n);
    this.held = need;
  }
}

/** Prepends the 2-octet size to an encoded message. */
export function frameMessage(message: Uint8Array): Buffer {
  if (message.length > MAX_FRAME_PAYLOAD) {
    throw new FrameError(`a ${message.length}-byte message does not fit a TCP frame (at most ${MAX_FRAME_PAYLOAD} bytes)`);
  }
  const out = Buffer.allocUnsafe(HEADER + message.length);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, HEADER);
  return out;
}

/** Encodes a message with its frame header in one allocation (the TCP send path). */
export function encodeFramedMessage(msg: Dhcp6Message): Buffer {
  const size = messageSize(msg, 0);
  if (size > MAX_FRAME_PAYLOAD) {
    throw new FrameError(`a ${size}-byte message does not fit a TCP frame (at most ${MAX_FRAME_PAYLOAD} bytes)`);
  }
  const out = Buffer.allocUnsafe(HEADER + size);
  out[0] = size >>> 8;
  out[1] = size & 0xff;
  if (writeMessageAt(msg, out, HEADER, 0) !== HEADER + size) throw new EncodeError('too-long', 'internal: message size changed while encoding');
  return out;
}

// Whole DHCPv6 messages: RELAY-FORW and RELAY-REPL (12, 13) have the relay header,
// every other msg-type the client/server header (RFC 8415 sections 8 and 9):
//
//   client/server: msg-type(1) transaction-id(3) options
//   relay:         msg-type(1) hop-count(1) link-address(16) peer-address(16) options
//
// decodeMessage is lossless or throws DecodeError: whatever it returns, encodeMessage
// turns back into the same bytes.
import { decodeMessageAt, messageSize, writeMessageAt } from './codec.js';
import { EncodeError } from './errors.js';
import type { Dhcp6Message } from './types.js';

/** Views a Uint8Array as a Buffer without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes one message occupying all of `bytes`. Decoded Buffers are views into
 * `bytes` (see types.ts). Throws DecodeError, and nothing else, on bad input.
 */
export function decodeMessage(bytes: Uint8Array): Dhcp6Message {
  const buf = asBuffer(bytes);
  return decodeMessageAt(buf, 0, buf.length, 0);
}

/** Encoded size of a message in bytes; throws EncodeError if it has no valid encoding. */
export function encodedLength(msg: Dhcp6Message): number {
  return messageSize(msg, 0);
}

/** Encodes a message into one freshly allocated Buffer of exactly its size. */
export function encodeMessage(msg: Dhcp6Message): Buffer {
  const size = messageSize(msg, 0);
  const buf = Buffer.allocUnsafe(size);
  finish(writeMessageAt(msg, buf, 0, 0), size);
  return buf;
}

/**
 * Encodes a message into `buf` at `offset` (for writers that batch many messages into
 * one buffer); returns the offset after it. On EncodeError `buf` may hold a partial
 * message from `offset` on.
 */
export function encodeMessageInto(msg: Dhcp6Message, buf: Buffer, offset = 0): number {
  const size = messageSize(msg, 0);
  if (offset < 0 || buf.length - offset < size) {
    throw new EncodeError('too-long', `the message needs ${size} bytes but the buffer has ${Math.max(0, buf.length - offset)} from offset ${offset}`);
  }
  return finish(writeMessageAt(msg, buf, offset, 0), offset + size);
}

function finish(end: number, expected: number): number {
  // Only a model changed between the size and write passes could get here.
  if (end !== expected) throw new Error(`internal: wrote ${end} bytes where ${expected} were sized (was the message modified while encoding?)`);
  return end;
}

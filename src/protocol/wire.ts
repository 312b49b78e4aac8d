// Byte-level helpers shared by the message and option codecs. Plain functions over a
// Buffer and an offset: the callers check bounds once per option, then read freely.
import { DecodeError, EncodeError } from './errors.js';

/**
 * How many containers (options holding options, options holding a message) may nest.
 * 16 leaves room for a full relay chain (RFC 8415 HOP_COUNT_LIMIT = 8 relays) inside
 * OPTION_LQ_RELAY_DATA inside OPTION_CLIENT_DATA, with IA options below it, while
 * keeping recursion on hostile input bounded.
 */
export const MAX_NESTING_DEPTH = 16;

export function readU16(b: Buffer, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function readU32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function writeU8(b: Buffer, o: number, v: number, field: string): number {
  if ((v & 0xff) !== v) throw badField(field, v, 'an 8-bit unsigned integer');
  b[o] = v;
  return o + 1;
}

export function writeU16(b: Buffer, o: number, v: number, field: string): number {
  if ((v & 0xffff) !== v) throw badField(field, v, 'a 16-bit unsigned integer');
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
  return o + 2;
}

export function writeU24(b: Buffer, o: number, v: number, field: string): number {
  if ((v & 0xffffff) !== v) throw badField(field, v, 'a 24-bit unsigned integer');
  b[o] = v >>> 16;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = v & 0xff;
  return o + 3;
}

export function writeU32(b: Buffer, o: number, v: number, field: string): number {
  if (v >>> 0 !== v) throw badField(field, v, 'a 32-bit unsigned integer');
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
  return o + 4;
}

/** Copies bytes; a loop beats Buffer#set's call overhead for the 16-byte addresses. */
export function writeBytes(b: Buffer, o: number, src: Uint8Array): number {
  const n = src.length;
  if (n > 32) {
    b.set(src, o);
    return o + n;
  }
  for (let i = 0; i < n; i++) b[o + i] = src[i];
  return o + n;
}

export function writeAddress(b: Buffer, o: number, addr: Uint8Array, field: string): number {
  if (!(addr instanceof Uint8Array) || addr.length !== 16) {
    throw new EncodeError('bad-address', `${field} must be a 16-byte IPv6 address, got ${describeValue(addr)}`);
  }
  return writeBytes(b, o, addr);
}

function badField(field: string, v: number, what: string): EncodeError {
  return new EncodeError('bad-field', `${field} must be ${what}, got ${describeValue(v)}`);
}

function describeValue(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v === 'number' ? String(v) : typeof v;
}

// ---- decode-side length checks: `start` is where the option's data begins, so its
// header (the offset reported) is at start - 4.

export function needAtLeast(start: number, end: number, min: number, code: number, name: string, why = ''): void {
  if (end - start < min) {
    throw new DecodeError(
      'bad-length',
      start - 4,
      `option ${code} (${name}) at offset ${start - 4} has length ${end - start}; it needs at least ${min}${why}`,
      code,
    );
  }
}

export function needExactly(start: number, end: number, len: number, code: number, name: string): void {
  if (end - start !== len) {
    throw new DecodeError('bad-length', start - 4, `option ${code} (${name}) at offset ${start - 4} has length ${end - start}; it must be ${len}`, code);
  }
}

export function needMultipleOf(start: number, end: number, unit: number, code: number, name: string): void {
  if ((end - start) % unit !== 0) {
    throw new DecodeError(
      'bad-length',
      start - 4,
      `option ${code} (${name}) at offset ${start - 4} has length ${end - start}; it must be a multiple of ${unit}`,
      code,
    );
  }
}

/** Lowercase hex of bytes, for JSON and messages. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

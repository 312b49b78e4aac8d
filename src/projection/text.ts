// Event text -> bytes, fast. Events carry addresses as RFC 5952 text and identifiers as
// lowercase hex; the tables keep bytes. parseIPv6 (src/protocol) accepts every textual
// form but costs about 6 us (ipaddr.js); an event has up to six addresses, so the common
// hex-only forms are parsed here in a single pass and anything else (dotted IPv4
// suffix, zone index, invalid text) goes to parseIPv6, which is the authority on what is
// valid and produces the error message.
import { parseIPv6 } from '../protocol/index.js';
import { ProjectionInputError } from './errors.js';

const groups = new Int32Array(8);

/** Writes the 16 bytes of IPv6 text `s` at out[off]. Throws ProjectionInputError on invalid text. */
export function ipv6Into(s: string, out: Uint8Array, off: number): void {
  if (fastIPv6Into(s, out, off)) return;
  let b: Buffer;
  try {
    b = parseIPv6(s);
  } catch (err) {
    throw new ProjectionInputError((err as Error).message);
  }
  out.set(b, off);
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/** Hex groups with at most one '::'; false for anything else (the slow path decides). */
function fastIPv6Into(s: string, out: Uint8Array, off: number): boolean {
  const n = s.length;
  if (n < 2 || n > 39) return false;
  let count = 0; // groups parsed
  let gap = -1; // index in `groups` where '::' stands
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, off, off + 16);
      return true;
    }
  }
  for (;;) {
    let v = 0;
    let digits = 0;
    while (i < n) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      v = (v << 4) | d;
      if (++digits > 4) return false;
      i++;
    }
    if (digits === 0 || count === 8) return false;
    groups[count++] = v;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false; // '.', '%', or garbage: slow path
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return false; // a single trailing ':'
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const zeros = gap < 0 ? 0 : 8 - count;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v: number;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = groups[g++];
    out[off + 2 * k] = v >>> 8;
    out[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/** Writes the bytes of lowercase (or uppercase) hex `s` at out[off]; returns the byte count. */
export function hexInto(s: string, out: Uint8Array, off: number, what: string): number {
  const n = s.length;
  if (n & 1) throw new ProjectionInputError(`${what} '${s}' is not hex: odd length`);
  if (off + n / 2 > out.length) throw new ProjectionInputError(`${what} is ${n / 2} bytes, more than the ${out.length - off} this field holds`);
  for (let i = 0, o = off; i < n; i += 2, o++) {
    const hi = hexDigit(s.charCodeAt(i));
    const lo = hexDigit(s.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) throw new ProjectionInputError(`${what} '${s}' is not hex at character ${i}`);
    out[o] = (hi << 4) | lo;
  }
  return n / 2;
}

/** Latin1 string (one char per byte) of bytes [from, to) of `b`: the tables' key form. */
export function latin1(b: Buffer, from = 0, to = b.length): string {
  return b.toString('latin1', from, to);
}

/** Bytes of a latin1 string range as a new Buffer. */
export function bufferOf(s: string, from = 0, to = s.length): Buffer {
  return Buffer.from(from === 0 && to === s.length ? s : s.slice(from, to), 'latin1');
}

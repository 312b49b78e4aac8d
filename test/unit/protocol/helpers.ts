// Shared bits of the protocol tests: hex written by hand with spaces and '|' between
// fields, and the addresses and DUIDs the fixtures reuse.
import { expect } from 'vitest';
import { decodeMessage, DecodeError, encodeMessage, parseIPv6, type Dhcp6Message } from '../../../src/protocol/index.js';

/** Bytes from hand-written hex: whitespace and '|' separators are ignored. */
export function hx(text: string): Buffer {
  const digits = text.replace(/[\s|]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad fixture hex: ${text}`);
  return Buffer.from(digits, 'hex');
}

export const ip = parseIPv6;

// Addresses as hex, for writing fixtures (RFC 3849 documentation prefix).
export const A1 = '20010db8 00010000 00000000 0000001a'; // 2001:db8:1::1a
export const A2 = '20010db8 00010000 00000000 0000001b'; // 2001:db8:1::1b
export const LINK = '20010db8 00010000 00000000 00000001'; // 2001:db8:1::1
export const LINK2 = '20010db8 00020000 00000000 00000001'; // 2001:db8:2::1
export const PEER = 'fe800000 00000000 0216 3eff fe11 2233'; // fe80::216:3eff:fe11:2233
export const RELAY2 = '20010db8 ffff0000 00000000 00000002'; // 2001:db8:ffff::2
export const ZERO = '00000000 00000000 00000000 00000000'; // ::
export const PFX = '20010db8 00123400 00000000 00000000'; // 2001:db8:12:3400::

/** DUID-LLT (RFC 8415 section 11.2): type 1, hw-type 1, time 0x2d2b1c00, MAC 00:16:3e:11:22:33. */
export const DUID_LLT = '0001 0001 2d2b1c00 00163e112233';
/** DUID-EN, the example of RFC 8415 section 11.3: enterprise 9, identifier 0CC084D303000912. */
export const DUID_EN = '0002 00000009 0cc084d303000912';
/** DUID-LL (RFC 8415 section 11.4): type 3, hw-type 1, link-layer 0a:0b:0c:0d:0e:0f. */
export const DUID_LL = '0003 0001 0a0b0c0d0e0f';

/** Decodes, checks the model, re-encodes and checks the bytes are the same. */
export function roundTrip(hex: string, expected: Dhcp6Message): Dhcp6Message {
  const bytes = hx(hex);
  const msg = decodeMessage(bytes);
  expect(msg).toEqual(expected);
  expect(encodeMessage(msg).toString('hex')).toBe(bytes.toString('hex'));
  expect(encodeMessage(expected).toString('hex')).toBe(bytes.toString('hex'));
  return msg;
}

/** The DecodeError a decode of `bytes` throws (fails the test if it throws nothing or something else). */
export function decodeFailure(bytes: Buffer, decode: (b: Buffer) => unknown = decodeMessage): DecodeError {
  try {
    decode(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error(`expected a DecodeError for ${bytes.toString('hex')}`);
}

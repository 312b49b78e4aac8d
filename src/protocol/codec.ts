// The walkers: option lists (RFC 8415 section 21.1: option-code(2) option-len(2)
// option-data) and message headers (RFC 8415 sections 8 and 9), with the registry
// deciding what each option's data means. All offsets are absolute in the buffer given
// to the top-level call, so a DecodeError points at the byte a person would look at.
//
// Encoding is two passes: size (validates, and gives the one allocation its length),
// then write in place; option lengths are back-patched after each option's data.
// Encoding accepts exactly the models decoding can produce, so for every message m that
// encodes, decode(encode(m)) equals m (and for every input that decodes, the reverse).
import { displayMessageType } from './message-names.js';
import { DecodeError, EncodeError } from './errors.js';
import type { Nested, OptionCodec } from './option-codec.js';
import { decodeUnknown, unknownSize, writeUnknown } from './options/unknown.js';
import { codecByCode } from './registry.js';
import type { Dhcp6Message, Dhcp6Option, UnknownOption } from './types.js';
import { MAX_NESTING_DEPTH, writeAddress, writeU16, writeU24, writeU8 } from './wire.js';

const RELAY_FORW = 12;
const RELAY_REPL = 13;
/** msg-type(1) hop-count(1) link-address(16) peer-address(16), RFC 8415 section 9. */
export const RELAY_HEADER_LENGTH = 34;
/** msg-type(1) transaction-id(3), RFC 8415 section 8. */
export const CLIENT_HEADER_LENGTH = 4;
const MAX_OPTION_LENGTH = 0xffff;

function tooDeep(offset: number, depth: number): DecodeError {
  return new DecodeError('too-deep', offset, `content at offset ${offset} is nested ${depth} levels deep; the limit is ${MAX_NESTING_DEPTH}`);
}

export function decodeOptionList(buf: Buffer, start: number, end: number, depth: number): Dhcp6Option[] {
  if (depth > MAX_NESTING_DEPTH) throw tooDeep(start, depth);
  const out: Dhcp6Option[] = [];
  let off = start;
  while (off < end) {
    if (end - off < 4) {
      throw new DecodeError('truncated-option', off, `${end - off} byte(s) at offset ${off} are too few for an option header (4 bytes)`);
    }
    const code = (buf[off] << 8) | buf[off + 1];
    const len = (buf[off + 2] << 8) | buf[off + 3];
    const dataStart = off + 4;
    const dataEnd = dataStart + len;
    if (dataEnd > end) {
      throw new DecodeError('option-overrun', off, `option ${code} at offset ${off} claims ${len} bytes but only ${end - dataStart} remain`, code);
    }
    const codec = code < codecByCode.length ? codecByCode[code] : undefined;
    if (codec === undefined) {
      out.push(decodeUnknown(buf, code, dataStart, dataEnd));
    } else {
      try {
        out.push(codec.decode(buf, dataStart, dataEnd, depth, nested));
      } catch (e) {
        if (e instanceof DecodeError) e.enter(`${codec.name}(${code})`);
        throw e;
      }
    }
    off = dataEnd;
  }
  return out;
}

export function decodeMessageAt(buf: Buffer, start: number, end: number, depth: number): Dhcp6Message {
  if (depth > MAX_NESTING_DEPTH) throw tooDeep(start, depth);
  const len = end - start;
  if (len < 1) throw new DecodeError('truncated-header', start, `the message at offset ${start} is empty`);
  const msgType = buf[start];
  const relay = msgType === RELAY_FORW || msgType === RELAY_REPL;
  const headerLength = relay ? RELAY_HEADER_LENGTH : CLIENT_HEADER_LENGTH;
  if (len < headerLength) {
    throw new DecodeError(
      'truncated-header',
      start,
      `the ${displayMessageType(msgType)} (${msgType}) message at offset ${start} is ${len} byte(s); its header needs ${headerLength}`,
    );
  }
  try {
    if (relay) {
      return {
        kind: 'relay',
        msgType,
        hopCount: buf[start + 1],
        linkAddress: buf.subarray(start + 2, start + 18),
        peerAddress: buf.subarray(start + 18, start + 34),
        options: decodeOptionList(buf, start + RELAY_HEADER_LENGTH, end, depth),
      };
    }
    return {
      kind: 'client-server',
      msgType,
      transactionId: (buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3],
      options: decodeOptionList(buf, start + CLIENT_HEADER_LENGTH, end, depth),
    };
  } catch (e) {
    if (e instanceof DecodeError) e.enter(displayMessageType(msgType));
    throw e;
  }
}

/**
 * The codec that writes an option object, or undefined for `unknown` ones. The walkers
 * see every option shape, so they read `name` and `code` once and pass them on.
 */
function codecFor(name: string, code: number): OptionCodec | undefined {
  const codec = code < codecByCode.length ? codecByCode[code] : undefined;
  if (name === 'unknown') {
    // Decoding would give these bytes back typed (or reject them): not lossless.
    if (codec !== undefined) throw new EncodeError('bad-field', `option ${code} is modelled as '${codec.name}'; give it in that form, not as 'unknown'`);
    return undefined;
  }
  if (codec === undefined || codec.name !== name) {
    throw new EncodeError('bad-field', `option '${name}' has code ${String(code)}, which is not its code`);
  }
  return codec;
}

export function optionListSize(options: readonly Dhcp6Option[], depth: number): number {
  if (depth > MAX_NESTING_DEPTH) throw new EncodeError('too-deep', `options nested ${depth} levels deep; the limit is ${MAX_NESTING_DEPTH}`);
  let n = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    const code = o.code;
    const codec = codecFor(o.name, code);
    const size = codec === undefined ? unknownSize(o as UnknownOption) : codec.size(o, depth, nested);
    if (size > MAX_OPTION_LENGTH) {
      throw new EncodeError('too-long', `option ${code} (${o.name}) would be ${size} bytes; an option holds at most ${MAX_OPTION_LENGTH}`);
    }
    n += 4 + size;
  }
  return n;
}

export function writeOptionList(options: readonly Dhcp6Option[], buf: Buffer, off: number, depth: number): number {
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    const code = o.code;
    const codec = codecFor(o.name, code);
    writeU16(buf, off, code, 'option code');
    const dataStart = off + 4;
    const end = codec === undefined ? writeUnknown(o as UnknownOption, buf, dataStart) : codec.write(o, buf, dataStart, depth, nested);
    const len = end - dataStart;
    buf[off + 2] = len >>> 8;
    buf[off + 3] = len & 0xff;
    off = end;
  }
  return off;
}

export function messageSize(msg: Dhcp6Message, depth: number): number {
  if (depth > MAX_NESTING_DEPTH) throw new EncodeError('too-deep', `messages nested ${depth} levels deep; the limit is ${MAX_NESTING_DEPTH}`);
  const relay = msg.msgType === RELAY_FORW || msg.msgType === RELAY_REPL;
  // The header form follows from msg-type on decode, so it must on encode too.
  if (relay !== (msg.kind === 'relay')) {
    throw new EncodeError('bad-field', `msg-type ${msg.msgType} is ${relay ? '' : 'not '}a relay message type, but the message kind is '${msg.kind}'`);
  }
  return (relay ? RELAY_HEADER_LENGTH : CLIENT_HEADER_LENGTH) + optionListSize(msg.options, depth);
}

export function writeMessageAt(msg: Dhcp6Message, buf: Buffer, off: number, depth: number): number {
  off = writeU8(buf, off, msg.msgType, 'msgType');
  if (msg.kind === 'relay') {
    off = writeU8(buf, off, msg.hopCount, 'hopCount');
    off = writeAddress(buf, off, msg.linkAddress, 'linkAddress');
    off = writeAddress(buf, off, msg.peerAddress, 'peerAddress');
  } else {
    off = writeU24(buf, off, msg.transactionId, 'transactionId');
  }
  return writeOptionList(msg.options, buf, off, depth);
}

const nested: Nested = {
  decodeOptions: decodeOptionList,
  decodeMessage: decodeMessageAt,
  optionsSize: optionListSize,
  messageSize,
  writeOptions: writeOptionList,
  writeMessage: writeMessageAt,
};

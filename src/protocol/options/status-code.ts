// OPTION_STATUS_CODE (13), RFC 8415 section 21.13.
//
//   option-code(2) option-len(2) status-code(2) status-message(option-len - 2, UTF-8)
//
// The message is decoded with a fatal UTF-8 decoder that keeps a leading BOM, so any
// message that decodes re-encodes to the same bytes; invalid UTF-8 is a DecodeError.
import { statusName } from '../constants.js';
import { DecodeError, EncodeError } from '../errors.js';
import type { OptionCodec } from '../option-codec.js';
import type { StatusCodeOption } from '../types.js';
import { needAtLeast, readU16, writeU16 } from '../wire.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** A surrogate half without its partner: UTF-8 cannot carry it (it would become U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function decodeUtf8(buf: Buffer, start: number, end: number): string {
  // Most status messages are short ASCII: skip TextDecoder's call overhead for them.
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString('latin1', start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new DecodeError('bad-utf8', start - 6, `option 13 (statusCode) at offset ${start - 6} has a status message that is not valid UTF-8`, 13);
  }
}

export const statusCodeCodec: OptionCodec<StatusCodeOption> = {
  code: 13,
  name: 'statusCode',
  label: 'OPTION_STATUS_CODE',
  spec: 'RFC 8415 section 21.13',
  decode(buf, start, end) {
    needAtLeast(start, end, 2, 13, 'statusCode', ' (status-code)');
    return { name: 'statusCode', code: 13, status: readU16(buf, start), message: decodeUtf8(buf, start + 2, end) };
  },
  size(o) {
    if (LONE_SURROGATE.test(o.message)) throw new EncodeError('bad-utf8', 'statusCode.message has lone surrogates and cannot be UTF-8 encoded losslessly');
    return 2 + Buffer.byteLength(o.message, 'utf8');
  },
  write(o, buf, off) {
    off = writeU16(buf, off, o.status, 'statusCode.status');
    return off + buf.write(o.message, off, 'utf8');
  },
  toJson: (o) => ({ status: o.status, statusName: statusName(o.status), message: o.message }),
};

// Every option this project does not model: kept as code + raw bytes and written back
// byte for byte (shared/protocol/CODEPOINTS.md).
//
//   option-code(2) option-len(2) option-data(option-len)
import type { UnknownOption } from '../types.js';
import { writeBytes } from '../wire.js';

export function decodeUnknown(buf: Buffer, code: number, start: number, end: number): UnknownOption {
  return { name: 'unknown', code, data: buf.subarray(start, end) };
}

export const unknownSize = (o: UnknownOption): number => o.data.length;

export const writeUnknown = (o: UnknownOption, buf: Buffer, off: number): number => writeBytes(buf, off, o.data);

export const unknownJson = (o: UnknownOption): Record<string, unknown> => ({ data: o.data.toString('hex') });

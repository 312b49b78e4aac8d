// OPTION_IAPREFIX (26), RFC 8415 section 21.22: one delegated prefix of an IA_PD, or
// (RFC 5007 section 4.1.2.2) one prefix directly inside OPTION_CLIENT_DATA.
//
//   option-code(2) option-len(2) preferred-lifetime(4) valid-lifetime(4)
//   prefix-length(1) IPv6-prefix(16) IAprefix-options(option-len - 25)
//
// Bits of the prefix beyond prefix-length are kept as sent: the codec is lossless,
// and whether they must be zero is for the layer that uses the prefix.
import type { OptionCodec } from '../option-codec.js';
import { formatIPv6 } from '../text.js';
import type { IaPrefixOption } from '../types.js';
import { needAtLeast, readU32, writeAddress, writeU32, writeU8 } from '../wire.js';
import { lifetimeJson } from './json-fields.js';

export const iaPrefixCodec: OptionCodec<IaPrefixOption> = {
  code: 26,
  name: 'iaPrefix',
  label: 'OPTION_IAPREFIX',
  spec: 'RFC 8415 section 21.22',
  decode(buf, start, end, depth, nested) {
    needAtLeast(start, end, 25, 26, 'iaPrefix', ' (lifetimes, prefix-length, prefix)');
    return {
      name: 'iaPrefix',
      code: 26,
      preferredLifetime: readU32(buf, start),
      validLifetime: readU32(buf, start + 4),
      prefixLength: buf[start + 8],
      prefix: buf.subarray(start + 9, start + 25),
      options: nested.decodeOptions(buf, start + 25, end, depth + 1),
    };
  },
  size: (o, depth, nested) => 25 + nested.optionsSize(o.options, depth + 1),
  write(o, buf, off, depth, nested) {
    off = writeU32(buf, off, o.preferredLifetime, 'iaPrefix.preferredLifetime');
    off = writeU32(buf, off, o.validLifetime, 'iaPrefix.validLifetime');
    off = writeU8(buf, off, o.prefixLength, 'iaPrefix.prefixLength');
    off = writeAddress(buf, off, o.prefix, 'iaPrefix.prefix');
    return nested.writeOptions(o.options, buf, off, depth + 1);
  },
  toJson: (o, nested) => ({
    prefix: `${formatIPv6(o.prefix)}/${o.prefixLength}`,
    prefixLength: o.prefixLength,
    ...lifetimeJson('preferredLifetime', o.preferredLifetime),
    ...lifetimeJson('validLifetime', o.validLifetime),
    options: nested.options(o.options),
  }),
};

// OPTION_IAADDR (5), RFC 8415 section 21.6: one address of an IA_NA, or (RFC 5007
// section 4.1.2.2) one address directly inside OPTION_CLIENT_DATA or OPTION_LQ_QUERY.
//
//   option-code(2) option-len(2) IPv6-address(16) preferred-lifetime(4)
//   valid-lifetime(4) IAaddr-options(option-len - 24)
import type { OptionCodec } from '../option-codec.js';
import { formatIPv6 } from '../text.js';
import type { IaAddrOption } from '../types.js';
import { needAtLeast, readU32, writeAddress, writeU32 } from '../wire.js';
import { lifetimeJson } from './json-fields.js';

export const iaAddrCodec: OptionCodec<IaAddrOption> = {
  code: 5,
  name: 'iaAddr',
  label: 'OPTION_IAADDR',
  spec: 'RFC 8415 section 21.6',
  decode(buf, start, end, depth, nested) {
    needAtLeast(start, end, 24, 5, 'iaAddr', ' (address, preferred and valid lifetimes)');
    return {
      name: 'iaAddr',
      code: 5,
      address: buf.subarray(start, start + 16),
      preferredLifetime: readU32(buf, start + 16),
      validLifetime: readU32(buf, start + 20),
      options: nested.decodeOptions(buf, start + 24, end, depth + 1),
    };
  },
  size: (o, depth, nested) => 24 + nested.optionsSize(o.options, depth + 1),
  write(o, buf, off, depth, nested) {
    off = writeAddress(buf, off, o.address, 'iaAddr.address');
    off = writeU32(buf, off, o.preferredLifetime, 'iaAddr.preferredLifetime');
    off = writeU32(buf, off, o.validLifetime, 'iaAddr.validLifetime');
    return nested.writeOptions(o.options, buf, off, depth + 1);
  },
  toJson: (o, nested) => ({
    address: formatIPv6(o.address),
    ...lifetimeJson('preferredLifetime', o.preferredLifetime),
    ...lifetimeJson('validLifetime', o.validLifetime),
    options: nested.options(o.options),
  }),
};

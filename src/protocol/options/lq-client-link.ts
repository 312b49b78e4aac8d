// OPTION_LQ_CLIENT_LINK (48), RFC 5007 section 4.1.2.5: the links on which a client
// queried without a link-address has bindings.
//
//   option-code(2) option-len(2) link-address(16) * (option-len / 16)
import type { OptionCodec } from '../option-codec.js';
import { formatIPv6 } from '../text.js';
import type { LqClientLinkOption } from '../types.js';
import { needMultipleOf, writeAddress } from '../wire.js';

export const lqClientLinkCodec: OptionCodec<LqClientLinkOption> = {
  code: 48,
  name: 'lqClientLink',
  label: 'OPTION_LQ_CLIENT_LINK',
  spec: 'RFC 5007 section 4.1.2.5',
  decode(buf, start, end) {
    needMultipleOf(start, end, 16, 48, 'lqClientLink');
    const linkAddresses: Buffer[] = [];
    for (let o = start; o < end; o += 16) linkAddresses.push(buf.subarray(o, o + 16));
    return { name: 'lqClientLink', code: 48, linkAddresses };
  },
  size: (o) => 16 * o.linkAddresses.length,
  write(o, buf, off) {
    for (const a of o.linkAddresses) off = writeAddress(buf, off, a, 'lqClientLink.linkAddresses[]');
    return off;
  },
  toJson: (o) => ({ linkAddresses: o.linkAddresses.map(formatIPv6) }),
};

// OPTION_LQ_QUERY (44), RFC 5007 section 4.1.2.1 (query types 3-5: RFC 5460 section 5.3).
//
//   option-code(2) option-len(2) query-type(1) link-address(16) query-options(option-len - 17)
//
// Whether the query-options hold what the query-type requires is the server's
// question (MalformedQuery), not the codec's.
import { queryTypeName } from '../constants.js';
import type { OptionCodec } from '../option-codec.js';
import { formatIPv6 } from '../text.js';
import type { LqQueryOption } from '../types.js';
import { needAtLeast, writeAddress, writeU8 } from '../wire.js';

export const lqQueryCodec: OptionCodec<LqQueryOption> = {
  code: 44,
  name: 'lqQuery',
  label: 'OPTION_LQ_QUERY',
  spec: 'RFC 5007 section 4.1.2.1',
  decode(buf, start, end, depth, nested) {
    needAtLeast(start, end, 17, 44, 'lqQuery', ' (query-type, link-address)');
    return {
      name: 'lqQuery',
      code: 44,
      queryType: buf[start],
      linkAddress: buf.subarray(start + 1, start + 17),
      options: nested.decodeOptions(buf, start + 17, end, depth + 1),
    };
  },
  size: (o, depth, nested) => 17 + nested.optionsSize(o.options, depth + 1),
  write(o, buf, off, depth, nested) {
    off = writeU8(buf, off, o.queryType, 'lqQuery.queryType');
    off = writeAddress(buf, off, o.linkAddress, 'lqQuery.linkAddress');
    return nested.writeOptions(o.options, buf, off, depth + 1);
  },
  toJson: (o, nested) => ({
    queryType: o.queryType,
    queryTypeName: queryTypeName(o.queryType),
    linkAddress: formatIPv6(o.linkAddress),
    options: nested.options(o.options),
  }),
};

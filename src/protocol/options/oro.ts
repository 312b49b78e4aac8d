// OPTION_ORO (6), RFC 8415 section 21.7: the options a requestor asks for. In
// leasequery it appears both in the message and inside OPTION_LQ_QUERY (RFC 5007
// section 4.1.2.1), where it asks for options per client (e.g. OPTION_LQ_RELAY_DATA).
//
//   option-code(2) option-len(2) requested-option-code(2) * (option-len / 2)
import type { OptionCodec } from '../option-codec.js';
import type { OroOption } from '../types.js';
import { needMultipleOf, writeU16 } from '../wire.js';

export const oroCodec: OptionCodec<OroOption> = {
  code: 6,
  name: 'oro',
  label: 'OPTION_ORO',
  spec: 'RFC 8415 section 21.7',
  decode(buf, start, end) {
    needMultipleOf(start, end, 2, 6, 'oro');
    const codes = new Array<number>((end - start) >>> 1);
    for (let i = 0, o = start; o < end; i++, o += 2) codes[i] = (buf[o] << 8) | buf[o + 1];
    return { name: 'oro', code: 6, codes };
  },
  size: (o) => 2 * o.codes.length,
  write(o, buf, off) {
    for (const c of o.codes) off = writeU16(buf, off, c, 'oro.codes[]');
    return off;
  },
  toJson: (o, nested) => ({ codes: o.codes, names: o.codes.map((c) => nested.optionName(c)) }),
};

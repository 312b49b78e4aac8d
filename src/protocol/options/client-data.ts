// The per-client answer of a leasequery, RFC 5007 section 4.1.2.2 and 4.1.2.3:
//   OPTION_CLIENT_DATA (45):  option-code(2) option-len(2) client-options(option-len)
//     client-options: OPTION_CLIENTID, OPTION_IAADDR*, OPTION_IAPREFIX* (directly, not
//     inside IA_NA/IA_PD), OPTION_CLT_TIME, OPTION_LQ_RELAY_DATA and others.
//   OPTION_CLT_TIME (46):     option-code(2) option-len(2)=4 client-last-transaction-time(4)
import type { OptionCodec } from '../option-codec.js';
import type { ClientDataOption, CltTimeOption } from '../types.js';
import { needExactly, readU32, writeU32 } from '../wire.js';

export const clientDataCodec: OptionCodec<ClientDataOption> = {
  code: 45,
  name: 'clientData',
  label: 'OPTION_CLIENT_DATA',
  spec: 'RFC 5007 section 4.1.2.2',
  decode: (buf, start, end, depth, nested) => ({ name: 'clientData', code: 45, options: nested.decodeOptions(buf, start, end, depth + 1) }),
  size: (o, depth, nested) => nested.optionsSize(o.options, depth + 1),
  write: (o, buf, off, depth, nested) => nested.writeOptions(o.options, buf, off, depth + 1),
  toJson: (o, nested) => ({ options: nested.options(o.options) }),
};

export const cltTimeCodec: OptionCodec<CltTimeOption> = {
  code: 46,
  name: 'cltTime',
  label: 'OPTION_CLT_TIME',
  spec: 'RFC 5007 section 4.1.2.3',
  decode(buf, start, end) {
    needExactly(start, end, 4, 46, 'cltTime');
    return { name: 'cltTime', code: 46, seconds: readU32(buf, start) };
  },
  size: () => 4,
  write: (o, buf, off) => writeU32(buf, off, o.seconds, 'cltTime.seconds'),
  toJson: (o) => ({ seconds: o.seconds }),
};

// Identity associations: OPTION_IA_NA (3) and OPTION_IA_PD (25), RFC 8415 sections
// 21.4 and 21.21. Both have the same layout:
//
//   option-code(2) option-len(2) IAID(4) T1(4) T2(4) IA-options(option-len - 12)
import type { OptionCodec } from '../option-codec.js';
import type { IaNaOption, IaPdOption } from '../types.js';
import { needAtLeast, readU32, writeU32 } from '../wire.js';
import { lifetimeJson } from './json-fields.js';

type IaOption = IaNaOption | IaPdOption;

function iaCodec<O extends IaOption>(code: O['code'], name: O['name'], label: string, spec: string): OptionCodec<O> {
  return {
    code,
    name,
    label,
    spec,
    decode(buf, start, end, depth, nested) {
      needAtLeast(start, end, 12, code, name, ' (IAID, T1, T2)');
      return {
        name,
        code,
        iaid: readU32(buf, start),
        t1: readU32(buf, start + 4),
        t2: readU32(buf, start + 8),
        options: nested.decodeOptions(buf, start + 12, end, depth + 1),
      } as O;
    },
    size: (o, depth, nested) => 12 + nested.optionsSize(o.options, depth + 1),
    write(o, buf, off, depth, nested) {
      off = writeU32(buf, off, o.iaid, `${name}.iaid`);
      off = writeU32(buf, off, o.t1, `${name}.t1`);
      off = writeU32(buf, off, o.t2, `${name}.t2`);
      return nested.writeOptions(o.options, buf, off, depth + 1);
    },
    toJson: (o, nested) => ({ iaid: o.iaid, ...lifetimeJson('t1', o.t1), ...lifetimeJson('t2', o.t2), options: nested.options(o.options) }),
  };
}

export const iaNaCodec = iaCodec<IaNaOption>(3, 'iaNa', 'OPTION_IA_NA', 'RFC 8415 section 21.4');
export const iaPdCodec = iaCodec<IaPdOption>(25, 'iaPd', 'OPTION_IA_PD', 'RFC 8415 section 21.21');

// Absolute times in the sending server's clock, RFC 7653 sections 5.4-5.6 (draft
// section 6.3 in seeds/001; code points from the IANA registry, the drafts say TBD):
//   OPTION_LQ_BASE_TIME (100):  option-code(2) option-len(2)=4 base-time(4)
//   OPTION_LQ_START_TIME (101): option-code(2) option-len(2)=4 query-start-time(4)
//   OPTION_LQ_END_TIME (102):   option-code(2) option-len(2)=4 query-end-time(4)
// Each is seconds since 2000-01-01T00:00:00Z modulo 2^32 (see ../time.ts).
import type { OptionCodec } from '../option-codec.js';
import type { LqBaseTimeOption, LqEndTimeOption, LqStartTimeOption } from '../types.js';
import { needExactly, readU32, writeU32 } from '../wire.js';
import { absoluteTimeJson } from './json-fields.js';

type TimeOption = LqBaseTimeOption | LqStartTimeOption | LqEndTimeOption;

function timeCodec<O extends TimeOption>(code: O['code'], name: O['name'], label: string, spec: string): OptionCodec<O> {
  return {
    code,
    name,
    label,
    spec,
    decode(buf, start, end) {
      needExactly(start, end, 4, code, name);
      return { name, code, time: readU32(buf, start) } as O;
    },
    size: () => 4,
    write: (o, buf, off) => writeU32(buf, off, o.time, `${name}.time`),
    toJson: (o) => absoluteTimeJson(o.time),
  };
}

export const lqBaseTimeCodec = timeCodec<LqBaseTimeOption>(100, 'lqBaseTime', 'OPTION_LQ_BASE_TIME', 'RFC 7653 section 5.4');
export const lqStartTimeCodec = timeCodec<LqStartTimeOption>(101, 'lqStartTime', 'OPTION_LQ_START_TIME', 'RFC 7653 section 5.5');
export const lqEndTimeCodec = timeCodec<LqEndTimeOption>(102, 'lqEndTime', 'OPTION_LQ_END_TIME', 'RFC 7653 section 5.6');

// Options that carry one DUID: OPTION_CLIENTID (1) and OPTION_SERVERID (2), RFC 8415
// sections 21.2 and 21.3; OPTION_RELAY_ID (53), RFC 5460 section 5.4.1.
//
//   option-code(2) option-len(2) DUID(option-len)
//
// RFC 8415 section 11.1: a DUID is a 2-octet type code and 1 to 128 octets of
// identifier, so 3 to 130 octets in all. Both ends of that range are enforced: a DUID
// is the key of everything this project stores, and a 0-, 1- or 2-octet "DUID" names
// no client. Anything in range stays opaque bytes (../text.ts explains known types).
import { DecodeError, EncodeError } from '../errors.js';
import type { OptionCodec } from '../option-codec.js';
import { describeDuid } from '../text.js';
import type { ClientIdOption, RelayIdOption, ServerIdOption } from '../types.js';
import { writeBytes } from '../wire.js';

export const DUID_MIN_LENGTH = 3;
export const DUID_MAX_LENGTH = 130;

type DuidOption = ClientIdOption | ServerIdOption | RelayIdOption;

function duidCodec<O extends DuidOption>(code: O['code'], name: O['name'], label: string, spec: string): OptionCodec<O> {
  return {
    code,
    name,
    label,
    spec,
    decode(buf, start, end) {
      const len = end - start;
      if (len < DUID_MIN_LENGTH || len > DUID_MAX_LENGTH) {
        throw new DecodeError(
          'bad-duid',
          start - 4,
          `option ${code} (${name}) at offset ${start - 4} holds a ${len}-byte DUID; a DUID is ${DUID_MIN_LENGTH} to ${DUID_MAX_LENGTH} bytes`,
          code,
        );
      }
      return { name, code, duid: buf.subarray(start, end) } as O;
    },
    size(o) {
      const len = o.duid.length;
      if (len < DUID_MIN_LENGTH || len > DUID_MAX_LENGTH) {
        throw new EncodeError('bad-duid', `${name}: a DUID is ${DUID_MIN_LENGTH} to ${DUID_MAX_LENGTH} bytes, got ${len}`);
      }
      return len;
    },
    write: (o, buf, off) => writeBytes(buf, off, o.duid),
    toJson: (o) => ({ duid: describeDuid(o.duid) }),
  };
}

export const clientIdCodec = duidCodec<ClientIdOption>(1, 'clientId', 'OPTION_CLIENTID', 'RFC 8415 section 21.2');
export const serverIdCodec = duidCodec<ServerIdOption>(2, 'serverId', 'OPTION_SERVERID', 'RFC 8415 section 21.3');
export const relayIdCodec = duidCodec<RelayIdOption>(53, 'relayId', 'OPTION_RELAY_ID', 'RFC 5460 section 5.4.1');

// Options a relay agent adds to RELAY-FORW, which a leasequery server echoes inside
// OPTION_LQ_RELAY_DATA and which QUERY_BY_REMOTE_ID asks about:
//   OPTION_INTERFACE_ID (18), RFC 8415 section 21.18:  interface-id(option-len), opaque
//   OPTION_REMOTE_ID (37), RFC 4649 section 3:        enterprise-number(4) remote-id(option-len - 4)
//   OPTION_SUBSCRIBER_ID (38), RFC 4580 section 2:    subscriber-id(option-len), opaque
import type { OptionCodec } from '../option-codec.js';
import type { InterfaceIdOption, RemoteIdOption, SubscriberIdOption } from '../types.js';
import { needAtLeast, readU32, writeBytes, writeU32 } from '../wire.js';
import { opaqueJson } from './json-fields.js';

function opaqueCodec<O extends InterfaceIdOption | SubscriberIdOption>(code: O['code'], name: O['name'], label: string, spec: string): OptionCodec<O> {
  return {
    code,
    name,
    label,
    spec,
    decode: (buf, start, end) => ({ name, code, data: buf.subarray(start, end) }) as O,
    size: (o) => o.data.length,
    write: (o, buf, off) => writeBytes(buf, off, o.data),
    toJson: (o) => opaqueJson('data', o.data),
  };
}

export const interfaceIdCodec = opaqueCodec<InterfaceIdOption>(18, 'interfaceId', 'OPTION_INTERFACE_ID', 'RFC 8415 section 21.18');
export const subscriberIdCodec = opaqueCodec<SubscriberIdOption>(38, 'subscriberId', 'OPTION_SUBSCRIBER_ID', 'RFC 4580 section 2');

export const remoteIdCodec: OptionCodec<RemoteIdOption> = {
  code: 37,
  name: 'remoteId',
  label: 'OPTION_REMOTE_ID',
  spec: 'RFC 4649 section 3',
  decode(buf, start, end) {
    needAtLeast(start, end, 4, 37, 'remoteId', ' (enterprise-number)');
    return { name: 'remoteId', code: 37, enterpriseNumber: readU32(buf, start), remoteId: buf.subarray(start + 4, end) };
  },
  size: (o) => 4 + o.remoteId.length,
  write(o, buf, off) {
    off = writeU32(buf, off, o.enterpriseNumber, 'remoteId.enterpriseNumber');
    return writeBytes(buf, off, o.remoteId);
  },
  toJson: (o) => ({ enterpriseNumber: o.enterpriseNumber, ...opaqueJson('remoteId', o.remoteId) }),
};

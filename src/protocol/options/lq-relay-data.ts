// OPTION_LQ_RELAY_DATA (47), RFC 5007 section 4.1.2.4.
//
//   option-code(2) option-len(2) peer-address(16) DHCP-relay-message(option-len - 16)
//
// The DHCP-relay-message is the last RELAY-FORW chain the server received for the
// client, with the innermost OPTION_RELAY_MSG (the client's own message) removed; hops
// further out stay nested through OPTION_RELAY_MSG. The RFC requires a relay message
// there, so anything but msg-type 12 or 13 (same header) is a DecodeError, and a body
// shorter than peer-address + relay header (16 + 34) is a bad length.
import { displayMessageType } from '../message-names.js';
import { DecodeError, EncodeError } from '../errors.js';
import type { OptionCodec } from '../option-codec.js';
import { formatIPv6 } from '../text.js';
import type { LqRelayDataOption } from '../types.js';
import { needAtLeast, writeAddress } from '../wire.js';

const RELAY_FORW = 12;
const RELAY_REPL = 13;

export const lqRelayDataCodec: OptionCodec<LqRelayDataOption> = {
  code: 47,
  name: 'lqRelayData',
  label: 'OPTION_LQ_RELAY_DATA',
  spec: 'RFC 5007 section 4.1.2.4',
  decode(buf, start, end, depth, nested) {
    needAtLeast(start, end, 16 + 34, 47, 'lqRelayData', ' (peer-address and a relay message header)');
    const msgType = buf[start + 16];
    if (msgType !== RELAY_FORW && msgType !== RELAY_REPL) {
      throw new DecodeError(
        'bad-relay-message',
        start + 16,
        `option 47 (lqRelayData) at offset ${start - 4} holds a ${displayMessageType(msgType)} (${msgType}) message at offset ${start + 16}; it must hold a relay message (12)`,
        47,
      );
    }
    return {
      name: 'lqRelayData',
      code: 47,
      peerAddress: buf.subarray(start, start + 16),
      relayMessage: nested.decodeMessage(buf, start + 16, end, depth + 1),
    };
  },
  size(o, depth, nested) {
    if (o.relayMessage.kind !== 'relay') throw new EncodeError('bad-relay-message', `lqRelayData.relayMessage must be a relay message, got msg-type ${o.relayMessage.msgType}`);
    return 16 + nested.messageSize(o.relayMessage, depth + 1);
  },
  write(o, buf, off, depth, nested) {
    off = writeAddress(buf, off, o.peerAddress, 'lqRelayData.peerAddress');
    return nested.writeMessage(o.relayMessage, buf, off, depth + 1);
  },
  toJson: (o, nested) => ({ peerAddress: formatIPv6(o.peerAddress), relayMessage: nested.message(o.relayMessage) }),
};

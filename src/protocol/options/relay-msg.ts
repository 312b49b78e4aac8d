// OPTION_RELAY_MSG (9), RFC 8415 section 21.10: a whole DHCPv6 message, relay or
// client/server, forwarded by a relay agent. Inside OPTION_LQ_RELAY_DATA it links the
// hops of a multi-hop RELAY-FORW chain (the innermost one, with the client's message,
// removed by the server: RFC 5007 section 4.1.2.4).
//
//   option-code(2) option-len(2) DHCP-relay-message(option-len)
import type { OptionCodec } from '../option-codec.js';
import type { RelayMsgOption } from '../types.js';

export const relayMsgCodec: OptionCodec<RelayMsgOption> = {
  code: 9,
  name: 'relayMsg',
  label: 'OPTION_RELAY_MSG',
  spec: 'RFC 8415 section 21.10',
  decode: (buf, start, end, depth, nested) => ({ name: 'relayMsg', code: 9, message: nested.decodeMessage(buf, start, end, depth + 1) }),
  size: (o, depth, nested) => nested.messageSize(o.message, depth + 1),
  write: (o, buf, off, depth, nested) => nested.writeMessage(o.message, buf, off, depth + 1),
  toJson: (o, nested) => ({ message: nested.message(o.message) }),
};

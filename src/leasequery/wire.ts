// Small helpers over the codec's public API that the leasequery engine and requestor
// share. Nothing here reads or writes DHCPv6 bytes itself.
import { decodeMessage, type ClientServerMessage, type Dhcp6Option, type StatusCodeOption } from '../protocol/index.js';

/**
 * msg-type and transaction-id of a client/server message whose body did not decode
 * (RFC 8415 section 8 header: msg-type(1) transaction-id(3)). Decoding just the header
 * bytes is a complete, option-less message to the codec. Undefined for fewer than 4
 * bytes, or a relay message (whose header is longer).
 */
export function peekHeader(bytes: Buffer): { msgType: number; transactionId: number } | undefined {
  if (bytes.length < 4) return undefined;
  try {
    const m = decodeMessage(bytes.subarray(0, 4));
    return m.kind === 'client-server' ? { msgType: m.msgType, transactionId: m.transactionId } : undefined;
  } catch {
    return undefined;
  }
}

/** The first option of a kind among a message's top-level options. */
export function topOption<N extends Dhcp6Option['name']>(msg: ClientServerMessage, name: N): Extract<Dhcp6Option, { name: N }> | undefined {
  const o = msg.options;
  for (let i = 0; i < o.length; i++) if (o[i].name === name) return o[i] as Extract<Dhcp6Option, { name: N }>;
  return undefined;
}

/** Status of a message: its OPTION_STATUS_CODE, or Success (0) when it has none (RFC 5007 4.3.3). */
export function messageStatus(msg: ClientServerMessage): { status: number; message: string } {
  const s: StatusCodeOption | undefined = topOption(msg, 'statusCode');
  return s ? { status: s.status, message: s.message } : { status: 0, message: '' };
}

/** A fresh 24-bit transaction-id (RFC 8415 section 16.1). */
export function randomTransactionId(): number {
  return Math.floor(Math.random() * 0x1000000);
}

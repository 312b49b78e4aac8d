// One OPTION_CLIENT_DATA (RFC 5007 section 4.1.2.2) read into a plain record, with the
// option itself kept for audit (re-encoding it gives the bytes received: the codec is
// lossless).
import {
  encodeOptions,
  type ClientDataOption,
  type ClientServerMessage,
  type Dhcp6Message,
  type Dhcp6Option,
} from '../../protocol/index.js';

export interface ReportedAddress {
  address: Buffer;
  preferredLifetime: number;
  validLifetime: number;
}

export interface ReportedPrefix {
  prefix: Buffer;
  prefixLength: number;
  preferredLifetime: number;
  validLifetime: number;
}

/** A binding as a server reported it: times are relative to the message's base-time (server clock). */
export interface ReportedBinding {
  clientDuid?: Buffer;
  addresses: ReportedAddress[];
  prefixes: ReportedPrefix[];
  /** OPTION_CLT_TIME: seconds since the server last talked to the client. */
  cltTime?: number;
  relay?: { peerAddress: Buffer; relayMessage: Dhcp6Message };
  /** The client's link: the innermost non-zero link-address of the relay chain (RFC 8415 section 13.1). */
  linkAddress?: Buffer;
  /** Every client-option, as decoded. */
  options: Dhcp6Option[];
}

const UNSPECIFIED = Buffer.alloc(16);

function innermostLink(msg: Dhcp6Message): Buffer | undefined {
  let found: Buffer | undefined;
  let m: Dhcp6Message | undefined = msg;
  while (m && m.kind === 'relay') {
    if (!m.linkAddress.equals(UNSPECIFIED)) found = m.linkAddress;
    let inner: Dhcp6Message | undefined;
    for (const o of m.options) if (o.name === 'relayMsg') inner = o.message;
    m = inner;
  }
  return found;
}

/**
 * Read a CLIENT_DATA. OPTION_LQ_RELAY_DATA is normally inside it (requested through the
 * query's ORO, RFC 5007 4.4.2); a server that puts it beside CLIENT_DATA in the message
 * is understood too.
 */
export function readClientData(cd: ClientDataOption, message?: ClientServerMessage): ReportedBinding {
  const out: ReportedBinding = { addresses: [], prefixes: [], options: cd.options };
  for (const o of cd.options) {
    switch (o.name) {
      case 'clientId':
        out.clientDuid = o.duid;
        break;
      case 'iaAddr':
        out.addresses.push({ address: o.address, preferredLifetime: o.preferredLifetime, validLifetime: o.validLifetime });
        break;
      case 'iaPrefix':
        out.prefixes.push({ prefix: o.prefix, prefixLength: o.prefixLength, preferredLifetime: o.preferredLifetime, validLifetime: o.validLifetime });
        break;
      case 'cltTime':
        out.cltTime = o.seconds;
        break;
      case 'lqRelayData':
        out.relay = { peerAddress: o.peerAddress, relayMessage: o.relayMessage };
        break;
      default:
        break;
    }
  }
  if (!out.relay && message) {
    for (const o of message.options) if (o.name === 'lqRelayData') out.relay = { peerAddress: o.peerAddress, relayMessage: o.relayMessage };
  }
  if (out.relay) out.linkAddress = innermostLink(out.relay.relayMessage);
  return out;
}

/** The OPTION_CLIENT_DATA bytes as received (code, length, payload). */
export function clientDataBytes(cd: ClientDataOption): Buffer {
  return encodeOptions([cd]);
}

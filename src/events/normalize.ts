// CLIENT_DATA + base-time -> `binding` event (DESIGN.md "The time model", "Events").
// Hot path of the connector: one pass over the decoded options, no validation here
// (the schema is checked in tests and at the consumer).
import {
  INFINITY,
  dhcpTimeToUnixMs,
  encodeOptions,
  formatIPv6,
  type ClientDataOption,
  type Dhcp6Message,
  type Dhcp6Option,
} from '../protocol/index.js';
import { SCHEMA_VERSION, type AddressResource, type BindingEvent, type Phase, type PrefixResource, type RelayData, type RelayHop } from './model.js';

export interface NormalizeContext {
  source: { name: string; serverDuid: string | null };
  phase: Phase;
  /** OPTION_LQ_BASE_TIME of the message that carried the CLIENT_DATA (server clock). */
  baseTime: number;
  /** When the connector received that message (connector clock, Unix ms). */
  receivedAt: number;
  /** The link-address of the query that produced the reply (bulk by link), if any. */
  queryLink?: Buffer;
}

const UNSPECIFIED = '::';

/** Derived instant in the connector clock of a lifetime offset from baseTime; null = infinity. */
function until(receivedAt: number, lifetime: number): number | null {
  return lifetime === INFINITY ? null : receivedAt + lifetime * 1000;
}

/**
 * Normalize one OPTION_CLIENT_DATA. `raw` is the option as received (code, length,
 * payload); when absent it is re-encoded, which the codec guarantees is byte-identical.
 */
export function normalizeClientData(clientData: ClientDataOption, raw: Buffer | undefined, ctx: NormalizeContext): BindingEvent {
  const { receivedAt, baseTime } = ctx;
  let clientId = '';
  let cltTime: number | null = null;
  let relay: RelayData | null = null;
  const addresses: AddressResource[] = [];
  const prefixes: PrefixResource[] = [];
  for (const o of clientData.options) {
    switch (o.name) {
      case 'clientId':
        clientId = o.duid.toString('hex');
        break;
      case 'iaAddr':
        addresses.push({
          address: formatIPv6(o.address),
          preferredLifetime: o.preferredLifetime,
          validLifetime: o.validLifetime,
          preferredUntil: until(receivedAt, o.preferredLifetime),
          validUntil: until(receivedAt, o.validLifetime),
        });
        break;
      case 'iaPrefix':
        prefixes.push({
          prefix: formatIPv6(o.prefix),
          prefixLength: o.prefixLength,
          preferredLifetime: o.preferredLifetime,
          validLifetime: o.validLifetime,
          preferredUntil: until(receivedAt, o.preferredLifetime),
          validUntil: until(receivedAt, o.validLifetime),
        });
        break;
      case 'cltTime':
        cltTime = o.seconds;
        break;
      case 'lqRelayData':
        relay = relayDataOf(o.peerAddress, o.relayMessage);
        break;
      default:
        break;
    }
  }
  const innermostLink = relay ? innermostLinkAddress(relay.hops) : undefined;
  const linkAddress = innermostLink ?? (ctx.queryLink ? formatIPv6(ctx.queryLink) : UNSPECIFIED);
  return {
    type: 'binding',
    schemaVersion: SCHEMA_VERSION,
    source: { name: ctx.source.name, serverDuid: ctx.source.serverDuid },
    phase: ctx.phase,
    clientId,
    linkAddress,
    addresses,
    prefixes,
    cltTime,
    baseTime,
    receivedAt,
    clockOffsetMs: receivedAt - dhcpTimeToUnixMs(baseTime),
    lastTransactionAt: cltTime === null ? null : receivedAt - cltTime * 1000,
    relay,
    raw: (raw ?? encodeOptions([clientData])).toString('base64'),
  };
}

/** The link as a server identifies it (RFC 8415 section 13.1): the innermost non-zero link-address. */
function innermostLinkAddress(hops: RelayHop[]): string | undefined {
  for (let i = hops.length - 1; i >= 0; i--) {
    if (hops[i].linkAddress !== UNSPECIFIED) return hops[i].linkAddress;
  }
  return undefined;
}

/**
 * Walk the RELAY-FORW chain of OPTION_LQ_RELAY_DATA (outermost first, each inner relay
 * message inside the outer one's RELAY_MSG). Relay-supplied identifiers are taken from
 * the relay nearest the client that supplied them.
 */
function relayDataOf(peerAddress: Buffer, message: Dhcp6Message): RelayData {
  const hops: RelayHop[] = [];
  let m: Dhcp6Message | undefined = message;
  while (m && m.kind === 'relay') {
    let relayId: string | undefined;
    let remoteId: RelayHop['remoteId'];
    let interfaceId: string | undefined;
    let subscriberId: string | undefined;
    let inner: Dhcp6Message | undefined;
    for (const o of m.options as Dhcp6Option[]) {
      if (o.name === 'relayId') relayId = o.duid.toString('hex');
      else if (o.name === 'remoteId') remoteId = { enterpriseNumber: o.enterpriseNumber, id: o.remoteId.toString('hex') };
      else if (o.name === 'interfaceId') interfaceId = o.data.toString('hex');
      else if (o.name === 'subscriberId') subscriberId = o.data.toString('hex');
      else if (o.name === 'relayMsg') inner = o.message;
    }
    // Members in the schema's order, whatever the order of the relay's options: the
    // chain hash is taken over JSON.stringify, and a reader that re-serializes the
    // zod-parsed event (verifyLink(decodeEvent(...))) must get the same bytes.
    const hop: RelayHop = { hopCount: m.hopCount, linkAddress: formatIPv6(m.linkAddress), peerAddress: formatIPv6(m.peerAddress) };
    if (relayId !== undefined) hop.relayId = relayId;
    if (remoteId !== undefined) hop.remoteId = remoteId;
    if (interfaceId !== undefined) hop.interfaceId = interfaceId;
    if (subscriberId !== undefined) hop.subscriberId = subscriberId;
    hops.push(hop);
    m = inner;
  }
  const relay: RelayData = { peerAddress: formatIPv6(peerAddress), hops };
  for (let i = hops.length - 1; i >= 0; i--) {
    const h = hops[i];
    if (relay.relayId === undefined && h.relayId !== undefined) relay.relayId = h.relayId;
    if (relay.remoteId === undefined && h.remoteId !== undefined) relay.remoteId = h.remoteId;
    if (relay.interfaceId === undefined && h.interfaceId !== undefined) relay.interfaceId = h.interfaceId;
    if (relay.subscriberId === undefined && h.subscriberId !== undefined) relay.subscriberId = h.subscriberId;
  }
  return relay;
}

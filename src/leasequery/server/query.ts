// Is this query valid, and what does it ask? (RFC 5007 sections 4.2.1 and 4.4.1,
// RFC 5460 sections 4 and 5.3, RFC 7653 "Replying to an Active Leasequery".) Decoding
// the bytes is the codec's job; this is the semantic layer: MalformedQuery,
// UnknownQueryType and NotAllowed are answers, not decode failures.
import {
  MessageType,
  OptionCode,
  QueryType,
  StatusCode,
  dhcpTimeToUnixMs,
  isBulkOnlyQueryType,
  type ClientServerMessage,
  type Dhcp6Option,
  type LqQueryOption,
} from '../../protocol/index.js';
import type { LeaseView, RemoteIdKey } from '../view.js';
import type { Transport } from './acl.js';

export interface ParsedQuery {
  xid: number;
  transport: Transport;
  /** The requestor's DUID (OPTION_CLIENTID of the message), echoed in the reply. */
  requestorDuid?: Buffer;
  /** 0 for an ACTIVELEASEQUERY without OPTION_LQ_QUERY: every binding (RFC 7653 "ACTIVELEASEQUERY"). */
  queryType: number;
  /** The link the query is restricted to, as the view names it; undefined for 0::0. */
  link?: Buffer;
  address?: Buffer;
  clientId?: Buffer;
  relayId?: Buffer;
  remoteId?: RemoteIdKey;
  /** Client option codes from the OPTION_ORO inside OPTION_LQ_QUERY (RFC 5007 4.1.2.1). */
  requested: ReadonlySet<number>;
  /** OPTION_LQ_BASE_TIME requested in an OPTION_ORO (RFC 7653: then in every reply). */
  wantsBaseTime: boolean;
  /** OPTION_LQ_START_TIME / END_TIME as view-clock ms (RFC 7653). */
  startMs?: number;
  endMs?: number;
}

/** What to do with a query that cannot be answered with data. */
export type QueryRejection =
  /** Discard silently (RFC 5007 section 4.2.1 "Servers MUST discard"). */
  | { kind: 'discard'; reason: string }
  /** Reply with this status. */
  | { kind: 'status'; status: number; message: string; requestorDuid?: Buffer };

export type ParseResult = { ok: true; query: ParsedQuery } | ({ ok: false } & QueryRejection);

const EMPTY: ReadonlySet<number> = new Set();

/** 0::0 (a loop: Buffer#equals is a call into C++ and this is on the UDP hot path). */
function isUnspecified(a: Buffer): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return a.length === 16;
}

function reject(status: number, message: string, requestorDuid?: Buffer): ParseResult {
  return { ok: false, kind: 'status', status, message, requestorDuid };
}

function findIn<N extends Dhcp6Option['name']>(options: readonly Dhcp6Option[], name: N): Extract<Dhcp6Option, { name: N }> | undefined {
  for (let i = 0; i < options.length; i++) if (options[i].name === name) return options[i] as Extract<Dhcp6Option, { name: N }>;
  return undefined;
}

/** Every ParsedQuery has the same shape (all fields, same order): the hot path stays monomorphic. */
function newQuery(xid: number, transport: Transport, requestorDuid: Buffer): ParsedQuery {
  return {
    xid,
    transport,
    requestorDuid,
    queryType: 0,
    link: undefined,
    address: undefined,
    clientId: undefined,
    relayId: undefined,
    remoteId: undefined,
    requested: EMPTY,
    wantsBaseTime: false,
    startMs: undefined,
    endMs: undefined,
  };
}

/**
 * Validate a LEASEQUERY (UDP or TCP) or ACTIVELEASEQUERY. `view` resolves links
 * (NotConfigured) and supplies the server DUID (a query for another server is not ours).
 */
export function parseQuery(msg: ClientServerMessage, transport: Transport, view: LeaseView): ParseResult {
  const top = msg.options;
  let requestorDuid: Buffer | undefined;
  let serverId: Buffer | undefined;
  let lq: LqQueryOption | undefined;
  let messageOro: number[] | undefined;
  let start: number | undefined;
  let end: number | undefined;
  for (let i = 0; i < top.length; i++) {
    const o = top[i];
    switch (o.name) {
      case 'clientId':
        requestorDuid ??= o.duid;
        break;
      case 'serverId':
        serverId ??= o.duid;
        break;
      case 'lqQuery':
        lq ??= o;
        break;
      case 'oro':
        messageOro ??= o.codes;
        break;
      case 'lqStartTime':
        start ??= o.time;
        break;
      case 'lqEndTime':
        end ??= o.time;
        break;
      default:
        break;
    }
  }
  // RFC 5007 4.2.1: without the requestor's CLIENTID, or for another server, discard.
  // Over TCP the requestor is waiting on a connection it opened to us: answer instead.
  if (!requestorDuid) {
    if (transport === 'udp') return { ok: false, kind: 'discard', reason: 'no OPTION_CLIENTID' };
    return reject(StatusCode.MalformedQuery, 'the query has no OPTION_CLIENTID (RFC 5007 section 4.2.1)');
  }
  if (serverId && !serverId.equals(view.serverDuid)) {
    if (transport === 'udp') return { ok: false, kind: 'discard', reason: 'OPTION_SERVERID names another server' };
    return reject(StatusCode.NotAllowed, 'the query is addressed to another server (OPTION_SERVERID)', requestorDuid);
  }
  const isActive = msg.msgType === MessageType.ACTIVELEASEQUERY;
  const query = newQuery(msg.transactionId, transport, requestorDuid);
  if (messageOro) query.wantsBaseTime = messageOro.includes(OptionCode.LQ_BASE_TIME);
  if (lq && (start === undefined || end === undefined)) {
    // Leniently, the time options inside OPTION_LQ_QUERY too.
    start ??= findIn(lq.options, 'lqStartTime')?.time;
    end ??= findIn(lq.options, 'lqEndTime')?.time;
  }
  if (isActive && end !== undefined) {
    return reject(StatusCode.MalformedQuery, 'OPTION_LQ_END_TIME is not allowed in an ACTIVELEASEQUERY (RFC 7653)', requestorDuid);
  }
  if (transport !== 'udp') {
    if (start !== undefined) query.startMs = dhcpTimeToUnixMs(start);
    if (end !== undefined) query.endMs = dhcpTimeToUnixMs(end) + 999;
    if (query.startMs !== undefined && query.endMs !== undefined && query.endMs < query.startMs) {
      return reject(StatusCode.MalformedQuery, 'OPTION_LQ_END_TIME is before OPTION_LQ_START_TIME', requestorDuid);
    }
  }
  if (!lq) {
    // Without OPTION_LQ_QUERY, client options can only have been asked for in the message's ORO.
    if (isActive) {
      if (messageOro) query.requested = new Set(messageOro);
      return { ok: true, query };
    }
    if (transport === 'udp') return { ok: false, kind: 'discard', reason: 'no OPTION_LQ_QUERY' };
    return reject(StatusCode.MalformedQuery, 'the LEASEQUERY has no OPTION_LQ_QUERY (RFC 5007 section 4.2.1)', requestorDuid);
  }

  const qt = lq.queryType;
  if (qt < QueryType.QUERY_BY_ADDRESS || qt > QueryType.QUERY_BY_REMOTE_ID) {
    return reject(StatusCode.UnknownQueryType, `query-type ${qt} is not supported`, requestorDuid);
  }
  if (transport === 'udp' && isBulkOnlyQueryType(qt)) {
    return reject(StatusCode.NotAllowed, `query-type ${qt} is only allowed over TCP (RFC 5460 section 4)`, requestorDuid);
  }
  query.queryType = qt;
  // Client options from the ORO inside OPTION_LQ_QUERY (RFC 5007 4.1.2.1) and, leniently,
  // from the message's ORO (where some requestors put them).
  let queryOro: number[] | undefined;
  const qo = lq.options;
  for (let i = 0; i < qo.length; i++) {
    const o = qo[i];
    if (o.name === 'oro') queryOro ??= o.codes;
    else if (o.name === 'iaAddr') query.address ??= o.address;
    else if (o.name === 'clientId') query.clientId ??= o.duid;
    else if (o.name === 'relayId') query.relayId ??= o.duid;
    else if (o.name === 'remoteId') query.remoteId ??= { enterpriseNumber: o.enterpriseNumber, remoteId: o.remoteId };
  }
  if (queryOro && queryOro.length > 0) {
    const req = new Set(queryOro);
    if (messageOro) for (const c of messageOro) req.add(c);
    query.requested = req;
  } else if (messageOro && messageOro.length > 0) {
    query.requested = new Set(messageOro);
  }
  if (query.requested.has(OptionCode.LQ_BASE_TIME)) query.wantsBaseTime = true;
  if (!isUnspecified(lq.linkAddress)) {
    const link = view.resolveLink ? view.resolveLink(lq.linkAddress) : lq.linkAddress;
    if (!link) return reject(StatusCode.NotConfigured, 'the link-address is not on a link this server has configured', requestorDuid);
    query.link = link;
  }
  switch (qt) {
    case QueryType.QUERY_BY_ADDRESS:
      if (!query.address) return reject(StatusCode.MalformedQuery, 'QUERY_BY_ADDRESS needs an OPTION_IAADDR in the query-options', requestorDuid);
      // RFC 5007 4.4.1: with 0::0, the server uses the address to find the link.
      if (!query.link && view.isConfiguredAddress && !view.isConfiguredAddress(query.address)) {
        return reject(StatusCode.NotConfigured, 'the address is not in any range this server has configured', requestorDuid);
      }
      break;
    case QueryType.QUERY_BY_CLIENTID:
      if (!query.clientId) return reject(StatusCode.MalformedQuery, 'QUERY_BY_CLIENTID needs an OPTION_CLIENTID in the query-options', requestorDuid);
      break;
    case QueryType.QUERY_BY_RELAY_ID:
      if (!query.relayId) return reject(StatusCode.MalformedQuery, 'QUERY_BY_RELAY_ID needs an OPTION_RELAY_ID in the query-options', requestorDuid);
      break;
    case QueryType.QUERY_BY_LINK_ADDRESS:
      if (!query.link) return reject(StatusCode.MalformedQuery, 'QUERY_BY_LINK_ADDRESS needs a link-address other than 0::0', requestorDuid);
      break;
    case QueryType.QUERY_BY_REMOTE_ID:
      if (!query.remoteId) return reject(StatusCode.MalformedQuery, 'QUERY_BY_REMOTE_ID needs an OPTION_REMOTE_ID in the query-options', requestorDuid);
      break;
  }
  return { ok: true, query };
}

// What a requestor asks (RFC 5007 section 4.3.1, RFC 5460 section 6.2, RFC 7653
// "Forming an Active Leasequery"), built as message objects for the codec.
import {
  MessageType,
  OptionCode,
  QueryType,
  type ClientServerMessage,
  type Dhcp6Option,
} from '../../protocol/index.js';

/** A query, by what it selects. `link` restricts to a link (0::0 / absent = all links). */
export type QuerySpec =
  | { type: 'address'; address: Buffer; link?: Buffer }
  | { type: 'client-id'; clientId: Buffer; link?: Buffer }
  | { type: 'relay-id'; relayId: Buffer; link?: Buffer }
  | { type: 'link'; link: Buffer }
  | { type: 'remote-id'; enterpriseNumber: number; remoteId: Buffer; link?: Buffer };

export interface QueryExtras {
  /** Client options to ask for in the OPTION_ORO of OPTION_LQ_QUERY; default [OPTION_LQ_RELAY_DATA]. */
  requestOptions?: number[];
  /** Ask for OPTION_LQ_BASE_TIME in every reply (default true: times are meaningless without it). */
  baseTime?: boolean;
  /** OPTION_LQ_START_TIME: DHCPv6 absolute time in the SERVER's clock (RFC 7653). */
  startTime?: number;
  /** OPTION_LQ_END_TIME (bulk only). */
  endTime?: number;
  /** Include OPTION_SERVERID: only this server may answer (RFC 5007 section 4.3.1). */
  serverDuid?: Buffer;
}

const UNSPECIFIED = Buffer.alloc(16);

export function queryTypeOf(spec: QuerySpec): number {
  switch (spec.type) {
    case 'address':
      return QueryType.QUERY_BY_ADDRESS;
    case 'client-id':
      return QueryType.QUERY_BY_CLIENTID;
    case 'relay-id':
      return QueryType.QUERY_BY_RELAY_ID;
    case 'link':
      return QueryType.QUERY_BY_LINK_ADDRESS;
    case 'remote-id':
      return QueryType.QUERY_BY_REMOTE_ID;
  }
}

function queryOptions(spec: QuerySpec): Dhcp6Option[] {
  switch (spec.type) {
    case 'address':
      return [{ name: 'iaAddr', code: 5, address: spec.address, preferredLifetime: 0, validLifetime: 0, options: [] }];
    case 'client-id':
      return [{ name: 'clientId', code: 1, duid: spec.clientId }];
    case 'relay-id':
      return [{ name: 'relayId', code: 53, duid: spec.relayId }];
    case 'link':
      return [];
    case 'remote-id':
      return [{ name: 'remoteId', code: 37, enterpriseNumber: spec.enterpriseNumber, remoteId: spec.remoteId }];
  }
}

/**
 * LEASEQUERY (14) or ACTIVELEASEQUERY (22). An ACTIVELEASEQUERY without `spec` asks for
 * every binding change (RFC 7653: "it MUST NOT include the OPTION_LQ_QUERY option").
 */
export function buildQuery(msgType: number, xid: number, requestorDuid: Buffer, spec: QuerySpec | undefined, extras: QueryExtras = {}): ClientServerMessage {
  const options: Dhcp6Option[] = [{ name: 'clientId', code: 1, duid: requestorDuid }];
  if (extras.serverDuid) options.push({ name: 'serverId', code: 2, duid: extras.serverDuid });
  const requested = extras.requestOptions ?? [OptionCode.LQ_RELAY_DATA];
  // OPTION_LQ_BASE_TIME is a message option: asked for in the message's ORO. Client
  // options go in the ORO inside OPTION_LQ_QUERY (RFC 5007 4.1.2.1); an ACTIVELEASEQUERY
  // without OPTION_LQ_QUERY can only ask for them in the message's ORO.
  const messageOro = [...(extras.baseTime ?? true ? [OptionCode.LQ_BASE_TIME] : []), ...(spec ? [] : requested)];
  if (messageOro.length > 0) options.push({ name: 'oro', code: 6, codes: messageOro });
  if (extras.startTime !== undefined) options.push({ name: 'lqStartTime', code: 101, time: extras.startTime });
  if (extras.endTime !== undefined) options.push({ name: 'lqEndTime', code: 102, time: extras.endTime });
  if (spec) {
    const qo = queryOptions(spec);
    if (requested.length > 0) qo.push({ name: 'oro', code: 6, codes: requested });
    options.push({ name: 'lqQuery', code: 44, queryType: queryTypeOf(spec), linkAddress: spec.link ?? UNSPECIFIED, options: qo });
  }
  return { kind: 'client-server', msgType, transactionId: xid, options };
}

export function buildLeasequery(xid: number, requestorDuid: Buffer, spec: QuerySpec, extras?: QueryExtras): ClientServerMessage {
  return buildQuery(MessageType.LEASEQUERY, xid, requestorDuid, spec, extras);
}

export function buildActiveLeasequery(xid: number, requestorDuid: Buffer, spec: QuerySpec | undefined, extras?: QueryExtras): ClientServerMessage {
  return buildQuery(MessageType.ACTIVELEASEQUERY, xid, requestorDuid, spec, extras);
}

/** STARTTLS (RFC 7653 "Using TLS"): the first message of a connection that wants TLS. */
export function buildStartTls(xid: number, requestorDuid: Buffer): ClientServerMessage {
  return { kind: 'client-server', msgType: MessageType.STARTTLS, transactionId: xid, options: [{ name: 'clientId', code: 1, duid: requestorDuid }] };
}

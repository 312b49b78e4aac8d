// Code points from the IANA "DHCPv6 Parameters" registries (shared/protocol/CODEPOINTS.md):
// RFC 8415 (base), RFC 5007 (Leasequery), RFC 5460 (Bulk), RFC 7653 (Active),
// RFC 4649 (Remote-ID), RFC 4580 (Subscriber-ID).

export const MessageType = {
  RELAY_FORW: 12,
  RELAY_REPL: 13,
  LEASEQUERY: 14,
  LEASEQUERY_REPLY: 15,
  LEASEQUERY_DONE: 16,
  LEASEQUERY_DATA: 17,
  ACTIVELEASEQUERY: 22,
  STARTTLS: 23,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

export const OptionCode = {
  CLIENTID: 1,
  SERVERID: 2,
  IA_NA: 3,
  IAADDR: 5,
  ORO: 6,
  RELAY_MSG: 9,
  STATUS_CODE: 13,
  INTERFACE_ID: 18,
  IA_PD: 25,
  IAPREFIX: 26,
  REMOTE_ID: 37,
  SUBSCRIBER_ID: 38,
  LQ_QUERY: 44,
  CLIENT_DATA: 45,
  CLT_TIME: 46,
  LQ_RELAY_DATA: 47,
  LQ_CLIENT_LINK: 48,
  RELAY_ID: 53,
  LQ_BASE_TIME: 100,
  LQ_START_TIME: 101,
  LQ_END_TIME: 102,
} as const;

export const QueryType = {
  QUERY_BY_ADDRESS: 1,
  QUERY_BY_CLIENTID: 2,
  QUERY_BY_RELAY_ID: 3,
  QUERY_BY_LINK_ADDRESS: 4,
  QUERY_BY_REMOTE_ID: 5,
} as const;
export type QueryTypeCode = (typeof QueryType)[keyof typeof QueryType];

export const StatusCode = {
  Success: 0,
  UnspecFail: 1,
  NoBinding: 3,
  UnknownQueryType: 7,
  MalformedQuery: 8,
  NotConfigured: 9,
  NotAllowed: 10,
  QueryTerminated: 11,
  DataMissing: 12,
  CatchUpComplete: 13,
  NotSupported: 14,
  TLSConnectionRefused: 15,
} as const;

export const DuidType = { LLT: 1, EN: 2, LL: 3, UUID: 4 } as const;

/** Transport and timer defaults, RFC 5460 section 5 and RFC 7653 section 7. */
export const Defaults = {
  PORT: 547,
  BULK_LQ_DATA_TIMEOUT_MS: 300_000,
  BULK_LQ_MAX_CONNS: 10,
  ACTIVE_LQ_RCV_TIMEOUT_MS: 120_000,
  ACTIVE_LQ_SEND_TIMEOUT_MS: 120_000,
  ACTIVE_LQ_IDLE_TIMEOUT_MS: 60_000,
} as const;

/** 0xffffffff lifetime means infinity (RFC 8415 section 7.7). */
export const INFINITY = 0xffffffff;

/** Unix seconds of 2000-01-01T00:00:00Z, the DHCPv6 time epoch. */
export const DHCPV6_EPOCH_UNIX_S = 946_684_800;

/** Bulk-only query types (RFC 5460 section 5): NotAllowed over UDP. */
export function isBulkOnlyQueryType(q: number): boolean {
  return q === QueryType.QUERY_BY_RELAY_ID || q === QueryType.QUERY_BY_LINK_ADDRESS || q === QueryType.QUERY_BY_REMOTE_ID;
}

/** Reverse lookup helpers for human-readable output. */
function reverse(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}
const messageNames = reverse(MessageType);
const statusNames = reverse(StatusCode);
const queryNames = reverse(QueryType);
export const messageTypeName = (c: number): string => messageNames.get(c)?.replace(/_/g, '-') ?? `UNKNOWN-${c}`;
export const statusName = (c: number): string => statusNames.get(c) ?? `Status${c}`;
export const queryTypeName = (c: number): string => queryNames.get(c) ?? `QUERY_TYPE_${c}`;

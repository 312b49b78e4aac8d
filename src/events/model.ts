// The event model of lq.events (DESIGN.md "Events"). Every event is JSON, carries
// `schemaVersion`, and is described by a zod schema here; schemas/ holds the JSON
// Schema generated from these (npm run schemas), and a test fails when they drift.
//
// Two clocks are never mixed (DESIGN.md "The time model"):
// - server clock: `baseTime` (DHCPv6 seconds since 2000-01-01Z, as received), and
//   lifetimes and `cltTime` as offsets from it, kept exactly as on the wire;
// - connector clock: `receivedAt` (Unix ms) and the derived instants
//   (`lastTransactionAt`, `preferredUntil`, `validUntil`), with
//   `clockOffsetMs = receivedAt - unixMs(baseTime)`.
import { z } from 'zod';

export const SCHEMA_VERSION = 1 as const;

const hex = z.string().regex(/^[0-9a-f]*$/, 'lowercase hex');
const ipv6 = z.string().min(2).describe('IPv6 address in RFC 5952 canonical text');
const uint32 = z.number().int().min(0).max(0xffffffff);
const unixMs = z.number().int().describe('Unix epoch milliseconds, connector clock');

export const SourceRef = z
  .object({
    name: z.string().min(1).describe('configured name of the DHCPv6 server (source)'),
    serverDuid: hex.nullable().describe('the server DUID from OPTION_SERVERID, once known'),
  })
  .strict();

const lifetimes = {
  preferredLifetime: uint32.describe('seconds from baseTime, as on the wire; 4294967295 = infinity'),
  validLifetime: uint32.describe('seconds from baseTime, as on the wire; 4294967295 = infinity'),
  preferredUntil: unixMs.nullable().describe('derived instant in the connector clock; null = infinity'),
  validUntil: unixMs.nullable().describe('derived instant in the connector clock; null = infinity'),
};

export const AddressResource = z.object({ address: ipv6, ...lifetimes }).strict();
export const PrefixResource = z
  .object({ prefix: ipv6, prefixLength: z.number().int().min(0).max(128), ...lifetimes })
  .strict();

export const RemoteIdValue = z.object({ enterpriseNumber: uint32, id: hex }).strict();

/** One RELAY-FORW of the chain in OPTION_LQ_RELAY_DATA (RFC 5007 section 4.1.2.4). */
export const RelayHop = z
  .object({
    hopCount: z.number().int().min(0).max(255),
    linkAddress: ipv6,
    peerAddress: ipv6,
    relayId: hex.optional(),
    remoteId: RemoteIdValue.optional(),
    interfaceId: hex.optional(),
    subscriberId: hex.optional(),
  })
  .strict();

export const RelayData = z
  .object({
    peerAddress: ipv6.describe('peer-address of OPTION_LQ_RELAY_DATA'),
    hops: z.array(RelayHop).describe('the RELAY-FORW chain, outermost (nearest the server) first'),
    relayId: hex.optional().describe('OPTION_RELAY_ID of the relay nearest the client that sent one'),
    remoteId: RemoteIdValue.optional(),
    interfaceId: hex.optional(),
    subscriberId: hex.optional(),
  })
  .strict();

export const ChainLink = z
  .object({
    seq: z.number().int().min(1).describe('per-source sequence number, 1 for the first event'),
    prev: hex.describe('hash of the previous event of this source (64 zeros for the first)'),
    hash: hex.describe('SHA-256 over prev and this event without its chain field'),
  })
  .strict();

export const Phase = z.enum(['live', 'catch-up', 'bulk']);

/** One OPTION_CLIENT_DATA as one source reported it. */
export const BindingEvent = z
  .object({
    type: z.literal('binding'),
    schemaVersion: z.literal(SCHEMA_VERSION),
    source: SourceRef,
    phase: Phase.describe('session phase the update arrived in'),
    clientId: hex.describe('client DUID'),
    linkAddress: ipv6.describe("the client's link: innermost non-zero relay link-address, else the query's link, else ::"),
    addresses: z.array(AddressResource),
    prefixes: z.array(PrefixResource),
    cltTime: uint32.nullable().describe('OPTION_CLT_TIME: seconds from the last client transaction to baseTime'),
    baseTime: uint32.describe('OPTION_LQ_BASE_TIME of the carrying message, server clock'),
    receivedAt: unixMs,
    clockOffsetMs: z.number().int().describe('receivedAt - unixMs(baseTime)'),
    lastTransactionAt: unixMs.nullable().describe('derived: receivedAt - cltTime seconds'),
    relay: RelayData.nullable(),
    raw: z.string().describe('the OPTION_CLIENT_DATA option (code, length, payload) in base64'),
    chain: ChainLink.optional(),
  })
  .strict();

export const SourceEventKind = z.enum([
  'connected',
  'tls',
  'catch-up-started',
  'catch-up-complete',
  'data-missing',
  'bulk-started',
  'bulk-complete',
  'disconnected',
]);

/** The scope of a bulk resync (RFC 5460 queries issued for initial load or recovery). */
export const BulkScope = z
  .object({
    linkAddresses: z.array(ipv6),
    relayIds: z.array(hex),
    startTime: uint32.optional().describe('OPTION_LQ_START_TIME used, server clock'),
    endTime: uint32.optional().describe('OPTION_LQ_END_TIME used, server clock'),
  })
  .strict();

/** A session lifecycle change of one source. */
export const SourceEvent = z
  .object({
    type: z.literal('source'),
    schemaVersion: z.literal(SCHEMA_VERSION),
    source: SourceRef,
    kind: SourceEventKind,
    at: unixMs.describe('when the connector saw it'),
    baseTime: uint32.nullable().describe('the last base-time received from the source, if any'),
    resyncId: z.string().optional().describe('pairs bulk-started with its bulk-complete'),
    scope: BulkScope.optional(),
    reason: z.string().optional().describe('why (disconnected, data-missing)'),
    chain: ChainLink.optional(),
  })
  .strict();

export const LqEvent = z.discriminatedUnion('type', [BindingEvent, SourceEvent]);

export type BindingEvent = z.infer<typeof BindingEvent>;
export type SourceEvent = z.infer<typeof SourceEvent>;
export type LqEvent = z.infer<typeof LqEvent>;
export type AddressResource = z.infer<typeof AddressResource>;
export type PrefixResource = z.infer<typeof PrefixResource>;
export type RelayData = z.infer<typeof RelayData>;
export type RelayHop = z.infer<typeof RelayHop>;
export type BulkScope = z.infer<typeof BulkScope>;
export type ChainLink = z.infer<typeof ChainLink>;
export type Phase = z.infer<typeof Phase>;
export type SourceEventKind = z.infer<typeof SourceEventKind>;

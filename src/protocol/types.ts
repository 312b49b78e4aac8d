// The decoded form of DHCPv6 Leasequery messages and options.
//
// Values that are bytes on the wire stay bytes here (addresses are 16-byte Buffers,
// DUIDs are Buffers): the hot paths (normalizer, projection) index by bytes, and
// formatting to text is done only where a person reads it (see ./text.ts).
// Decoded Buffers are views into the input: do not mutate an input after decoding it,
// and copy (Buffer.from) a value that must outlive a large input buffer.
//
// Every option has a `name` (its JSON name, the discriminant) and a `code`.
// Options this project does not model decode to { name: 'unknown', code, data } and
// re-encode byte for byte.

export type Bytes = Buffer;

/** OPTION_CLIENTID (1), RFC 8415 section 21.2. */
export interface ClientIdOption { name: 'clientId'; code: 1; duid: Bytes }
/** OPTION_SERVERID (2), RFC 8415 section 21.3. */
export interface ServerIdOption { name: 'serverId'; code: 2; duid: Bytes }
/** OPTION_IA_NA (3), RFC 8415 section 21.4. */
export interface IaNaOption { name: 'iaNa'; code: 3; iaid: number; t1: number; t2: number; options: Dhcp6Option[] }
/** OPTION_IAADDR (5), RFC 8415 section 21.6. */
export interface IaAddrOption { name: 'iaAddr'; code: 5; address: Bytes; preferredLifetime: number; validLifetime: number; options: Dhcp6Option[] }
/** OPTION_ORO (6), RFC 8415 section 21.7. */
export interface OroOption { name: 'oro'; code: 6; codes: number[] }
/** OPTION_RELAY_MSG (9), RFC 8415 section 21.10: a whole DHCPv6 message. */
export interface RelayMsgOption { name: 'relayMsg'; code: 9; message: Dhcp6Message }
/** OPTION_STATUS_CODE (13), RFC 8415 section 21.13. */
export interface StatusCodeOption { name: 'statusCode'; code: 13; status: number; message: string }
/** OPTION_INTERFACE_ID (18), RFC 8415 section 21.18. */
export interface InterfaceIdOption { name: 'interfaceId'; code: 18; data: Bytes }
/** OPTION_IA_PD (25), RFC 8415 section 21.21. */
export interface IaPdOption { name: 'iaPd'; code: 25; iaid: number; t1: number; t2: number; options: Dhcp6Option[] }
/** OPTION_IAPREFIX (26), RFC 8415 section 21.22. */
export interface IaPrefixOption { name: 'iaPrefix'; code: 26; preferredLifetime: number; validLifetime: number; prefixLength: number; prefix: Bytes; options: Dhcp6Option[] }
/** OPTION_REMOTE_ID (37), RFC 4649. */
export interface RemoteIdOption { name: 'remoteId'; code: 37; enterpriseNumber: number; remoteId: Bytes }
/** OPTION_SUBSCRIBER_ID (38), RFC 4580. */
export interface SubscriberIdOption { name: 'subscriberId'; code: 38; data: Bytes }
/** OPTION_LQ_QUERY (44), RFC 5007 section 4.1.2.1. */
export interface LqQueryOption { name: 'lqQuery'; code: 44; queryType: number; linkAddress: Bytes; options: Dhcp6Option[] }
/** OPTION_CLIENT_DATA (45), RFC 5007 section 4.1.2.2. */
export interface ClientDataOption { name: 'clientData'; code: 45; options: Dhcp6Option[] }
/** OPTION_CLT_TIME (46), RFC 5007 section 4.1.2.3. */
export interface CltTimeOption { name: 'cltTime'; code: 46; seconds: number }
/**
 * OPTION_LQ_RELAY_DATA (47), RFC 5007 section 4.1.2.4: the peer-address and the last
 * RELAY-FORW chain the server received, without the client's message.
 */
export interface LqRelayDataOption { name: 'lqRelayData'; code: 47; peerAddress: Bytes; relayMessage: Dhcp6Message }
/** OPTION_LQ_CLIENT_LINK (48), RFC 5007 section 4.1.2.5. */
export interface LqClientLinkOption { name: 'lqClientLink'; code: 48; linkAddresses: Bytes[] }
/** OPTION_RELAY_ID (53), RFC 5460 section 5.4.1. */
export interface RelayIdOption { name: 'relayId'; code: 53; duid: Bytes }
/** OPTION_LQ_BASE_TIME (100), RFC 7653 section 5.4: server's current absolute time. */
export interface LqBaseTimeOption { name: 'lqBaseTime'; code: 100; time: number }
/** OPTION_LQ_START_TIME (101), RFC 7653 section 5.5. */
export interface LqStartTimeOption { name: 'lqStartTime'; code: 101; time: number }
/** OPTION_LQ_END_TIME (102), RFC 7653 section 5.6. */
export interface LqEndTimeOption { name: 'lqEndTime'; code: 102; time: number }
/** Any option this project does not model: kept as code + raw bytes. */
export interface UnknownOption { name: 'unknown'; code: number; data: Bytes }

export type Dhcp6Option =
  | ClientIdOption | ServerIdOption | IaNaOption | IaAddrOption | OroOption | RelayMsgOption
  | StatusCodeOption | InterfaceIdOption | IaPdOption | IaPrefixOption | RemoteIdOption
  | SubscriberIdOption | LqQueryOption | ClientDataOption | CltTimeOption | LqRelayDataOption
  | LqClientLinkOption | RelayIdOption | LqBaseTimeOption | LqStartTimeOption | LqEndTimeOption
  | UnknownOption;

export type OptionName = Dhcp6Option['name'];
export type OptionOf<N extends OptionName> = Extract<Dhcp6Option, { name: N }>;

/**
 * A client/server message (RFC 8415 section 8): msg-type(1) transaction-id(3) options.
 * Used for LEASEQUERY (14), LEASEQUERY-REPLY (15), -DONE (16), -DATA (17),
 * ACTIVELEASEQUERY (22), STARTTLS (23), and any other non-relay message type.
 */
export interface ClientServerMessage {
  kind: 'client-server';
  msgType: number;
  transactionId: number;
  options: Dhcp6Option[];
}

/**
 * A relay message (RFC 8415 section 9): msg-type(1) hop-count(1) link-address(16)
 * peer-address(16) options. RELAY-FORW (12) and RELAY-REPL (13).
 */
export interface RelayMessage {
  kind: 'relay';
  msgType: number;
  hopCount: number;
  linkAddress: Bytes;
  peerAddress: Bytes;
  options: Dhcp6Option[];
}

export type Dhcp6Message = ClientServerMessage | RelayMessage;

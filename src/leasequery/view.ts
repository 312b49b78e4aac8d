// The LeaseView: what the leasequery server engine needs from a lease database.
//
// One engine serves two very different databases: the lab DHCPv6 server (an in-memory
// authoritative lease DB) and the replica (a projection rebuilt from Kafka). Both keep
// current bindings in indexed in-memory tables, so lookups are synchronous (the UDP path
// must stay lean); the replica's history lives in Kafka, so catch-up history is async.
//
// All instants are milliseconds in the VIEW'S clock (`now()`): a lab server configured
// with a clock offset reports instants in its own skewed clock, exactly as a production
// DHCPv6 server would, and the engine derives OPTION_LQ_BASE_TIME, lifetimes and
// OPTION_CLT_TIME from `now()` at reply time (RFC 7653 section 8.4; RFC 5007 4.1.2.3).
import type { Dhcp6Option, RelayMessage } from '../protocol/index.js';

/** A statefully assigned address (OPTION_IAADDR, RFC 8415 section 21.6). */
export interface BoundAddress {
  readonly address: Buffer;
  /** Absolute instant (view clock, ms) the preferred lifetime ends; Infinity = infinite lifetime. */
  readonly preferredUntil: number;
  /** Absolute instant (view clock, ms) the valid lifetime ends; Infinity = infinite lifetime. */
  readonly validUntil: number;
}

/** A delegated prefix (OPTION_IAPREFIX, RFC 8415 section 21.22). */
export interface BoundPrefix {
  readonly prefix: Buffer;
  readonly length: number;
  readonly preferredUntil: number;
  readonly validUntil: number;
}

/**
 * What the server kept of the relays the client's last message came through
 * (OPTION_LQ_RELAY_DATA, RFC 5007 section 4.1.2.5). relay-id, remote-id,
 * interface-id and subscriber-id are options of the hops of `relayMessage`.
 */
export interface RelayInfo {
  /** The address of the relay the server received the RELAY-FORW from. */
  readonly peerAddress: Buffer;
  /** The outermost RELAY-FORW; inner hops nested in OPTION_RELAY_MSG; the client's message removed. */
  readonly relayMessage: RelayMessage;
}

/**
 * One client's bindings on one link, as the engine reads it. Immutable: a change
 * produces a new Binding, so a Binding handed to the change feed or kept in a history
 * stays what it was. A Binding with no addresses and no prefixes (or only expired ones)
 * says "released or expired" (RFC 7653 section 3: every change is reported, including
 * releases and expiries).
 */
export interface Binding {
  /** Stable identity of (client, link) within the view; change coalescing keys on it. */
  readonly key: string;
  readonly clientDuid: Buffer;
  /** The link the client is on (16 bytes; :: when the client talked directly). */
  readonly linkAddress: Buffer;
  readonly addresses: readonly BoundAddress[];
  readonly prefixes: readonly BoundPrefix[];
  /** When the server last talked to the client (view clock, ms): OPTION_CLT_TIME's origin. */
  readonly lastTransactionAt: number;
  readonly relay?: RelayInfo;
  /** Further client options the server may return when the requestor's ORO asks for them. */
  readonly extraOptions?: readonly Dhcp6Option[];
  /** When this state came to be (view clock, ms): OPTION_LQ_START_TIME / END_TIME filter on it. */
  readonly changedAt: number;
  /** Monotonic change sequence of the view: orders two states of the same binding. */
  readonly seq: number;
  /** Where this state came from, when the view knows (a replica: the event it rests on). */
  readonly provenance?: BindingProvenance;
}

/** The report a binding's state rests on: its source, its Kafka position, both clocks. */
export interface BindingProvenance {
  /** The source (DHCPv6 server) name that reported it. */
  readonly source: string;
  /** lq.events partition and offset of the event; null when applied without a position. */
  readonly partition: number | null;
  readonly offset: number | null;
  /** When the connector received the report (connector clock, ms). */
  readonly receivedAt: number;
  /** OPTION_LQ_BASE_TIME of the report (server clock, seconds since 2000-01-01). */
  readonly baseTime: number;
  /** OPTION_CLT_TIME of the report (seconds), null when absent. */
  readonly cltTime: number | null;
  /** How the connector got it: live, catch-up or bulk. */
  readonly phase: string;
}

/** A remote-id value (OPTION_REMOTE_ID, RFC 4649). */
export interface RemoteIdKey {
  readonly enterpriseNumber: number;
  readonly remoteId: Buffer;
}

/** A binding's new state, pushed to change-feed subscribers right after it happened. */
export type BindingChange = Binding;
export type ChangeListener = (change: BindingChange) => void;

/** Result of asking for the changes since an instant (RFC 7653 section 9.2 catch-up). */
export type HistoryResult =
  | {
      readonly available: true;
      /**
       * Every binding change with changedAt >= since, oldest first (repeats allowed: the
       * engine keeps the newest per key). May end early by throwing HistoryGapError when
       * the source loses history while it is being read.
       */
      readonly changes: AsyncIterable<BindingChange>;
    }
  | {
      readonly available: false;
      /** The earliest instant the view can still catch up from (view clock, ms), if known. */
      readonly horizon?: number;
    };

/** Thrown by a history iterator that found it can no longer deliver a gap-free history. */
export class HistoryGapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryGapError';
  }
}

/**
 * The lease database behind a leasequery server. Lookups return current state,
 * including bindings whose resources have since expired (the engine filters by `now()`),
 * and including released bindings the view still remembers (tombstones: no resources),
 * which only time-filtered queries report.
 *
 * Bulk lookups return lazily evaluated iterables (there can be a million results); the
 * engine pulls them while the socket has room, so an iterable must tolerate the view
 * changing between two pulls (JavaScript Map/Set iteration does).
 */
export interface LeaseView {
  /** OPTION_SERVERID of every reply. */
  readonly serverDuid: Buffer;
  /** The server's clock, ms since the Unix epoch (may be deliberately offset in the lab). */
  now(): number;

  /**
   * QUERY_BY_ADDRESS (RFC 5007 section 4.1.2.1): the binding holding `address`, or the
   * binding of the delegated prefix that contains it (longest prefix wins). `link`, when
   * given, restricts the search to that link.
   */
  byAddress(address: Buffer, link?: Buffer): Binding | undefined;
  /** QUERY_BY_CLIENTID: the client's bindings, one per link (restricted to `link` if given). */
  byClientId(duid: Buffer, link?: Buffer): readonly Binding[];
  /** QUERY_BY_RELAY_ID (RFC 5460 section 5.3.1): bindings whose relay chain carries this relay-id. */
  byRelayId(relayId: Buffer, link?: Buffer): Iterable<Binding>;
  /** QUERY_BY_LINK_ADDRESS (RFC 5460 section 5.3.2). */
  byLinkAddress(link: Buffer): Iterable<Binding>;
  /** QUERY_BY_REMOTE_ID (RFC 5460 section 5.3.3): bindings whose latest relay data carried this remote-id. */
  byRemoteId(remoteId: RemoteIdKey, link?: Buffer): Iterable<Binding>;

  /**
   * The view's name for the link a query's link-address designates (RFC 5007 section
   * 4.4.1: "an address for the link", not necessarily the relay's link-address), or
   * undefined when the server has no such link configured (-> NotConfigured). Views that
   * do not model link configuration omit it: link-addresses then compare exactly.
   */
  resolveLink?(address: Buffer): Buffer | undefined;
  /**
   * Whether `address` falls in the server's configured address or prefix ranges (RFC 5007
   * section 4.4.1: NotConfigured for an address on no known link). Omitted = not modelled.
   */
  isConfiguredAddress?(address: Buffer): boolean;

  /** Live change feed (RFC 7653): every binding change, synchronously after it happened. */
  subscribe(listener: ChangeListener): () => void;
  /**
   * Changes since `since` (view clock, ms) for Active Leasequery catch-up. May answer
   * asynchronously (a view whose history is in Kafka has to look). Must cover every change
   * up to the moment it is called: the engine subscribes to the feed just before calling
   * it, and drops history entries older than what the feed already delivered.
   */
  historySince(since: number): HistoryResult | Promise<HistoryResult>;
}

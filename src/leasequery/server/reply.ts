// Building reply messages from bindings (RFC 5007 section 4.4.2, RFC 5460 section 5.2,
// RFC 7653 "Forming Replies"). Times are computed here, at reply time, from the view's
// clock: lifetimes and OPTION_CLT_TIME relative to now, OPTION_LQ_BASE_TIME = now.
import {
  INFINITY,
  MessageType,
  OptionCode,
  encodeMessage,
  unixMsToDhcpTime,
  type ClientDataOption,
  type ClientServerMessage,
  type Dhcp6Option,
} from '../../protocol/index.js';
import type { Binding } from '../view.js';

/** What the requestor asked to get back, and what it must never get. */
export interface ReplyOptions {
  /** Client option codes requested in the OPTION_ORO of OPTION_LQ_QUERY (RFC 5007 4.1.2.1). */
  requested: ReadonlySet<number>;
  /** RFC 5007 section 4.4.2 sensitive options. */
  sensitive: ReadonlySet<number>;
}

const MAX_FINITE_LIFETIME = INFINITY - 1;

/** Seconds left until `until` (ms), as a wire lifetime; Infinity stays infinite. */
export function lifetimeAt(until: number, now: number): number {
  if (until === Infinity) return INFINITY;
  const s = Math.floor((until - now) / 1000);
  return s <= 0 ? 0 : s > MAX_FINITE_LIFETIME ? MAX_FINITE_LIFETIME : s;
}

/** Whether the binding holds a resource with a non-zero valid lifetime at `now`. */
export function isActiveAt(b: Binding, now: number): boolean {
  const a = b.addresses;
  for (let i = 0; i < a.length; i++) if (a[i].validUntil - now >= 1000) return true;
  const p = b.prefixes;
  for (let i = 0; i < p.length; i++) if (p[i].validUntil - now >= 1000) return true;
  return false;
}

/**
 * OPTION_CLIENT_DATA of one binding at `now`: CLIENTID, every address and prefix with a
 * non-zero valid lifetime ("The server MUST return all of the client's statefully
 * assigned addresses and delegated prefixes, with a non-zero valid lifetime, on the
 * link"), CLT_TIME, then the requested and permitted options (LQ_RELAY_DATA, extras).
 * A released/expired binding has no IAADDR/IAPREFIX: that is how Active Leasequery
 * reports the end of a binding.
 */
export function clientDataOption(b: Binding, now: number, ro: ReplyOptions): ClientDataOption {
  const options: Dhcp6Option[] = [{ name: 'clientId', code: 1, duid: b.clientDuid }];
  const addrs = b.addresses;
  for (let i = 0; i < addrs.length; i++) {
    const a = addrs[i];
    const valid = lifetimeAt(a.validUntil, now);
    if (valid === 0) continue;
    options.push({ name: 'iaAddr', code: 5, address: a.address, preferredLifetime: Math.min(lifetimeAt(a.preferredUntil, now), valid), validLifetime: valid, options: [] });
  }
  const pfx = b.prefixes;
  for (let i = 0; i < pfx.length; i++) {
    const p = pfx[i];
    const valid = lifetimeAt(p.validUntil, now);
    if (valid === 0) continue;
    options.push({ name: 'iaPrefix', code: 26, preferredLifetime: Math.min(lifetimeAt(p.preferredUntil, now), valid), validLifetime: valid, prefixLength: p.length, prefix: p.prefix, options: [] });
  }
  // Both whole-second values from one clock reading: base time - CLT_TIME is then exactly
  // the transaction's second, in every report of it (src/events/report-order.ts).
  const clt = Math.floor(now / 1000) - Math.floor(b.lastTransactionAt / 1000);
  options.push({ name: 'cltTime', code: 46, seconds: clt < 0 ? 0 : clt > MAX_FINITE_LIFETIME ? MAX_FINITE_LIFETIME : clt });
  if (ro.requested.size > 0) {
    if (ro.requested.has(OptionCode.LQ_RELAY_DATA) && !ro.sensitive.has(OptionCode.LQ_RELAY_DATA)) {
      // RFC 5007 4.1.2.5: returned only if requested, and only if the server kept it.
      const relay = b.relay;
      if (relay) options.push({ name: 'lqRelayData', code: 47, peerAddress: relay.peerAddress, relayMessage: relay.relayMessage });
    }
    const extra = b.extraOptions;
    if (extra) {
      for (const o of extra) if (ro.requested.has(o.code) && !ro.sensitive.has(o.code)) options.push(o);
    }
  }
  return { name: 'clientData', code: 45, options };
}

export function statusOption(status: number, message: string): Dhcp6Option {
  return { name: 'statusCode', code: 13, status, message };
}

export function baseTimeOption(now: number): Dhcp6Option {
  return { name: 'lqBaseTime', code: 100, time: unixMsToDhcpTime(now) };
}

/** The identity options every LEASEQUERY-REPLY carries (RFC 5007 section 4.2.2). */
export interface ReplyIdentity {
  serverDuid: Buffer;
  /** The requestor's OPTION_CLIENTID, echoed back (absent only when the query had none). */
  requestorDuid?: Buffer;
}

export function replyMessage(msgType: number, xid: number, options: Dhcp6Option[]): ClientServerMessage {
  return { kind: 'client-server', msgType, transactionId: xid, options };
}

/** LEASEQUERY-REPLY header options: SERVERID, CLIENTID, then status if not Success. */
export function replyHead(id: ReplyIdentity, status?: { status: number; message: string }): Dhcp6Option[] {
  const options: Dhcp6Option[] = [{ name: 'serverId', code: 2, duid: id.serverDuid }];
  if (id.requestorDuid) options.push({ name: 'clientId', code: 1, duid: id.requestorDuid });
  if (status) options.push(statusOption(status.status, status.message));
  return options;
}

/** A LEASEQUERY-REPLY carrying only a status (the error path of every transport). */
export function statusReply(xid: number, id: ReplyIdentity, status: number, message: string, now?: number): ClientServerMessage {
  const options = replyHead(id, { status, message });
  if (now !== undefined) options.push(baseTimeOption(now));
  return replyMessage(MessageType.LEASEQUERY_REPLY, xid, options);
}

/** The longest prefix of `text` whose UTF-8 form is at most `maxBytes` bytes (never splitting a character). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > maxBytes) break;
    used += n;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * An encoded status-only LEASEQUERY-REPLY of at most `maxBytes` bytes: the status
 * message is cut to fit; undefined when even an empty message does not fit.
 */
export function boundedStatusReply(xid: number, id: ReplyIdentity, status: number, message: string, maxBytes: number): Buffer | undefined {
  const bare = encodeMessage(statusReply(xid, id, status, ''));
  if (bare.length > maxBytes) return undefined;
  const room = maxBytes - bare.length;
  if (room === 0 || message.length === 0) return bare;
  return encodeMessage(statusReply(xid, id, status, truncateUtf8(message, room)));
}

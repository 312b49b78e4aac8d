// UDP LEASEQUERY (RFC 5007 section 4.4): one datagram in, one LEASEQUERY-REPLY out, to
// the address and port the query came from. The hot path of a replica (100,000
// queries/s): decode, one or two index lookups, build the reply objects, one allocation
// to encode, send. Nothing is logged unless the level is on.
import dgram from 'node:dgram';
import type { Logger } from '../../log.js';
import { DecodeError, MessageType, QueryType, StatusCode, decodeMessage, encodeMessage, type Dhcp6Option } from '../../protocol/index.js';
import type { Binding, LeaseView } from '../view.js';
import { peekHeader, topOption } from '../wire.js';
import type { Acl } from './acl.js';
import type { ResolvedOptions } from './options.js';
import { parseQuery, type ParsedQuery } from './query.js';
import type { PrefixRateLimiter } from './ratelimit.js';
import { baseTimeOption, boundedStatusReply, clientDataOption, isActiveAt, replyHead, replyMessage, statusReply } from './reply.js';
import { countStatus, type ServerStats } from './stats.js';

export interface UdpResponderDeps {
  view: LeaseView;
  acl: Acl;
  opts: ResolvedOptions;
  stats: ServerStats;
  logger: Logger;
  /** Per-prefix rate limit of permitted requestors' datagrams (none: unlimited). */
  limiter?: PrefixRateLimiter;
}

/** Answer one decoded-or-not datagram; returns the reply bytes, or undefined to stay silent. */
export function answerDatagram(deps: UdpResponderDeps, bytes: Buffer, source: string): Buffer | undefined {
  const { view, stats } = deps;
  stats.udpQueries++;
  // A source the ACL gives no UDP access at all never gets more bytes than it sent (no amplification).
  if (!deps.acl.allows(source, 'udp')) return answerOutsider(deps, bytes, source);
  // Permitted requestors: over their prefix's rate, dropped before any decoding work.
  if (deps.limiter && !deps.limiter.allow(source)) {
    stats.udpRateLimited++;
    return undefined;
  }
  let msg;
  try {
    msg = decodeMessage(bytes);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    stats.udpMalformed++;
    const h = peekHeader(bytes);
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ peer: source, reason: err.reason, offset: err.offset, error: err.message }, 'undecodable datagram');
    // A query whose header still reads gets MalformedQuery; anything else is dropped.
    if (h?.msgType !== MessageType.LEASEQUERY) return undefined;
    countStatus(stats, StatusCode.MalformedQuery);
    return encodeMessage(statusReply(h.transactionId, { serverDuid: view.serverDuid }, StatusCode.MalformedQuery, `undecodable query: ${err.message}`));
  }
  // RFC 5007 4.2.2: servers discard everything but LEASEQUERY on port 547.
  if (msg.kind !== 'client-server' || msg.msgType !== MessageType.LEASEQUERY) {
    stats.udpDiscarded++;
    return undefined;
  }
  const p = parseQuery(msg, 'udp', view);
  if (!p.ok) {
    if (p.kind === 'discard') {
      stats.udpDiscarded++;
      if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ peer: source, reason: p.reason }, 'discarded leasequery');
      return undefined;
    }
    countStatus(stats, p.status);
    return encodeMessage(statusReply(msg.transactionId, { serverDuid: view.serverDuid, requestorDuid: p.requestorDuid }, p.status, p.message));
  }
  const q = p.query;
  if (!deps.acl.allows(source, 'udp', q.queryType)) {
    // RFC 5007 4.4.1: the server MAY discard or MAY answer NotAllowed; a permitted requestor
    // asking for a query type it may not use gets the answer.
    countStatus(stats, StatusCode.NotAllowed);
    return encodeMessage(statusReply(q.xid, { serverDuid: view.serverDuid, requestorDuid: q.requestorDuid }, StatusCode.NotAllowed, `leasequery is not allowed for ${source}`));
  }
  return encodeMessage(answerQuery(deps, q));
}

/**
 * A datagram from a source outside the ACL (no rule could allow it UDP). RFC 5007 4.4.1
 * lets a server "discard the LEASEQUERY message or ... respond with ... NotAllowed". UDP
 * source addresses can be forged, so the answer must not be a reflection amplifier: a
 * well-formed LEASEQUERY (with the requestor's CLIENTID, and no other server's SERVERID)
 * gets NotAllowed with its status message cut so that the reply is no larger than the
 * query; if even the reply with an empty message would be larger, and for anything else
 * (undecodable, not a LEASEQUERY), nothing is sent. The query is not looked at further:
 * an outsider learns nothing about whether it was valid.
 */
function answerOutsider(deps: UdpResponderDeps, bytes: Buffer, source: string): Buffer | undefined {
  const { view, stats } = deps;
  stats.udpDenied++;
  const drop = (why: string): undefined => {
    stats.udpDeniedDropped++;
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ peer: source, why }, 'datagram from a source outside the ACL dropped');
    return undefined;
  };
  let msg;
  try {
    msg = decodeMessage(bytes);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    return drop('undecodable');
  }
  if (msg.kind !== 'client-server' || msg.msgType !== MessageType.LEASEQUERY) return drop('not a LEASEQUERY');
  const requestorDuid = topOption(msg, 'clientId')?.duid;
  if (!requestorDuid) return drop('no CLIENTID');
  const serverId = topOption(msg, 'serverId')?.duid;
  if (serverId && !serverId.equals(view.serverDuid)) return drop('another server\'s SERVERID');
  const reply = boundedStatusReply(msg.transactionId, { serverDuid: view.serverDuid, requestorDuid }, StatusCode.NotAllowed, `leasequery is not allowed for ${source}`, bytes.length);
  if (!reply) return drop('a NotAllowed reply would be larger than the query');
  stats.udpDeniedAnswered++;
  countStatus(stats, StatusCode.NotAllowed);
  return reply;
}

/** RFC 5007 section 4.4.1: zero or one CLIENT_DATA, or the client's links. */
function answerQuery(deps: UdpResponderDeps, q: ParsedQuery) {
  const { view, opts } = deps;
  const now = view.now();
  const options: Dhcp6Option[] = replyHead({ serverDuid: view.serverDuid, requestorDuid: q.requestorDuid });
  if (q.wantsBaseTime) options.push(baseTimeOption(now));
  const ro = { requested: q.requested, sensitive: opts.sensitive };
  let found: Binding | undefined;
  if (q.queryType === QueryType.QUERY_BY_ADDRESS) {
    const b = view.byAddress(q.address as Buffer, q.link);
    if (b && isActiveAt(b, now)) found = b;
  } else {
    const all = view.byClientId(q.clientId as Buffer, q.link);
    let active: Binding[] | undefined;
    for (const b of all) {
      if (isActiveAt(b, now)) (active ??= []).push(b);
    }
    if (active && active.length === 1) found = active[0];
    else if (active && active.length > 1) {
      // RFC 5007 4.4.1: on more than one link (and no link given), the links and no client data.
      options.push({ name: 'lqClientLink', code: 48, linkAddresses: active.map((b) => b.linkAddress) });
    }
  }
  if (found) options.push(clientDataOption(found, now, ro));
  countStatus(deps.stats, StatusCode.Success);
  deps.stats.udpReplies++;
  return replyMessage(MessageType.LEASEQUERY_REPLY, q.xid, options);
}

/** The UDP socket of a leasequery server. */
export class UdpResponder {
  private socket?: dgram.Socket;

  constructor(private readonly deps: UdpResponderDeps) {}

  async listen(host: string, port: number): Promise<number> {
    const type = host.includes(':') ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type, ipv6Only: false });
    this.socket = socket;
    socket.on('message', (bytes, rinfo) => {
      let reply: Buffer | undefined;
      try {
        reply = answerDatagram(this.deps, bytes, rinfo.address);
      } catch (err) {
        // A bug must not take the responder down: log it, drop the datagram.
        this.deps.logger.error({ err, peer: rinfo.address }, 'leasequery failed');
        return;
      }
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
    });
    socket.on('error', (err) => this.deps.logger.warn({ err: err.message }, 'udp socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        try {
          // Bursts of queries should queue in the kernel, not be dropped (capped by net.core.rmem_max).
          socket.setRecvBufferSize(4 * 1024 * 1024);
          socket.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // keep the system defaults
        }
        resolve();
      });
    });
    return socket.address().port;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

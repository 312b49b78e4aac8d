// UDP LEASEQUERY with retransmission (RFC 5007 section 4.3.2: RFC 8415 section 15
// with IRT = LQ_TIMEOUT 1 s, MRT = LQ_MAX_RT 10 s, MRC = LQ_MAX_RC 5, MRD = 0).
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import {
  DHCPV6_EPOCH_UNIX_S,
  DecodeError,
  MessageType,
  decodeMessage,
  encodeMessage,
  type ClientDataOption,
  type ClientServerMessage,
} from '../../protocol/index.js';
import { messageStatus, randomTransactionId, topOption } from '../wire.js';
import { readClientData, type ReportedBinding } from './client-data.js';
import { RequestorError } from './errors.js';
import { defaultRequestorDuid } from './identity.js';
import { buildLeasequery, type QueryExtras, type QuerySpec } from './query.js';

/** RFC 5007 section 4.1.4. */
export const LQ_TIMEOUT_MS = 1000;
export const LQ_MAX_RT_MS = 10_000;
export const LQ_MAX_RC = 5;

export interface UdpLeasequeryOptions extends QueryExtras {
  host: string;
  port?: number;
  requestorDuid?: Buffer;
  /** Retransmission parameters (RFC 8415 section 15); defaults from RFC 5007. */
  irtMs?: number;
  mrtMs?: number;
  /** Transmissions in all (first one included); 0 = no limit (then mrdMs should be set). */
  mrc?: number;
  /** Overall time limit in ms; 0 = none. */
  mrdMs?: number;
  signal?: AbortSignal;
  /**
   * Local UDP port to send from (default: any). ISC dhcpd answers LEASEQUERY to port
   * 546 whatever the query's source port was, so querying it needs 546 here.
   */
  localPort?: number;
  /** Local address to bind (default: any). */
  localAddress?: string;
}

export interface UdpLeasequeryResult {
  /** OPTION_STATUS_CODE of the reply (0 = Success, also when absent). */
  status: number;
  statusMessage: string;
  serverDuid?: Buffer;
  /** The client's data, when the server had exactly one binding to report. */
  binding?: ReportedBinding;
  clientData?: ClientDataOption;
  /** OPTION_LQ_CLIENT_LINK: the client is on these links (query again with one of them). */
  clientLinks?: Buffer[];
  /** OPTION_LQ_BASE_TIME, when the server sent it (server clock). */
  baseTime?: number;
  /** When the reply arrived (requestor clock, Unix ms). */
  receivedAt: number;
  /** Round-trip time of the transmission that was answered, ms (approximate after retransmissions). */
  rttMs: number;
  transmissions: number;
  reply: ClientServerMessage;
  /** Where the reply departs from RFC 5007 / RFC 7653 (the answer was still used). */
  notes: string[];
}

/** RFC 8415 section 15: RAND is uniform in [-0.1, +0.1]. */
function rand(): number {
  return (Math.random() * 2 - 1) * 0.1;
}

/** One query, answered or failed. */
export function udpLeasequery(spec: QuerySpec, opts: UdpLeasequeryOptions): Promise<UdpLeasequeryResult> {
  const port = opts.port ?? 547;
  const requestorDuid = opts.requestorDuid ?? defaultRequestorDuid();
  const xid = randomTransactionId();
  const packet = encodeMessage(buildLeasequery(xid, requestorDuid, spec, opts));
  const irt = opts.irtMs ?? LQ_TIMEOUT_MS;
  const mrt = opts.mrtMs ?? LQ_MAX_RT_MS;
  const mrc = opts.mrc ?? LQ_MAX_RC;
  const mrd = opts.mrdMs ?? 0;
  const family = isIP(opts.host) === 4 ? 'udp4' : 'udp6';
  const socket = dgram.createSocket(family);

  return new Promise<UdpLeasequeryResult>((resolve, reject) => {
    let transmissions = 0;
    let rt = 0;
    let sentAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let mrdTimer: NodeJS.Timeout | undefined;
    let finished = false;

    const finish = (err: Error | undefined, result?: UdpLeasequeryResult): void => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      if (mrdTimer) clearTimeout(mrdTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.close();
      if (err) reject(err);
      else resolve(result as UdpLeasequeryResult);
    };
    const onAbort = (): void => finish(new RequestorError('timeout', 'leasequery aborted'));

    const transmit = (): void => {
      if (finished) return;
      if (mrc > 0 && transmissions >= mrc) {
        finish(new RequestorError('timeout', `no LEASEQUERY-REPLY from [${opts.host}]:${port} after ${transmissions} transmission(s)`));
        return;
      }
      transmissions++;
      // RT = IRT + RAND*IRT first, then 2*RTprev + RAND*RTprev, capped at MRT + RAND*MRT.
      rt = transmissions === 1 ? irt + rand() * irt : 2 * rt + rand() * rt;
      if (mrt > 0 && rt > mrt) rt = mrt + rand() * mrt;
      sentAt = performance.now();
      socket.send(packet, port, opts.host, (err) => {
        if (err) finish(new RequestorError('refused', `cannot send to [${opts.host}]:${port}: ${err.message}`, { cause: err }));
      });
      timer = setTimeout(transmit, rt);
    };

    socket.on('message', (bytes) => {
      let msg;
      try {
        msg = decodeMessage(bytes);
      } catch (err) {
        if (err instanceof DecodeError) return; // RFC 5007 4.2.2: discard what does not validate
        throw err;
      }
      // RFC 5007 4.2.2: discard replies without SERVERID, for another requestor, or another transaction.
      if (msg.kind !== 'client-server' || msg.msgType !== MessageType.LEASEQUERY_REPLY || msg.transactionId !== xid) return;
      const serverId = topOption(msg, 'serverId');
      const clientId = topOption(msg, 'clientId');
      if (!serverId || !clientId || !clientId.duid.equals(requestorDuid)) return;
      if (opts.serverDuid && !serverId.duid.equals(opts.serverDuid)) return;
      const { status, message } = messageStatus(msg);
      const cd = topOption(msg, 'clientData');
      const links = topOption(msg, 'lqClientLink');
      const baseTime = topOption(msg, 'lqBaseTime')?.time;
      finish(undefined, {
        status,
        statusMessage: message,
        serverDuid: serverId.duid,
        clientData: cd,
        // RFC 5007 4.3.3: a CLIENT_DATA without CLT_TIME SHOULD be discarded.
        binding: cd && cd.options.some((o) => o.name === 'cltTime') ? readClientData(cd, msg) : undefined,
        clientLinks: links?.linkAddresses,
        baseTime,
        receivedAt: Date.now(),
        rttMs: performance.now() - sentAt,
        transmissions,
        reply: msg,
        notes: replyDepartures(cd, { baseTimeAsked: opts.baseTime !== false, baseTime, receivedAt: Date.now() }),
      });
    });
    socket.on('error', (err) => finish(new RequestorError('refused', `UDP error talking to [${opts.host}]:${port}: ${err.message}`, { cause: err })));
    if (opts.signal) {
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort);
    }
    if (mrd > 0) mrdTimer = setTimeout(() => finish(new RequestorError('timeout', `no LEASEQUERY-REPLY within ${mrd} ms`)), mrd);
    socket.bind({ port: opts.localPort ?? 0, address: opts.localAddress, exclusive: true }, () => transmit());
  });
}

/** Seconds from the DHCPv6 epoch (2000-01-01Z) to `unixMs`: no real lease is older than that. */
function secondsSince2000(unixMs: number): number {
  return Math.floor(unixMs / 1000) - DHCPV6_EPOCH_UNIX_S;
}

/**
 * What in a reply departs from the RFCs in ways seen in deployed servers, so a person
 * reading the answer is told rather than misled.
 */
export function replyDepartures(cd: ClientDataOption | undefined, ctx: { baseTimeAsked: boolean; baseTime?: number; receivedAt: number }): string[] {
  const notes: string[] = [];
  if (ctx.baseTimeAsked && ctx.baseTime === undefined) {
    notes.push('the server sent no OPTION_LQ_BASE_TIME although the ORO asked for it (it predates RFC 7653): times are relative to when the reply arrived');
  }
  const clt = cd?.options.find((o) => o.name === 'cltTime');
  if (clt && clt.name === 'cltTime' && clt.seconds > secondsSince2000(ctx.receivedAt)) {
    // RFC 5007 section 4.1.2.3: seconds since the server last talked to the client. A
    // value larger than the time since 2000 cannot be that; ISC dhcpd 4.x sends the
    // absolute Unix time of the last transaction here.
    notes.push(
      `OPTION_CLT_TIME ${clt.seconds} is not seconds since the last transaction (RFC 5007 section 4.1.2.3); ` +
        `read as an absolute Unix time it is ${new Date(clt.seconds * 1000).toISOString()} (ISC dhcpd sends that)`,
    );
  }
  return notes;
}

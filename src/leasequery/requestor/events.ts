// What a requestor gets from a Bulk (RFC 5460 section 6.3) or Active (RFC 7653
// "Processing Active Replies") Leasequery: typed events, converted from the server's
// messages as they arrive.
import { MessageType, StatusCode, type ClientDataOption, type ClientServerMessage } from '../../protocol/index.js';
import { messageStatus, topOption } from '../wire.js';
import { clientDataBytes, readClientData, type ReportedBinding } from './client-data.js';

export type Phase = 'bulk' | 'catch-up' | 'live';

interface Received {
  /** OPTION_LQ_BASE_TIME of the message (server clock), when present. */
  baseTime?: number;
  /** When the message arrived (requestor clock, Unix ms). */
  receivedAt: number;
}

export interface BindingEvent extends Received {
  kind: 'binding';
  phase: Phase;
  binding: ReportedBinding;
  clientData: ClientDataOption;
  /** The OPTION_CLIENT_DATA bytes as received (re-encoded on demand: the codec is lossless). */
  raw(): Buffer;
  message: ClientServerMessage;
}

export interface DoneEvent extends Received {
  kind: 'done';
  /** Success (0) when the answer is complete; otherwise the error or QueryTerminated. */
  status: number;
  statusMessage: string;
  serverDuid?: Buffer;
}

export type BulkEvent = BindingEvent | DoneEvent;

export type ActiveEvent =
  | BindingEvent
  | DoneEvent
  /** The server accepted the ACTIVELEASEQUERY (its LEASEQUERY-REPLY). */
  | ({ kind: 'accepted'; serverDuid?: Buffer } & Received)
  /** Every change since OPTION_LQ_START_TIME has been sent: from here on, base-times may be saved as resume points. */
  | ({ kind: 'catch-up-complete' } & Received)
  /** The server lacks history back to OPTION_LQ_START_TIME: recover with a Bulk Leasequery [start, this baseTime]. */
  | ({ kind: 'data-missing'; statusMessage: string; serverDuid?: Buffer } & Received)
  /** A LEASEQUERY-DATA without client data (ACTIVE_LQ_IDLE_TIMEOUT keepalive). */
  | ({ kind: 'keepalive' } & Received)
  /** A LEASEQUERY-DATA with a status this requestor has no meaning for. */
  | ({ kind: 'status'; status: number; statusMessage: string } & Received);

export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

function bindingEvent(msg: ClientServerMessage, cd: ClientDataOption, phase: Phase, r: Received): BindingEvent {
  let raw: Buffer | undefined;
  return { kind: 'binding', phase, binding: readClientData(cd, msg), clientData: cd, raw: () => (raw ??= clientDataBytes(cd)), message: msg, ...r };
}

export interface Converter<E> {
  /** Events for one message of this query, and whether the query's answer is now complete. */
  convert(msg: ClientServerMessage, receivedAt: number): { events: E[]; complete: boolean };
}

/** RFC 5460 6.3.1 reply completion: REPLY without CLIENT_DATA, or DONE. */
export class BulkConverter implements Converter<BulkEvent> {
  private gotReply = false;
  private serverDuid?: Buffer;

  convert(msg: ClientServerMessage, receivedAt: number): { events: BulkEvent[]; complete: boolean } {
    const r: Received = { baseTime: topOption(msg, 'lqBaseTime')?.time, receivedAt };
    const { status, message } = messageStatus(msg);
    const cd = topOption(msg, 'clientData');
    switch (msg.msgType) {
      case MessageType.LEASEQUERY_REPLY:
        if (this.gotReply) throw new ProtocolViolation(`a second LEASEQUERY-REPLY for transaction ${msg.transactionId}`);
        this.gotReply = true;
        this.serverDuid = topOption(msg, 'serverId')?.duid;
        if (status !== StatusCode.Success || !cd) {
          return { events: [{ kind: 'done', status, statusMessage: message, serverDuid: this.serverDuid, ...r }], complete: true };
        }
        return { events: [bindingEvent(msg, cd, 'bulk', r)], complete: false };
      case MessageType.LEASEQUERY_DATA:
        if (!this.gotReply) throw new ProtocolViolation('LEASEQUERY-DATA before LEASEQUERY-REPLY');
        // RFC 5460 6.3: "A LEASEQUERY-DATA message that does not contain an OPTION_CLIENT_DATA MUST be discarded."
        return { events: cd ? [bindingEvent(msg, cd, 'bulk', r)] : [], complete: false };
      case MessageType.LEASEQUERY_DONE:
        if (!this.gotReply) throw new ProtocolViolation('LEASEQUERY-DONE before LEASEQUERY-REPLY');
        return { events: [{ kind: 'done', status, statusMessage: message, serverDuid: this.serverDuid, ...r }], complete: true };
      default:
        throw new ProtocolViolation(`unexpected message type ${msg.msgType} in a bulk answer`);
    }
  }
}

/** RFC 7653: accepted / catch-up / CatchUpComplete or DataMissing / live / DONE. */
export class ActiveConverter implements Converter<ActiveEvent> {
  private gotReply = false;
  private serverDuid?: Buffer;
  phase: Phase;

  constructor(withCatchUp: boolean) {
    this.phase = withCatchUp ? 'catch-up' : 'live';
  }

  convert(msg: ClientServerMessage, receivedAt: number): { events: ActiveEvent[]; complete: boolean } {
    const r: Received = { baseTime: topOption(msg, 'lqBaseTime')?.time, receivedAt };
    const { status, message } = messageStatus(msg);
    const cd = topOption(msg, 'clientData');
    switch (msg.msgType) {
      case MessageType.LEASEQUERY_REPLY: {
        if (this.gotReply) throw new ProtocolViolation(`a second LEASEQUERY-REPLY for transaction ${msg.transactionId}`);
        this.gotReply = true;
        this.serverDuid = topOption(msg, 'serverId')?.duid;
        if (status === StatusCode.DataMissing) {
          this.phase = 'live';
          return { events: [{ kind: 'data-missing', statusMessage: message, serverDuid: this.serverDuid, ...r }], complete: false };
        }
        if (status !== StatusCode.Success) {
          return { events: [{ kind: 'done', status, statusMessage: message, serverDuid: this.serverDuid, ...r }], complete: true };
        }
        const events: ActiveEvent[] = [{ kind: 'accepted', serverDuid: this.serverDuid, ...r }];
        if (cd) events.push(bindingEvent(msg, cd, this.phase, r));
        return { events, complete: false };
      }
      case MessageType.LEASEQUERY_DATA:
        if (!this.gotReply) throw new ProtocolViolation('LEASEQUERY-DATA before LEASEQUERY-REPLY');
        if (cd) return { events: [bindingEvent(msg, cd, this.phase, r)], complete: false };
        if (status === StatusCode.CatchUpComplete) {
          this.phase = 'live';
          return { events: [{ kind: 'catch-up-complete', ...r }], complete: false };
        }
        if (status === StatusCode.DataMissing) {
          this.phase = 'live';
          return { events: [{ kind: 'data-missing', statusMessage: message, serverDuid: this.serverDuid, ...r }], complete: false };
        }
        if (status !== StatusCode.Success) return { events: [{ kind: 'status', status, statusMessage: message, ...r }], complete: false };
        return { events: [{ kind: 'keepalive', ...r }], complete: false };
      case MessageType.LEASEQUERY_DONE:
        return { events: [{ kind: 'done', status, statusMessage: message, serverDuid: this.serverDuid, ...r }], complete: true };
      default:
        throw new ProtocolViolation(`unexpected message type ${msg.msgType} in an active answer`);
    }
  }
}

// Bulk Leasequery over TCP (RFC 5460 section 7.2, with RFC 7653's time filters):
//
//   LEASEQUERY-REPLY  status, SERVERID, CLIENTID, first binding's CLIENT_DATA (if any)
//   LEASEQUERY-DATA   one per further binding
//   LEASEQUERY-DONE   only after a reply that carried a binding
//
// Bindings are pulled from the view's lazy iterable only while the socket has room, so
// a million-binding answer never sits in memory. With OPTION_LQ_START_TIME/END_TIME the
// answer is the bindings that changed in that window (released ones included: that is
// how a requestor recovering from DataMissing learns of releases); without, the
// bindings holding a resource now.
import { MessageType, StatusCode, type Dhcp6Option } from '../../protocol/index.js';
import type { ConnectionContext } from './context.js';
import { selectBindings, inTimeWindow } from './match.js';
import type { ParsedQuery } from './query.js';
import { baseTimeOption, clientDataOption, isActiveAt, replyHead, replyMessage, statusOption, statusReply, type ReplyOptions } from './reply.js';
import { countStatus } from './stats.js';

/** Yield to the event loop every this many bindings looked at, so one big answer does not starve other connections. */
const YIELD_EVERY = 1024;

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function serveBulk(ctx: ConnectionContext, q: ParsedQuery): Promise<void> {
  const { view, writer } = ctx;
  const ro: ReplyOptions = { requested: q.requested, sensitive: ctx.opts.sensitive };
  const timeFiltered = q.startMs !== undefined || q.endMs !== undefined;
  const identity = { serverDuid: view.serverDuid, requestorDuid: q.requestorDuid };
  ctx.stats.bulkQueries++;

  let sent = 0;
  let scanned = 0;
  let blocked = false;
  try {
    for (const b of selectBindings(view, q)) {
      if (blocked) {
        await writer.drained();
        blocked = false;
      } else if (++scanned % YIELD_EVERY === 0) {
        await yieldToLoop();
      }
      if (ctx.closed) return;
      if (ctx.terminating) {
        // RFC 5460 sections 5.5 and 7.4: an aborted request ends with QueryTerminated.
        if (sent === 0) errorReply(StatusCode.QueryTerminated, 'the server is shutting down');
        else done(StatusCode.QueryTerminated, 'the server is shutting down');
        return;
      }
      const now = view.now();
      if (!(timeFiltered ? inTimeWindow(b, q) : isActiveAt(b, now))) continue;
      try {
        if (sent === 0) {
          const head = replyHead(identity);
          if (q.wantsBaseTime) head.push(baseTimeOption(now));
          head.push(clientDataOption(b, now, ro));
          blocked = !writer.send(replyMessage(MessageType.LEASEQUERY_REPLY, q.xid, head));
          countStatus(ctx.stats, StatusCode.Success);
        } else {
          const options: Dhcp6Option[] = [clientDataOption(b, now, ro)];
          if (q.wantsBaseTime) options.push(baseTimeOption(now));
          blocked = !writer.send(replyMessage(MessageType.LEASEQUERY_DATA, q.xid, options));
        }
      } catch (err) {
        // A binding with no valid wire form (e.g. over 64 KiB) must not end the answer.
        ctx.logger.error({ conn: ctx.id, err, binding: b.key }, 'binding could not be encoded: skipped');
        continue;
      }
      sent++;
    }
  } finally {
    ctx.stats.bulkBindingsSent += sent;
  }
  if (ctx.closed) return;
  if (sent === 0) {
    // RFC 5460 7.2: no bindings -> a LEASEQUERY-REPLY without status and without CLIENT_DATA, and no DONE.
    const head = replyHead(identity);
    if (q.wantsBaseTime) head.push(baseTimeOption(view.now()));
    countStatus(ctx.stats, StatusCode.Success);
    writer.send(replyMessage(MessageType.LEASEQUERY_REPLY, q.xid, head));
    return;
  }
  done(StatusCode.Success, '');

  function errorReply(status: number, message: string): void {
    countStatus(ctx.stats, status);
    writer.send(statusReply(q.xid, identity, status, message, q.wantsBaseTime ? view.now() : undefined));
  }

  function done(status: number, message: string): void {
    const options: Dhcp6Option[] = status === StatusCode.Success ? [] : [statusOption(status, message)];
    if (q.wantsBaseTime) options.push(baseTimeOption(view.now()));
    if (status !== StatusCode.Success) countStatus(ctx.stats, status);
    writer.send(replyMessage(MessageType.LEASEQUERY_DONE, q.xid, options));
  }
}

// Which bindings a query selects: by index for the first answer (the view's lookups),
// and by predicate for the changes an Active Leasequery with an OPTION_LQ_QUERY filter
// is to receive (RFC 7653 "ACTIVELEASEQUERY": "only interested in specific binding
// updates").
import { QueryType, type Dhcp6Message, type Dhcp6Option } from '../../protocol/index.js';
import type { Binding, LeaseView } from '../view.js';
import type { ParsedQuery } from './query.js';

/** The bindings a bulk query selects (RFC 5460 section 7.2), lazily. */
export function selectBindings(view: LeaseView, q: ParsedQuery): Iterable<Binding> {
  switch (q.queryType) {
    case QueryType.QUERY_BY_ADDRESS: {
      const b = view.byAddress(q.address as Buffer, q.link);
      return b ? [b] : [];
    }
    case QueryType.QUERY_BY_CLIENTID:
      return view.byClientId(q.clientId as Buffer, q.link);
    case QueryType.QUERY_BY_RELAY_ID:
      return view.byRelayId(q.relayId as Buffer, q.link);
    case QueryType.QUERY_BY_LINK_ADDRESS:
      return view.byLinkAddress(q.link as Buffer);
    case QueryType.QUERY_BY_REMOTE_ID:
      return q.remoteId ? view.byRemoteId(q.remoteId, q.link) : [];
    default:
      return [];
  }
}

/** Does `prefix`/`length` contain `address`? */
export function prefixContains(prefix: Buffer, length: number, address: Buffer): boolean {
  const full = length >>> 3;
  for (let i = 0; i < full; i++) if (prefix[i] !== address[i]) return false;
  const rem = length & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (prefix[full] & mask) === (address[full] & mask);
}

/** Walk the relay chain (outermost first) and visit every hop's options. */
function someHopOption(msg: Dhcp6Message | undefined, pred: (o: Dhcp6Option) => boolean): boolean {
  let m = msg;
  while (m && m.kind === 'relay') {
    let inner: Dhcp6Message | undefined;
    for (const o of m.options) {
      if (pred(o)) return true;
      if (o.name === 'relayMsg') inner = o.message;
    }
    m = inner;
  }
  return false;
}

/** Does a binding (in whatever state) fall under an Active Leasequery's filter? */
export function bindingMatches(b: Binding, q: ParsedQuery): boolean {
  if (q.link && !b.linkAddress.equals(q.link)) return false;
  switch (q.queryType) {
    case 0:
      return true;
    case QueryType.QUERY_BY_ADDRESS: {
      const a = q.address as Buffer;
      for (const x of b.addresses) if (x.address.equals(a)) return true;
      for (const p of b.prefixes) if (prefixContains(p.prefix, p.length, a)) return true;
      return false;
    }
    case QueryType.QUERY_BY_CLIENTID:
      return b.clientDuid.equals(q.clientId as Buffer);
    case QueryType.QUERY_BY_RELAY_ID: {
      const id = q.relayId as Buffer;
      return someHopOption(b.relay?.relayMessage, (o) => o.name === 'relayId' && o.duid.equals(id));
    }
    case QueryType.QUERY_BY_LINK_ADDRESS:
      return true; // the link test above is the whole filter
    case QueryType.QUERY_BY_REMOTE_ID: {
      const r = q.remoteId;
      if (!r) return false;
      return someHopOption(b.relay?.relayMessage, (o) => o.name === 'remoteId' && o.enterpriseNumber === r.enterpriseNumber && o.remoteId.equals(r.remoteId));
    }
    default:
      return false;
  }
}

/** RFC 7653 start/end-time filter: bindings that changed in [startMs, endMs]. */
export function inTimeWindow(b: Binding, q: ParsedQuery): boolean {
  if (q.startMs !== undefined && b.changedAt < q.startMs) return false;
  if (q.endMs !== undefined && b.changedAt > q.endMs) return false;
  return true;
}

// The lookups behind the five leasequery query types, as binding ids (the projection
// materializes them). Bulk lookups copy their member lists when called and yield lazily:
// the tables may change between two pulls (LeaseView's contract for bulk iterables), so
// each id is re-checked when it is pulled.
import type { RemoteIdKey } from '../leasequery/view.js';
import type { LeaseTables } from './tables.js';

/** A link restriction: ALL_LINKS, NO_LINK (a link no binding was ever on), or a link id. */
export const ALL_LINKS = -2;
export const NO_LINK = -1;

function isUnspecified(a: Buffer): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** The restriction a query's link-address means: none or :: = every link (RFC 5007 4.1.2.2). */
export function linkFilter(t: LeaseTables, link: Buffer | undefined): number {
  if (!link || isUnspecified(link)) return ALL_LINKS;
  return t.links.find(link)?.id ?? NO_LINK;
}

const onLink = (t: LeaseTables, b: number, want: number): boolean => want === ALL_LINKS || t.link[b] === want;

/**
 * QUERY_BY_ADDRESS (RFC 5007 section 4.1.2.1): the binding holding the address, else the
 * binding of the longest delegated prefix containing it; live resources only.
 */
export function bindingOfAddress(t: LeaseTables, address: Buffer, want: number, now: number): number {
  if (address.length !== 16 || want === NO_LINK) return -1;
  const res = t.resources;
  const ok = (r: number): boolean => res.valid[r] > now && onLink(t, res.binding[r], want);
  let r = res.findAddress(address);
  if (r < 0 || !ok(r)) r = res.findPrefix(address, ok);
  return r < 0 ? -1 : res.binding[r];
}

/** QUERY_BY_CLIENTID: the client's bindings, one per link. */
export function bindingsOfClient(t: LeaseTables, duid: Buffer, want: number): number[] {
  if (want === NO_LINK) return [];
  return t.bindingsOfClient(duid).filter((b) => onLink(t, b, want));
}

/** QUERY_BY_RELAY_ID (RFC 5460 section 5.3.1): bindings whose relay chain carries the relay-id, in any hop. */
export function bindingsOfRelayId(t: LeaseTables, relayId: Buffer, want: number): Iterable<number> {
  const templates = want === NO_LINK ? undefined : t.templates.byRelayId.get(relayId.toString('latin1'));
  if (!templates) return [];
  const sets = [...templates].map((tm) => ({ id: tm.id, members: t.templateList.copy(tm.members) }));
  return (function* () {
    for (const { id, members } of sets) for (const b of members) if (t.inUse(b) && t.template[b] === id && onLink(t, b, want)) yield b;
  })();
}

/** QUERY_BY_LINK_ADDRESS (RFC 5460 section 5.3.2): the bindings on the link (exactly this link-address). */
export function bindingsOnLink(t: LeaseTables, link: Buffer): Iterable<number> {
  const l = t.links.find(link);
  if (!l) return [];
  const members = t.linkList.copy(l.members);
  return (function* () {
    for (const b of members) if (t.inUse(b) && t.link[b] === l.id) yield b;
  })();
}

/**
 * QUERY_BY_REMOTE_ID (RFC 5460 section 5.3.3): bindings whose relay chain carried the
 * remote-id - in the hop nearest the client (indexed per binding) or in an outer hop
 * (indexed per relay template).
 */
export function bindingsOfRemoteId(t: LeaseTables, remoteId: RemoteIdKey, want: number): Iterable<number> {
  if (want === NO_LINK) return [];
  const ids = new Set(t.bindingsOfRemoteId(remoteId.enterpriseNumber, remoteId.remoteId));
  const key = Buffer.alloc(4 + remoteId.remoteId.length);
  key.writeUInt32BE(remoteId.enterpriseNumber, 0);
  remoteId.remoteId.copy(key, 4);
  for (const tm of t.templates.byRemoteId.get(key.toString('latin1')) ?? []) for (const b of t.templateList.copy(tm.members)) ids.add(b);
  const list = [...ids];
  return (function* () {
    for (const b of list) if (t.inUse(b) && onLink(t, b, want)) yield b;
  })();
}

// Addresses and prefixes as the audit keys them, and how a query matches them.
//
// A resource key is 32 hex digits of the 16 bytes (a prefix's bits beyond its length
// cleared), followed by "/<length>" for a prefix: two reports of one resource give the
// same key whatever their text looked like. Text always comes back through formatIPv6
// (RFC 5952), so answers show one spelling.
import { formatIPv6, parseIPv6 } from '../protocol/index.js';
import { AuditError } from './errors.js';

export interface Resource {
  key: string;
  /** 16 bytes; a prefix's bits beyond its length are zero. */
  bytes: Buffer;
  /** null for an address (IA_NA / IA_TA), else the prefix length (IA_PD). */
  prefixLength: number | null;
}

/** How a resource relates to the one asked about. */
export type ResourceMatch = 'exact' | 'covering' | 'contained';

const CACHE_LIMIT = 200_000;
const cache = new Map<string, Resource>();

function mask(bytes: Buffer, plen: number): Buffer {
  for (let i = 0; i < 16; i++) {
    const bits = plen - i * 8;
    if (bits >= 8) continue;
    bytes[i] &= bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return bytes;
}

function make(bytes: Buffer, plen: number | null): Resource {
  if (plen !== null) mask(bytes, plen);
  const hex = bytes.toString('hex');
  return { key: plen === null ? hex : `${hex}/${plen}`, bytes, prefixLength: plen };
}

/**
 * The resource of an address or prefix as an event spells it. Memoized: the same few
 * texts recur in millions of events. Throws (plain Error) on text that is not IPv6.
 */
export function resourceOf(text: string, prefixLength: number | null): Resource {
  const id = prefixLength === null ? text : `${text}/${prefixLength}`;
  let r = cache.get(id);
  if (r === undefined) {
    r = make(parseIPv6(text), prefixLength);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(id, r);
  }
  return r;
}

/** The canonical text of a key: "2001:db8::1" or "2001:db8:12::/56". */
export function resourceText(key: string): string {
  const slash = key.indexOf('/');
  const addr = formatIPv6(Buffer.from(slash < 0 ? key : key.slice(0, slash), 'hex'));
  return slash < 0 ? addr : `${addr}/${key.slice(slash + 1)}`;
}

export function isPrefixKey(key: string): boolean {
  return key.includes('/');
}

/** True when the first `plen` bits of `a` and `b` agree (b lies inside a/plen). */
export function withinPrefix(a: Uint8Array, plen: number, b: Uint8Array): boolean {
  let i = 0;
  for (; plen >= 8; plen -= 8, i++) if (a[i] !== b[i]) return false;
  if (plen === 0) return true;
  const m = (0xff << (8 - plen)) & 0xff;
  return (a[i] & m) === (b[i] & m);
}

/** An address argument ("2001:db8::5"). */
export function parseAddressArg(text: string): Resource {
  if (text.includes('/')) throw new AuditError('bad-resource', `'${text}' is a prefix: use --prefix for prefixes, --address for addresses`);
  try {
    return make(parseIPv6(text), null);
  } catch (err) {
    throw new AuditError('bad-resource', `--address: ${(err as Error).message}`);
  }
}

/** A prefix argument ("2001:db8:12::/56"); bits beyond the length must be zero. */
export function parsePrefixArg(text: string): Resource {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) throw new AuditError('bad-resource', `--prefix '${text}' is not ADDRESS/LENGTH (e.g. 2001:db8:12::/56)`);
  const plen = Number(m[2]);
  if (plen > 128) throw new AuditError('bad-resource', `--prefix '${text}': a prefix length is 0..128`);
  let bytes: Buffer;
  try {
    bytes = parseIPv6(m[1]);
  } catch (err) {
    throw new AuditError('bad-resource', `--prefix: ${(err as Error).message}`);
  }
  const r = make(Buffer.from(bytes), plen);
  if (!r.bytes.equals(bytes)) {
    throw new AuditError('bad-resource', `--prefix '${text}' has bits set beyond /${plen}; did you mean ${formatIPv6(r.bytes)}/${plen}?`);
  }
  return r;
}

/**
 * How `r` relates to the queried resource `q`:
 * - address query A: the address A itself is 'exact'; a delegated prefix containing A
 *   is 'covering' (an address inside a delegated prefix is held by the prefix's holder);
 * - prefix query P/L: the same prefix is 'exact'; a shorter delegated prefix containing
 *   P is 'covering'; a longer prefix or an address inside P is 'contained'.
 * null: unrelated.
 */
export function matchResource(q: Resource, r: Resource): ResourceMatch | null {
  if (q.prefixLength === null) {
    if (r.prefixLength === null) return r.key === q.key ? 'exact' : null;
    return withinPrefix(r.bytes, r.prefixLength, q.bytes) ? 'covering' : null;
  }
  const ql = q.prefixLength;
  if (r.prefixLength === null) return withinPrefix(q.bytes, ql, r.bytes) ? 'contained' : null;
  if (r.prefixLength === ql) return r.key === q.key ? 'exact' : null;
  if (r.prefixLength < ql) return withinPrefix(r.bytes, r.prefixLength, q.bytes) ? 'covering' : null;
  return withinPrefix(q.bytes, ql, r.bytes) ? 'contained' : null;
}

/** The text of a query resource. */
export function queryText(q: Resource): string {
  return resourceText(q.key);
}

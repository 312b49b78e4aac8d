// Relay data (OPTION_LQ_RELAY_DATA, RFC 5007 section 4.1.2.5) in compact form.
//
// A relay chain has two kinds of content. What the relays nearer the server add (their
// link-addresses, peer-addresses, relay-ids, aggregation ports) is the same for every
// client behind them; what the relay nearest the client adds (the client's link-local
// peer-address, remote-id, interface-id, subscriber-id: RFC 4649, RFC 4580, RFC 8415
// section 21.18) is per subscriber. So a chain is split in two:
// - a RelayTemplate, interned per distinct shape and shared by thousands of bindings:
//   every hop, with the innermost hop's per-subscriber fields left out;
// - a variant: the innermost hop's per-subscriber fields, a few dozen bytes stored with
//   the binding (after its DUID, in the binding's latin1 "blob", see blob.ts).
// The innermost hop's relay-id stays in the template (it names the relay, not the client).
import type { Dhcp6Option, RelayMessage } from '../protocol/index.js';
import { MessageType } from '../protocol/index.js';
import type { RelayInfo } from '../leasequery/view.js';
import type { RelayData, RelayHop } from '../events/model.js';
import { emptyList, type MemberList } from './member-list.js';
import { hexInto, ipv6Into } from './text.js';
import { ProjectionInputError } from './errors.js';
import { mix32 } from './hash.js';

interface TemplateHop {
  readonly hopCount: number;
  readonly linkAddress: Buffer;
  /** null for the innermost hop: its peer-address is the client's, in the variant. */
  readonly peerAddress: Buffer | null;
  readonly relayId?: Buffer;
  readonly remoteId?: { enterpriseNumber: number; remoteId: Buffer };
  readonly interfaceId?: Buffer;
  readonly subscriberId?: Buffer;
}

export interface RelayTemplate {
  readonly id: number;
  /** Hash of the shared fields (templateHash). */
  readonly hash: number;
  /** The shared fields as event JSON (the innermost hop without its variant): its identity. */
  readonly spec: RelayData;
  /** OPTION_LQ_RELAY_DATA's peer-address: the relay the server heard from. */
  readonly peerAddress: Buffer;
  /** Outermost (nearest the server) first. Buffers are shared: do not mutate. */
  readonly hops: readonly TemplateHop[];
  /** Every hop's relay-id, latin1 (QUERY_BY_RELAY_ID, RFC 5460 section 5.3.1). */
  readonly relayIds: readonly string[];
  /** Remote-ids of the hops other than the innermost, latin1 of enterprise(4) + id. */
  readonly remoteIds: readonly string[];
  /** Bindings whose effective state uses this template. */
  readonly members: MemberList;
  /** Stored binding states (effective or not) that use this template. */
  refs: number;
}

// Variant flags (first byte of the variant).
const V_HOP = 1; // there is an innermost hop: 16 bytes of its peer-address follow
const V_REMOTE = 2; // enterprise(4) len(2) remote-id
const V_IFACE = 4; // len(2) interface-id
const V_SUB = 8; // len(2) subscriber-id
const MAX_OPTION = 0xffff;

// Interning runs once per event, so it neither builds a key string nor allocates: the
// shared fields are hashed in place, and candidates with that hash compared field by field.
function mixString(h: number, s: string | undefined): number {
  if (s === undefined) return Math.imul(h ^ 0x5bd1e995, 0x01000193);
  h = Math.imul(h ^ s.length, 0x01000193);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function mixNumber(h: number, n: number): number {
  return Math.imul(h ^ n, 0x01000193);
}

/** Hash of a chain's shared fields (what templates are interned by). */
function templateHash(r: RelayData): number {
  const hops = r.hops;
  const last = hops.length - 1;
  let h = mixNumber(mixString(0x811c9dc5, r.peerAddress), hops.length);
  for (let i = 0; i <= last; i++) {
    const x = hops[i];
    h = mixString(mixString(mixNumber(h, x.hopCount), x.linkAddress), x.relayId);
    if (i < last) {
      h = mixString(mixString(mixString(h, x.peerAddress), x.interfaceId), x.subscriberId);
      h = x.remoteId ? mixString(mixNumber(h, x.remoteId.enterpriseNumber), x.remoteId.id) : mixNumber(h, -1);
    }
  }
  return mix32(h);
}

/** Does chain `r` have the shared fields of `spec` (a template's)? */
function sameShape(r: RelayData, spec: RelayData): boolean {
  const a = r.hops;
  const b = spec.hops;
  if (r.peerAddress !== spec.peerAddress || a.length !== b.length) return false;
  const last = a.length - 1;
  for (let i = 0; i <= last; i++) {
    const x = a[i];
    const y = b[i];
    if (x.hopCount !== y.hopCount || x.linkAddress !== y.linkAddress || x.relayId !== y.relayId) return false;
    if (i === last) break;
    if (x.peerAddress !== y.peerAddress || x.interfaceId !== y.interfaceId || x.subscriberId !== y.subscriberId) return false;
    if (x.remoteId?.enterpriseNumber !== y.remoteId?.enterpriseNumber || x.remoteId?.id !== y.remoteId?.id) return false;
  }
  return true;
}

const addr = Buffer.alloc(16);
function ipv6Buffer(text: string): Buffer {
  ipv6Into(text, addr, 0);
  return Buffer.from(addr);
}
const idScratch = Buffer.alloc(MAX_OPTION);
function hexBuffer(hex: string, what: string): Buffer {
  const n = hexInto(hex, idScratch, 0, what);
  return Buffer.from(idScratch.subarray(0, n));
}

function remoteIdKey(enterpriseNumber: number, id: Buffer): string {
  const b = Buffer.alloc(4 + id.length);
  b.writeUInt32BE(enterpriseNumber, 0);
  id.copy(b, 4);
  return b.toString('latin1');
}

export class RelayTemplates {
  /** Index = template id; 0 is "no relay data". */
  private readonly list: (RelayTemplate | undefined)[] = [undefined];
  private readonly free: number[] = [];
  private readonly byHash = new Map<number, RelayTemplate | RelayTemplate[]>();
  private count = 0;
  /** relay-id (latin1) -> templates with a hop carrying it. */
  readonly byRelayId = new Map<string, Set<RelayTemplate>>();
  /** remote-id key (latin1) -> templates with a non-innermost hop carrying it. */
  readonly byRemoteId = new Map<string, Set<RelayTemplate>>();

  get size(): number {
    return this.count;
  }

  get(id: number): RelayTemplate | undefined {
    return this.list[id];
  }

  *all(): IterableIterator<RelayTemplate> {
    for (const t of this.list) if (t) yield t;
  }

  /** The template id of a chain (0 for none); created with refs = 0 when new. */
  intern(r: RelayData | null): number {
    if (r === null) return 0;
    const h = templateHash(r);
    const found = this.byHash.get(h);
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (sameShape(r, found.spec)) return found.id;
      } else {
        for (const t of found) if (sameShape(r, t.spec)) return t.id;
      }
    }
    return this.create(h, r);
  }

  /** Drops a template that an event interned but no stored state took (a duplicate). */
  dropIfUnused(id: number): void {
    const t = this.list[id];
    if (id === 0 || !t || t.refs > 0) return;
    t.refs = 1;
    this.unref(id);
  }

  ref(id: number): void {
    if (id !== 0) (this.list[id] as RelayTemplate).refs++;
  }

  /** Drops one reference; the template goes when no stored state uses it. */
  unref(id: number): void {
    if (id === 0) return;
    const t = this.list[id] as RelayTemplate;
    if (--t.refs > 0) return;
    const found = this.byHash.get(t.hash);
    if (Array.isArray(found) && found.length > 1) found.splice(found.indexOf(t), 1);
    else this.byHash.delete(t.hash);
    this.count--;
    for (const r of t.relayIds) deleteFrom(this.byRelayId, r, t);
    for (const r of t.remoteIds) deleteFrom(this.byRemoteId, r, t);
    this.list[id] = undefined;
    this.free.push(id);
  }

  private create(hash: number, r: RelayData): number {
    const last = r.hops.length - 1;
    const hops: TemplateHop[] = r.hops.map((h, i) => ({
      hopCount: h.hopCount,
      linkAddress: ipv6Buffer(h.linkAddress),
      peerAddress: i === last ? null : ipv6Buffer(h.peerAddress),
      relayId: h.relayId === undefined ? undefined : hexBuffer(h.relayId, 'relay-id'),
      remoteId: i === last || !h.remoteId ? undefined : { enterpriseNumber: h.remoteId.enterpriseNumber, remoteId: hexBuffer(h.remoteId.id, 'remote-id') },
      interfaceId: i === last || h.interfaceId === undefined ? undefined : hexBuffer(h.interfaceId, 'interface-id'),
      subscriberId: i === last || h.subscriberId === undefined ? undefined : hexBuffer(h.subscriberId, 'subscriber-id'),
    }));
    const spec: RelayData = {
      peerAddress: r.peerAddress,
      hops: r.hops.map((h, i): RelayHop => {
        if (i < last) return { ...h };
        const inner: RelayHop = { hopCount: h.hopCount, linkAddress: h.linkAddress, peerAddress: '::' };
        if (h.relayId !== undefined) inner.relayId = h.relayId;
        return inner;
      }),
    };
    const relayIds = [...new Set(hops.filter((h) => h.relayId).map((h) => (h.relayId as Buffer).toString('latin1')))];
    const remoteIds = [...new Set(hops.filter((h) => h.remoteId).map((h) => remoteIdKey(h.remoteId!.enterpriseNumber, h.remoteId!.remoteId)))];
    const id = this.free.pop() ?? this.list.length;
    const t: RelayTemplate = { id, hash, spec, peerAddress: ipv6Buffer(r.peerAddress), hops, relayIds, remoteIds, members: emptyList(), refs: 0 };
    this.list[id] = t;
    const found = this.byHash.get(hash);
    if (found === undefined) this.byHash.set(hash, t);
    else if (Array.isArray(found)) found.push(t);
    else this.byHash.set(hash, [found, t]);
    this.count++;
    for (const x of relayIds) addTo(this.byRelayId, x, t);
    for (const x of remoteIds) addTo(this.byRemoteId, x, t);
    return id;
  }
}

function addTo(m: Map<string, Set<RelayTemplate>>, k: string, t: RelayTemplate): void {
  const s = m.get(k);
  if (s) s.add(t);
  else m.set(k, new Set([t]));
}

function deleteFrom(m: Map<string, Set<RelayTemplate>>, k: string, t: RelayTemplate): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(t);
  if (s.size === 0) m.delete(k);
}

function putLen(out: Buffer, off: number, n: number, what: string): number {
  if (n > MAX_OPTION) throw new ProjectionInputError(`${what} of ${n} bytes does not fit an option`);
  out[off] = n >>> 8;
  out[off + 1] = n & 0xff;
  return off + 2;
}

/**
 * Writes the variant of `r` (the innermost hop's per-subscriber fields) at out[off];
 * returns the end offset. `out` must have room for 1 + 16 + 3 * (2 + 65535) + 4 bytes in
 * the worst case; the caller's scratch is sized for it.
 */
export function writeVariant(r: RelayData | null, out: Buffer, off: number): number {
  const inner = r && r.hops.length > 0 ? r.hops[r.hops.length - 1] : undefined;
  if (!inner) {
    out[off] = 0;
    return off + 1;
  }
  const flagsAt = off;
  let flags = V_HOP;
  off++;
  ipv6Into(inner.peerAddress, out, off);
  off += 16;
  if (inner.remoteId) {
    flags |= V_REMOTE;
    out.writeUInt32BE(inner.remoteId.enterpriseNumber, off);
    const n = hexInto(inner.remoteId.id, out, off + 6, 'remote-id');
    putLen(out, off + 4, n, 'remote-id');
    off += 6 + n;
  }
  if (inner.interfaceId !== undefined) {
    flags |= V_IFACE;
    const n = hexInto(inner.interfaceId, out, off + 2, 'interface-id');
    off = putLen(out, off, n, 'interface-id') + n;
  }
  if (inner.subscriberId !== undefined) {
    flags |= V_SUB;
    const n = hexInto(inner.subscriberId, out, off + 2, 'subscriber-id');
    off = putLen(out, off, n, 'subscriber-id') + n;
  }
  out[flagsAt] = flags;
  return off;
}

/** Room a variant may need in the worst case. */
export const MAX_VARIANT = 1 + 16 + 6 + 3 * (2 + MAX_OPTION);

function len16(s: string, at: number): number {
  return (s.charCodeAt(at) << 8) | s.charCodeAt(at + 1);
}

/**
 * Where the innermost hop's remote-id is in a blob whose variant starts at `v`:
 * returns the offset of the enterprise number (id bytes follow at +6), or -1.
 */
export function variantRemoteIdAt(blob: string, v: number): number {
  const flags = blob.charCodeAt(v);
  if (!(flags & V_REMOTE)) return -1;
  return v + 1 + 16;
}

/** Length of the remote-id at `at` (as returned by variantRemoteIdAt). */
export function remoteIdLength(blob: string, at: number): number {
  return len16(blob, at + 4);
}

export function enterpriseAt(blob: string, at: number): number {
  return ((blob.charCodeAt(at) << 24) | (blob.charCodeAt(at + 1) << 16) | (blob.charCodeAt(at + 2) << 8) | blob.charCodeAt(at + 3)) >>> 0;
}

/**
 * The decoded chain for a Binding: RELAY-FORW messages (msg-type 12), outermost first,
 * each inner one in the outer one's OPTION_RELAY_MSG, the client's message removed
 * (RFC 5007 section 4.1.2.5). Options of a hop in the order interface-id, remote-id,
 * subscriber-id, relay-id, relay-msg.
 */
export function relayInfo(t: RelayTemplate, blob: string, v: number): RelayInfo {
  const flags = blob.charCodeAt(v);
  let p = v + 1;
  let peer: Buffer = Buffer.alloc(16);
  let remote: Dhcp6Option | undefined;
  let iface: Buffer | undefined;
  let sub: Buffer | undefined;
  if (flags & V_HOP) {
    peer = Buffer.from(blob.slice(p, p + 16), 'latin1');
    p += 16;
  }
  if (flags & V_REMOTE) {
    const n = len16(blob, p + 4);
    remote = { name: 'remoteId', code: 37, enterpriseNumber: enterpriseAt(blob, p), remoteId: Buffer.from(blob.slice(p + 6, p + 6 + n), 'latin1') };
    p += 6 + n;
  }
  if (flags & V_IFACE) {
    const n = len16(blob, p);
    iface = Buffer.from(blob.slice(p + 2, p + 2 + n), 'latin1');
    p += 2 + n;
  }
  if (flags & V_SUB) {
    const n = len16(blob, p);
    sub = Buffer.from(blob.slice(p + 2, p + 2 + n), 'latin1');
  }
  let inner: RelayMessage | undefined;
  for (let i = t.hops.length - 1; i >= 0; i--) {
    const h = t.hops[i];
    const innermost = i === t.hops.length - 1;
    const options: Dhcp6Option[] = [];
    const ifaceId = innermost ? iface : h.interfaceId;
    if (ifaceId) options.push({ name: 'interfaceId', code: 18, data: ifaceId });
    if (innermost) {
      if (remote) options.push(remote);
    } else if (h.remoteId) {
      options.push({ name: 'remoteId', code: 37, enterpriseNumber: h.remoteId.enterpriseNumber, remoteId: h.remoteId.remoteId });
    }
    const subId = innermost ? sub : h.subscriberId;
    if (subId) options.push({ name: 'subscriberId', code: 38, data: subId });
    if (h.relayId) options.push({ name: 'relayId', code: 53, duid: h.relayId });
    if (inner) options.push({ name: 'relayMsg', code: 9, message: inner });
    inner = {
      kind: 'relay',
      msgType: MessageType.RELAY_FORW,
      hopCount: h.hopCount,
      linkAddress: h.linkAddress,
      peerAddress: innermost ? peer : (h.peerAddress as Buffer),
      options,
    };
  }
  // A chain with no hop cannot be expressed as a RelayMessage: an empty RELAY-FORW
  // addressed from the relay stands in for it.
  return {
    peerAddress: t.peerAddress,
    relayMessage: inner ?? { kind: 'relay', msgType: MessageType.RELAY_FORW, hopCount: 0, linkAddress: Buffer.alloc(16), peerAddress: t.peerAddress, options: [] },
  };
}

// One source's state of one binding, in three forms:
// - SourceState: a plain object, built from an event (fromEvent) or unpacked;
// - the effective state of a binding, kept in the tables' columns (tables.ts);
// - packed: one latin1 string (about 100 bytes) for the states that do not win (the
//   other server of a failover pair) and for snapshots.
//
// The binding's "blob" is a latin1 string: duidLength(1) DUID variant (relay.ts).
import type { BindingEvent, Phase } from '../events/model.js';
import { ProjectionInputError } from './errors.js';
import { mix32 } from './hash.js';
import type { OrderKey } from './order.js';
import { MAX_VARIANT, writeVariant } from './relay.js';
import type { RelayTemplates } from './relay.js';
import { hexInto, ipv6Into } from './text.js';

/** plen of an address resource (an IA_NA address); 0..128 is a prefix length. */
export const ADDRESS = 255;
const MAX_DUID = 255;

export interface StateResource {
  /** ADDRESS, or the prefix length. */
  readonly plen: number;
  /** 16 bytes, latin1; a prefix's bits beyond its length are zero. */
  readonly bytes: string;
  /** Connector clock, ms; Infinity for an infinite lifetime. */
  readonly pref: number;
  readonly valid: number;
}

export interface SourceState extends OrderKey {
  /** Kafka partition the event came from; -1 when applied without a position. */
  readonly partition: number;
  /** Kafka offset of the event in that partition; -1 when applied without a position. */
  readonly offset: number;
  readonly phase: number;
  /** Relay template id (relay.ts), 0 when the event had no relay data. */
  readonly template: number;
  readonly blob: string;
  /** Live resources only: released (zero lifetime) and already expired ones are dropped. */
  readonly resources: readonly StateResource[];
}

export const PHASES: readonly Phase[] = ['live', 'catch-up', 'bulk'];
const phaseIndex: Record<Phase, number> = { live: 0, 'catch-up': 1, bulk: 2 };

const scratch = Buffer.alloc(1 + MAX_DUID + MAX_VARIANT + 64);

/** Blob offsets. */
export function duidEnd(blob: string): number {
  return 1 + blob.charCodeAt(0);
}

/** Writes the length-prefixed client DUID at scratch[0]; returns the end offset. */
export function writeDuid(clientIdHex: string, out: Buffer): number {
  if (clientIdHex.length > 2 * MAX_DUID) throw new ProjectionInputError(`client DUID of ${clientIdHex.length / 2} bytes is longer than ${MAX_DUID}`);
  const n = hexInto(clientIdHex, out, 1, 'client DUID');
  out[0] = n;
  return 1 + n;
}

const NO_RESOURCES: readonly StateResource[] = [];

const f64mix = new Float64Array(1);
const u32mix = new Uint32Array(f64mix.buffer);
function mixDouble(h: number, v: number): number {
  f64mix[0] = v;
  return Math.imul(Math.imul(h ^ u32mix[0], 0x01000193) ^ u32mix[1], 0x01000193);
}

/**
 * The content tiebreak of order 1 (order.ts): FNV-1a over the blob (DUID and relay
 * variant), the relay template's shape hash and every resource with its lifetimes.
 * Content only - no ids that depend on arrival order - so equal contents tie alike
 * in every delivery order.
 */
export function contentTie(blob: string, templateHash: number, resources: readonly StateResource[]): number {
  let h = 0x811c9dc5 ^ templateHash;
  for (let i = 0; i < blob.length; i++) h = Math.imul(h ^ blob.charCodeAt(i), 0x01000193);
  for (const r of resources) {
    h = Math.imul(h ^ r.plen, 0x01000193);
    for (let i = 0; i < 16; i++) h = Math.imul(h ^ r.bytes.charCodeAt(i), 0x01000193);
    h = mixDouble(mixDouble(h, r.pref), r.valid);
  }
  return mix32(h) >>> 0;
}
const res16 = Buffer.alloc(16);

function until(v: number | null): number {
  return v === null ? Infinity : v;
}

/** Masks the bits of res16 beyond `plen` (a prefix's canonical form). */
function maskPrefix(plen: number): void {
  for (let i = 0; i < 16; i++) {
    const bits = plen - i * 8;
    if (bits >= 8) continue;
    res16[i] &= bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
}

/**
 * The state an event reports. Resources with a zero valid lifetime (released) or whose
 * validUntil is not after `now` (expired before we saw them) are left out: an empty set
 * means released (DESIGN.md "Events").
 */
export function stateFromEvent(e: BindingEvent, source: number, partition: number, offset: number, now: number, templates: RelayTemplates): SourceState {
  let resources: StateResource[] | undefined;
  for (const a of e.addresses) {
    const valid = until(a.validUntil);
    if (a.validLifetime === 0 || valid <= now) continue;
    ipv6Into(a.address, res16, 0);
    (resources ??= []).push({ plen: ADDRESS, bytes: res16.toString('latin1'), pref: until(a.preferredUntil), valid });
  }
  for (const p of e.prefixes) {
    const valid = until(p.validUntil);
    if (p.validLifetime === 0 || valid <= now) continue;
    ipv6Into(p.prefix, res16, 0);
    maskPrefix(p.prefixLength);
    (resources ??= []).push({ plen: p.prefixLength, bytes: res16.toString('latin1'), pref: until(p.preferredUntil), valid });
  }
  const end = writeVariant(e.relay, scratch, writeDuid(e.clientId, scratch));
  const blob = scratch.toString('latin1', 0, end);
  const template = templates.intern(e.relay);
  const res = resources ?? NO_RESOURCES;
  return {
    source,
    partition,
    offset,
    lastTx: e.lastTransactionAt ?? NaN,
    receivedAt: e.receivedAt,
    baseTime: e.baseTime,
    cltTime: e.cltTime ?? -1,
    tie: contentTie(blob, template === 0 ? 0 : templates.get(template)!.hash, res),
    phase: phaseIndex[e.phase],
    template,
    blob,
    resources: res,
  };
}

// Packed layout (little-endian):
//   0 u16 source | 2 i32 partition | 6 f64 lastTx | 14 f64 receivedAt | 22 u32 baseTime
//   26 u32 cltTime | 30 u8 flags (bit0 no CLT_TIME, bits 1-2 phase) | 31 u32 tie
//   35 u32 template | 39 f64 Kafka offset (-1 unknown) | 47 u32 blob length, blob |
//   u8 resource count, then per resource: u8 plen, 16 bytes, f64 pref, f64 valid (33 bytes)
const P_BLOB_LEN = 47;
const P_BLOB = 51;
const RES_SIZE = 33;
const MAX_RESOURCES = 255;

/** Packed size of a state. */
export function packedSize(s: SourceState): number {
  return P_BLOB + s.blob.length + 1 + s.resources.length * RES_SIZE;
}

/**
 * Writes the fixed fields and the blob of a packed state at out[off]; returns the offset
 * of the resource count. Shared by writePacked and the tables' column writer.
 */
export function writePackedHead(out: Buffer, off: number, k: OrderKey, partition: number, offset: number, phase: number, template: number, blob: string): number {
  out.writeUInt16LE(k.source, off);
  out.writeInt32LE(partition, off + 2);
  out.writeDoubleLE(k.lastTx, off + 6);
  out.writeDoubleLE(k.receivedAt, off + 14);
  out.writeUInt32LE(k.baseTime, off + 22);
  out.writeUInt32LE(k.cltTime < 0 ? 0 : k.cltTime, off + 26);
  out[off + 30] = (k.cltTime < 0 ? 1 : 0) | (phase << 1);
  out.writeUInt32LE(k.tie, off + 31);
  out.writeUInt32LE(template, off + 35);
  out.writeDoubleLE(offset, off + 39);
  out.writeUInt32LE(blob.length, off + P_BLOB_LEN);
  return off + P_BLOB + out.write(blob, off + P_BLOB, 'latin1');
}

export const PACKED_FIXED = P_BLOB + 1;
export const PACKED_RESOURCE = RES_SIZE;

/** Writes a packed state at out[off]; returns the end offset. */
export function writePacked(s: SourceState, out: Buffer, off: number): number {
  if (s.resources.length > MAX_RESOURCES) throw new ProjectionInputError(`a binding with ${s.resources.length} resources: at most ${MAX_RESOURCES} are kept`);
  let p = writePackedHead(out, off, s, s.partition, s.offset, s.phase, s.template, s.blob);
  out[p++] = s.resources.length;
  for (const r of s.resources) {
    out[p] = r.plen;
    out.write(r.bytes, p + 1, 'latin1');
    out.writeDoubleLE(r.pref, p + 17);
    out.writeDoubleLE(r.valid, p + 25);
    p += RES_SIZE;
  }
  return p;
}

export function pack(s: SourceState): string {
  const out = packedSize(s) <= scratch.length ? scratch : Buffer.alloc(packedSize(s));
  return out.toString('latin1', 0, writePacked(s, out, 0));
}

/**
 * Reads a packed state from `b` at `off` (bounds-checked: a snapshot may be corrupt).
 * Returns the state and the end offset. `mapTemplate` translates stored template ids.
 */
export function readPacked(b: Buffer, off: number, mapTemplate: (id: number) => number = (id) => id): { state: SourceState; end: number } {
  need(b, off, P_BLOB);
  const blobLen = b.readUInt32LE(off + P_BLOB_LEN);
  need(b, off + P_BLOB, blobLen + 1);
  let p = off + P_BLOB + blobLen;
  const blob = b.toString('latin1', off + P_BLOB, p);
  if (blobLen < 1 || blob.charCodeAt(0) + 2 > blobLen) throw new RangeError('binding blob shorter than its DUID');
  const n = b[p++];
  need(b, p, n * RES_SIZE);
  const resources: StateResource[] = [];
  for (let i = 0; i < n; i++, p += RES_SIZE) {
    const plen = b[p];
    if (plen > 128 && plen !== ADDRESS) throw new RangeError(`resource with prefix length ${plen}`);
    resources.push({ plen, bytes: b.toString('latin1', p + 1, p + 17), pref: b.readDoubleLE(p + 17), valid: b.readDoubleLE(p + 25) });
  }
  const flags = b[off + 30];
  const phase = flags >> 1;
  if (phase > 2) throw new RangeError(`phase ${phase}`);
  const state: SourceState = {
    source: b.readUInt16LE(off),
    partition: b.readInt32LE(off + 2),
    offset: b.readDoubleLE(off + 39),
    lastTx: b.readDoubleLE(off + 6),
    receivedAt: b.readDoubleLE(off + 14),
    baseTime: b.readUInt32LE(off + 22),
    cltTime: flags & 1 ? -1 : b.readUInt32LE(off + 26),
    phase,
    tie: b.readUInt32LE(off + 31),
    template: mapTemplate(b.readUInt32LE(off + 35)),
    blob,
    resources: n === 0 ? NO_RESOURCES : resources,
  };
  return { state, end: p };
}

function need(b: Buffer, off: number, n: number): void {
  if (off + n > b.length) throw new RangeError(`record needs ${n} bytes at offset ${off}, ${b.length - off} remain`);
}

const unpackBuf = Buffer.alloc(64 * 1024);

export function unpack(p: string): SourceState {
  const b = p.length <= unpackBuf.length ? unpackBuf : Buffer.alloc(p.length);
  b.write(p, 0, 'latin1');
  return readPacked(b.subarray(0, p.length), 0).state;
}

/** Source id of a packed state, without unpacking it. */
export function packedSource(p: string): number {
  return p.charCodeAt(0) | (p.charCodeAt(1) << 8);
}

export function packedTemplate(p: string): number {
  return (p.charCodeAt(35) | (p.charCodeAt(36) << 8) | (p.charCodeAt(37) << 16) | (p.charCodeAt(38) << 24)) >>> 0;
}

export function packedPartition(p: string): number {
  return p.charCodeAt(2) | (p.charCodeAt(3) << 8) | (p.charCodeAt(4) << 16) | (p.charCodeAt(5) << 24);
}

const f64 = Buffer.alloc(8);
export function packedReceivedAt(p: string): number {
  f64.write(p.slice(14, 22), 0, 'latin1');
  return f64.readDoubleLE(0);
}

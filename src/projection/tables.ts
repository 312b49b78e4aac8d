// The lease tables: one slot per binding (one client on one link, RFC 5007 "data for a
// single client on a single link"), in typed-array columns, plus the indexes.
//
// Per binding the effective state - the winning source's state (order 2, order.ts) - is
// held in columns and resource slots (resources.ts); other sources' states for the
// same binding are packed strings in `others` (rare outside failover pairs). The blob
// column holds DUID + relay variant in one latin1 string, the relay chain's shared part
// is an interned template (relay.ts). Indexes:
//   client DUID  -> bindings        (IdHashIndex, keys compared in the blobs)
//   remote-id    -> bindings        (innermost hop's remote-id; outer hops via templates)
//   link         -> bindings        (LinkInfo.members)
//   relay-id     -> templates -> bindings (RelayTemplate.members)
//   address / prefix -> resource slot -> binding (resources.ts)
//   expiry       -> bindings by next due time (expiry.ts)
import { grown, nextCapacity } from './grow.js';
import { hashBytes, hashLatin1 } from './hash.js';
import { EMPTY, IdHashIndex } from './hash-index.js';
import { Links, type LinkInfo } from './links.js';
import { MemberLinks } from './member-list.js';
import { compareAcrossSources, type OrderKey } from './order.js';
import { enterpriseAt, RelayTemplates, remoteIdLength, variantRemoteIdAt } from './relay.js';
import { Resources } from './resources.js';
import { ExpiryQueue } from './expiry.js';
import { duidEnd, pack, PACKED_FIXED, PACKED_RESOURCE, packedSource, packedTemplate, unpack, writePackedHead, type SourceState, type StateResource } from './state.js';
import { Sources } from './sources.js';
import type { BulkScope } from '../events/model.js';

const IN_USE = 1;
const NO_CLT = 2;
const PHASE_SHIFT = 2;
/** setWinner ran at least once (the blob's remote-id is in the index). */
const HAS_WINNER = 16;

/** lastTransactionAt as the normalizer derives it (events/normalize.ts); NaN without CLT_TIME. */
function derivedLastTx(receivedAt: number, cltTime: number): number {
  return cltTime < 0 ? NaN : receivedAt - cltTime * 1000;
}

/** A bulk-started marker waiting for its bulk-complete. */
export interface PendingResync {
  readonly source: number;
  readonly resyncId: string;
  readonly at: number;
  readonly scope: BulkScope | undefined;
}

export class LeaseTables {
  readonly sources = new Sources();
  readonly links = new Links();
  readonly templates = new RelayTemplates();
  readonly resources: Resources;
  readonly expiry = new ExpiryQueue();
  /** States of the sources that do not win, per binding: one packed string or several. */
  readonly others = new Map<number, string | string[]>();
  /** Bindings whose effective state changed during the current operation. */
  readonly touched = new Set<number>();
  /** Last applied Kafka offset per partition of lq.events. */
  readonly positions = new Map<number, bigint>();
  readonly resyncs = new Map<string, PendingResync>();
  /** The projection's change sequence (Binding.seq). */
  seq = 0;
  /** Called before a binding slot is freed; `hadResources`: it still held some. */
  onDelete: (b: number, hadResources: boolean) => void = () => {};

  private cap = 0;
  private top = 0;
  private freeHead = -1;
  /** Bindings in use. */
  count = 0;

  blob: string[] = [];
  /** Bindings per link and per relay template (member-list.ts). */
  readonly linkList = new MemberLinks();
  readonly templateList = new MemberLinks();
  link = new Uint32Array(0);
  template = new Uint32Array(0);
  /** First resource slot, -1 when none; the free list's next pointer when unused. */
  firstRes = new Int32Array(0);
  source = new Uint16Array(0);
  partition = new Int32Array(0);
  /** Kafka offset of the effective state's event (-1 unknown): where an answer's evidence is. */
  offset = new Float64Array(0);
  receivedAt = new Float64Array(0);
  baseTime = new Uint32Array(0);
  private cltTime = new Uint32Array(0);
  tie = new Uint32Array(0);
  seqs = new Float64Array(0);
  private flags = new Uint8Array(0);

  /** lastTransactionAt of the bindings whose event did not derive it from receivedAt and CLT_TIME. */
  private readonly lastTxOverride = new Map<number, number>();
  private readonly clients: IdHashIndex;
  private readonly remoteIds: IdHashIndex;

  constructor(private readonly tombstoneRetentionMs: number) {
    this.resources = new Resources(
      (a, b) => this.newer(a, b),
      (b) => this.touched.add(b),
    );
    // No stored hashes (4 bytes a slot): comparing a probed binding's DUID or remote-id
    // in its blob fails on the first bytes for nearly every non-match.
    this.clients = new IdHashIndex((b) => this.clientHash(b));
    this.remoteIds = new IdHashIndex((b) => this.remoteHash(b));
  }

  /** Makes room for `bindings` bindings and `resources` resource slots (a snapshot load knows both). */
  reserve(bindings: number, resources: number, addresses: number): void {
    if (bindings > this.cap) this.grow(bindings, true);
    this.resources.reserve(resources);
    this.resources.reserveAddresses(addresses);
    this.clients.reserve(bindings);
    this.remoteIds.reserve(bindings);
    this.expiry.reserve(bindings);
  }

  private grow(needed: number, exact = false): void {
    const cap = exact ? needed : nextCapacity(this.cap, needed);
    this.link = grown(this.link, cap);
    this.linkList.grow(cap);
    this.template = grown(this.template, cap);
    this.templateList.grow(cap);
    this.firstRes = grown(this.firstRes, cap);
    this.source = grown(this.source, cap);
    this.partition = grown(this.partition, cap);
    this.offset = grown(this.offset, cap);
    this.receivedAt = grown(this.receivedAt, cap);
    this.baseTime = grown(this.baseTime, cap);
    this.cltTime = grown(this.cltTime, cap);
    this.tie = grown(this.tie, cap);
    this.seqs = grown(this.seqs, cap);
    this.flags = grown(this.flags, cap);
    this.cap = cap;
  }

  inUse(b: number): boolean {
    return b >= 0 && b < this.top && (this.flags[b] & IN_USE) !== 0;
  }

  /** Highest slot number ever used + 1 (iterate 0..top and test inUse). */
  get slots(): number {
    return this.top;
  }

  // ---- client index -------------------------------------------------------------------

  private clientHash(b: number): number {
    const s = this.blob[b];
    return hashLatin1(s, 1, duidEnd(s));
  }

  private duidEquals(b: number, duid: Uint8Array, from: number, to: number): boolean {
    const s = this.blob[b];
    if (s.charCodeAt(0) !== to - from) return false;
    for (let i = from, j = 1; i < to; i++, j++) if (s.charCodeAt(j) !== duid[i]) return false;
    return true;
  }

  /** The binding of DUID bytes duid[from, to) on `link`, or -1. */
  findBinding(duid: Uint8Array, from: number, to: number, link: number): number {
    const idx = this.clients;
    const h = hashBytes(duid, from, to);
    for (let i = idx.start(h), b: number; (b = idx.at(i)) !== EMPTY; i = idx.next(i)) {
      if (b >= 0 && this.link[b] === link && this.duidEquals(b, duid, from, to)) return b;
    }
    return -1;
  }

  /** Every binding of a client (one per link). */
  bindingsOfClient(duid: Uint8Array): number[] {
    const out: number[] = [];
    const idx = this.clients;
    const h = hashBytes(duid, 0, duid.length);
    for (let i = idx.start(h), b: number; (b = idx.at(i)) !== EMPTY; i = idx.next(i)) {
      if (b >= 0 && this.duidEquals(b, duid, 0, duid.length)) out.push(b);
    }
    return out;
  }

  // ---- remote-id index (innermost hop's remote-id, RFC 4649) ---------------------------

  private remoteAt(b: number): number {
    const s = this.blob[b];
    return variantRemoteIdAt(s, duidEnd(s));
  }

  private remoteHash(b: number): number {
    const s = this.blob[b];
    const at = variantRemoteIdAt(s, duidEnd(s));
    return hashLatin1(s, at + 6, at + 6 + remoteIdLength(s, at), enterpriseAt(s, at));
  }

  /** Bindings whose innermost relay hop carried this remote-id. */
  bindingsOfRemoteId(enterpriseNumber: number, id: Buffer): number[] {
    const out: number[] = [];
    const idx = this.remoteIds;
    const h = hashBytes(id, 0, id.length, enterpriseNumber);
    for (let i = idx.start(h), b: number; (b = idx.at(i)) !== EMPTY; i = idx.next(i)) {
      if (b < 0) continue;
      const s = this.blob[b];
      const at = this.remoteAt(b);
      if (enterpriseAt(s, at) !== enterpriseNumber || remoteIdLength(s, at) !== id.length) continue;
      let same = true;
      for (let k = 0; k < id.length && same; k++) same = s.charCodeAt(at + 6 + k) === id[k];
      if (same) out.push(b);
    }
    return out;
  }

  /** The innermost remote-id of binding b as enterprise(4) + id, latin1; undefined when none. */
  remoteIdKey(b: number): string | undefined {
    const at = this.remoteAt(b);
    if (at < 0) return undefined;
    const s = this.blob[b];
    return s.slice(at, at + 4) + s.slice(at + 6, at + 6 + remoteIdLength(s, at));
  }

  // ---- binding lifecycle ----------------------------------------------------------------

  /** A new binding slot with `blob` (its DUID part identifies the client) on `link`. */
  createBinding(blob: string, link: LinkInfo): number {
    let b = this.freeHead;
    if (b >= 0) this.freeHead = this.firstRes[b];
    else {
      b = this.top++;
      if (b >= this.cap) this.grow(b + 1);
    }
    this.blob[b] = blob;
    this.flags[b] = IN_USE;
    this.firstRes[b] = -1;
    this.template[b] = 0;
    this.link[b] = link.id;
    this.linkList.add(link.members, b);
    this.clients.add(b, this.clientHash(b));
    this.count++;
    return b;
  }

  /** Connector-clock last transaction of b's effective state; NaN when unknown. */
  lastTxOf(b: number): number {
    const o = this.lastTxOverride.get(b);
    return o !== undefined ? o : derivedLastTx(this.receivedAt[b], this.flags[b] & NO_CLT ? -1 : this.cltTime[b]);
  }

  /** The order key of b's effective state. */
  winnerKey(b: number): OrderKey {
    return {
      source: this.source[b],
      lastTx: this.lastTxOf(b),
      receivedAt: this.receivedAt[b],
      baseTime: this.baseTime[b],
      cltTime: this.cltTimeOf(b),
      tie: this.tie[b],
    };
  }

  /** CLT_TIME of b's effective report, seconds; -1 when it had none. */
  cltTimeOf(b: number): number {
    return this.flags[b] & NO_CLT ? -1 : this.cltTime[b];
  }

  /** Phase index (state.ts PHASES) of b's effective state. */
  phaseOf(b: number): number {
    return (this.flags[b] >> PHASE_SHIFT) & 3;
  }

  /** b's effective state as a SourceState (live resource slots only). */
  winnerState(b: number): SourceState {
    const res = this.resources;
    const resources: StateResource[] = [];
    for (let r = this.firstRes[b]; r >= 0; r = res.next[r]) {
      resources.push({ plen: res.plen[r], bytes: res.latin1(r), pref: res.pref[r], valid: res.valid[r] });
    }
    return {
      ...this.winnerKey(b),
      partition: this.partition[b],
      offset: this.offset[b],
      phase: this.phaseOf(b),
      template: this.template[b],
      blob: this.blob[b],
      resources,
    };
  }

  /**
   * Makes `s` b's effective state: columns, relay template and remote-id index,
   * resource slots (kept when the same resource stays, so a renewal does not churn the
   * indexes), claims re-evaluated (b's order moved), expiry rescheduled.
   */
  setWinner(b: number, s: SourceState): void {
    const t0 = this.template[b];
    if (t0 !== s.template) {
      this.templates.ref(s.template);
      if (t0 !== 0) this.leaveTemplate(b, t0);
      if (s.template !== 0) this.templateList.add(this.templates.get(s.template)!.members, b);
      this.template[b] = s.template;
      this.templates.unref(t0);
    }
    if (this.flags[b] & HAS_WINNER && this.remoteAt(b) >= 0) this.remoteIds.remove(b, this.remoteHash(b));
    this.blob[b] = s.blob;
    if (this.remoteAt(b) >= 0) this.remoteIds.add(b, this.remoteHash(b));
    this.source[b] = s.source;
    this.partition[b] = s.partition;
    this.offset[b] = s.offset;
    // lastTransactionAt is derived (receivedAt - cltTime s) in every event the connector
    // writes; only an event that says otherwise costs a column's worth of memory.
    if (Object.is(s.lastTx, derivedLastTx(s.receivedAt, s.cltTime))) this.lastTxOverride.delete(b);
    else this.lastTxOverride.set(b, s.lastTx);
    this.receivedAt[b] = s.receivedAt;
    this.baseTime[b] = s.baseTime;
    this.cltTime[b] = s.cltTime < 0 ? 0 : s.cltTime;
    this.tie[b] = s.tie;
    this.flags[b] = IN_USE | HAS_WINNER | (s.cltTime < 0 ? NO_CLT : 0) | (s.phase << PHASE_SHIFT);
    this.replaceResources(b, s.resources);
    this.touched.add(b);
    this.schedule(b);
  }

  private leaveTemplate(b: number, t: number): void {
    this.templateList.remove(this.templates.get(t)!.members, b);
  }

  private replaceResources(b: number, next: readonly StateResource[]): void {
    const res = this.resources;
    // Keep the slots whose resource stays (lifetimes updated in place), release the rest,
    // allocate the new ones. Sets of more than 32 resources are simply replaced.
    const matchable = next.length <= 32;
    let matched = 0; // bit i: next[i] found among the old slots
    let head = -1;
    let tail = -1;
    for (let r = this.firstRes[b]; r >= 0; ) {
      const after = res.next[r];
      let m = -1;
      if (matchable) {
        for (let i = 0; i < next.length; i++) {
          if (!(matched & (1 << i)) && res.sameAs(r, next[i].plen, next[i].bytes)) {
            m = i;
            break;
          }
        }
      }
      if (m >= 0) {
        matched |= 1 << m;
        res.pref[r] = next[m].pref;
        res.valid[r] = next[m].valid;
        res.next[r] = -1;
        if (tail < 0) head = r;
        else res.next[tail] = r;
        tail = r;
      } else {
        res.release(r);
      }
      r = after;
    }
    for (let i = 0; i < next.length; i++) {
      if (matchable && matched & (1 << i)) continue;
      const x = next[i];
      const r = res.alloc(b, x.plen, x.bytes, x.pref, x.valid);
      if (tail < 0) head = r;
      else res.next[tail] = r;
      tail = r;
    }
    this.firstRes[b] = head;
    for (let r = head; r >= 0; r = res.next[r]) res.claim(r);
  }

  /** Frees binding b and everything it holds. */
  deleteBinding(b: number): void {
    const res = this.resources;
    this.onDelete(b, this.firstRes[b] >= 0);
    for (let r = this.firstRes[b]; r >= 0; ) {
      const after = res.next[r];
      res.release(r);
      r = after;
    }
    this.setOthers(b, []);
    const t = this.template[b];
    if (t !== 0) {
      this.leaveTemplate(b, t);
      this.templates.unref(t);
    }
    if (this.remoteAt(b) >= 0) this.remoteIds.remove(b, this.remoteHash(b));
    this.clients.remove(b, this.clientHash(b));
    const link = this.links.list[this.link[b]];
    this.linkList.remove(link.members, b);
    this.expiry.delete(b);
    this.touched.delete(b);
    this.lastTxOverride.delete(b);
    this.blob[b] = '';
    this.flags[b] = 0;
    this.firstRes[b] = this.freeHead;
    this.freeHead = b;
    this.count--;
  }

  // ---- other sources' states -------------------------------------------------------------

  othersOf(b: number): string[] {
    const o = this.others.get(b);
    return o === undefined ? [] : typeof o === 'string' ? [o] : o.slice();
  }

  /** Replaces b's non-winning states (packed), keeping template reference counts. */
  setOthers(b: number, list: readonly string[]): void {
    const old = this.others.get(b);
    if (old === undefined && list.length === 0) return;
    for (const p of list) this.templates.ref(packedTemplate(p));
    if (old !== undefined) for (const p of typeof old === 'string' ? [old] : old) this.templates.unref(packedTemplate(p));
    if (list.length === 0) this.others.delete(b);
    else this.others.set(b, list.length === 1 ? list[0] : list.slice());
  }

  /** Index in `list` of source `source`'s packed state, or -1. */
  static indexOfSource(list: readonly string[], source: number): number {
    for (let i = 0; i < list.length; i++) if (packedSource(list[i]) === source) return i;
    return -1;
  }

  /** Size of b's effective state packed (state.ts layout). */
  packedWinnerSize(b: number): number {
    let n = 0;
    for (let r = this.firstRes[b]; r >= 0; r = this.resources.next[r]) n++;
    return PACKED_FIXED + this.blob[b].length + n * PACKED_RESOURCE;
  }

  /** Writes b's effective state packed, straight from the columns (snapshots); returns the end. */
  writeWinner(b: number, out: Buffer, off: number): number {
    const res = this.resources;
    const countAt = writePackedHead(out, off, this.winnerKey(b), this.partition[b], this.offset[b], (this.flags[b] >> PHASE_SHIFT) & 3, this.template[b], this.blob[b]);
    let p = countAt + 1;
    let n = 0;
    for (let r = this.firstRes[b]; r >= 0; r = res.next[r], n++, p += PACKED_RESOURCE) {
      out[p] = res.plen[r];
      res.copyTo(r, out, p + 1);
      out.writeDoubleLE(res.pref[r], p + 17);
      out.writeDoubleLE(res.valid[r], p + 25);
    }
    out[countAt] = n;
    return p;
  }

  packWinner(b: number): string {
    return pack(this.winnerState(b));
  }

  // ---- order between bindings (resource claims) --------------------------------------------

  /** Does binding a's claim beat binding b's (order 2, then DUID and link bytes)? */
  newer(a: number, b: number): boolean {
    if (a === b) return false;
    const c = compareAcrossSources(this.winnerKey(a), this.winnerKey(b), this.sources);
    if (c !== 0) return c > 0;
    const da = this.blob[a].slice(0, duidEnd(this.blob[a]));
    const db = this.blob[b].slice(0, duidEnd(this.blob[b]));
    if (da !== db) return da > db;
    return this.links.list[this.link[a]].key > this.links.list[this.link[b]].key;
  }

  // ---- expiry ---------------------------------------------------------------------------

  /**
   * Schedules b at its earliest resource expiry, or - with no resources left - when its
   * tombstone may be forgotten: after the retention, counted from the later of its last
   * report and the end of every other source's state (so that no older state of another
   * source takes over while the release is still remembered).
   */
  schedule(b: number): void {
    const res = this.resources;
    let t = Infinity;
    for (let r = this.firstRes[b]; r >= 0; r = res.next[r]) if (res.valid[r] < t) t = res.valid[r];
    if (this.firstRes[b] < 0) t = this.purgeAt(b);
    this.expiry.set(b, t);
  }

  private purgeAt(b: number): number {
    let base = this.receivedAt[b];
    for (const p of this.othersOf(b)) {
      const s = unpack(p);
      if (s.receivedAt > base) base = s.receivedAt;
      for (const r of s.resources) if (r.valid > base) base = r.valid;
    }
    return base + this.tombstoneRetentionMs;
  }

  /**
   * Retires what is due at `now`: expired resource slots (their bindings are touched, the
   * next claimant of each resource takes over) and tombstones past their retention.
   * Returns the number of resources and bindings retired.
   */
  expireDue(now: number): { resources: number; bindings: number } {
    const res = this.resources;
    let resources = 0;
    let bindings = 0;
    while (this.expiry.peekTime() <= now) {
      const b = this.expiry.pop();
      let prev = -1;
      for (let r = this.firstRes[b]; r >= 0; ) {
        const after = res.next[r];
        if (res.valid[r] <= now) {
          if (prev < 0) this.firstRes[b] = after;
          else res.next[prev] = after;
          res.release(r);
          resources++;
          this.touched.add(b);
        } else {
          prev = r;
        }
        r = after;
      }
      if (this.firstRes[b] < 0 && this.purgeAt(b) <= now) {
        this.deleteBinding(b);
        bindings++;
      } else {
        this.schedule(b);
      }
    }
    return { resources, bindings };
  }

  /** Typed-array bytes held by the binding columns and indexes (memory report). */
  get bytesHeld(): number {
    const cols = [this.link, this.template, this.firstRes, this.source, this.partition, this.receivedAt, this.baseTime, this.cltTime, this.tie, this.seqs, this.flags];
    let n = 0;
    for (const c of cols) n += c.byteLength;
    return n + this.linkList.bytes + this.templateList.bytes + this.clients.bytes + this.remoteIds.bytes + this.expiry.bytes + this.resources.bytesHeld;
  }
}

// The lab DHCPv6 server's authoritative lease database.
//
// Sized for a million bindings: records are small immutable objects holding addresses as
// compact string keys (./keys.ts), every index is a Map keyed by strings, and
// attributes derivable from the client's identity (DUID,
// relay chain, remote-id) come from the Topology instead of being stored. A change
// replaces a record, so a record handed to the change feed or kept in the history ring
// never changes afterwards.
import { addressKey, prefixKey } from './keys.js';
import type { Topology } from './topology.js';

export interface LeaseRecord {
  /** `${clientDuidLatin1}#${link}`: one record per client per link (RFC 5007: "data for a single client on a single link"). */
  readonly key: string;
  readonly client: number;
  readonly link: number;
  /** IA_NA address (addressKey), null when none. */
  readonly addr: string | null;
  /** Delegated prefix (addressKey of its first address), null when none. */
  readonly prefix: string | null;
  readonly prefixLength: number;
  /** Server-clock instants (ms); one transaction sets the lifetimes of all of a binding's resources. */
  readonly preferredUntil: number;
  readonly validUntil: number;
  readonly lastTransactionAt: number;
  readonly changedAt: number;
  readonly seq: number;
}

/** Every record has the same shape (fields in one order): the DB's hot paths stay monomorphic. */
function record(
  key: string,
  client: number,
  link: number,
  addr: string | null,
  prefix: string | null,
  prefixLength: number,
  preferredUntil: number,
  validUntil: number,
  lastTransactionAt: number,
  changedAt: number,
  seq: number,
): LeaseRecord {
  return { key, client, link, addr, prefix, prefixLength, preferredUntil, validUntil, lastTransactionAt, changedAt, seq };
}

export type ChangeKind = 'bind' | 'renew' | 'release' | 'expire' | 'move';

export interface LeaseDbOptions {
  topology: Topology;
  /** Simulated skew of this server's clock against the host's (ms). */
  clockOffsetMs?: number;
  /** Capacity of the change history kept for Active Leasequery catch-up. */
  historySize?: number;
  /** How long a released/expired binding is remembered (for time-filtered queries). */
  tombstoneRetentionMs?: number;
  preferredLifetimeS?: number;
  validLifetimeS?: number;
  /** Host clock (tests); the DB's clock is this plus clockOffsetMs. */
  hostClock?: () => number;
}

type DbListener = (rec: LeaseRecord, kind: ChangeKind) => void;


export class LeaseDb {
  readonly topology: Topology;
  clockOffsetMs: number;
  readonly historySize: number;
  readonly tombstoneRetentionMs: number;
  readonly preferredLifetimeMs: number;
  readonly validLifetimeMs: number;
  /** When this database was created (server clock): nothing before it is in the history. */
  createdAt: number;

  private readonly hostClock: () => number;
  private readonly records = new Map<string, LeaseRecord>();
  private readonly clientByDuid = new Map<string, number>();
  private readonly clientLinks = new Map<number, number | number[]>();
  private readonly addrIndex = new Map<string, LeaseRecord>();
  private readonly prefixIndex = new Map<number, Map<string, LeaseRecord>>();
  /** Delegated prefix lengths in use, longest first: the containment probe order. */
  private prefixLengths: number[] = [];
  private readonly linkMembers: Set<string>[];
  private readonly remoteIndex = new Map<string, number>();
  private readonly listeners = new Set<DbListener>();
  private readonly tombstones: { key: string; seq: number; at: number }[] = [];
  private tombstoneHead = 0;

  // History ring (RFC 7653 section 9.2: "keep track of the binding activity").
  private readonly ring: (LeaseRecord | undefined)[];
  private ringStart = 0;
  private ringCount = 0;
  /** Earliest instant a catch-up can start from (server clock, ms). */
  private horizon: number;

  private seqCounter = 0;
  private lastStamp = 0;
  private activeCount = 0;

  constructor(opts: LeaseDbOptions) {
    this.topology = opts.topology;
    this.clockOffsetMs = opts.clockOffsetMs ?? 0;
    this.historySize = Math.max(1, opts.historySize ?? 100_000);
    this.tombstoneRetentionMs = opts.tombstoneRetentionMs ?? 3_600_000;
    this.preferredLifetimeMs = (opts.preferredLifetimeS ?? 1800) * 1000;
    this.validLifetimeMs = (opts.validLifetimeS ?? 3600) * 1000;
    this.hostClock = opts.hostClock ?? Date.now;
    this.linkMembers = this.topology.links.map(() => new Set<string>());
    this.ring = new Array<LeaseRecord | undefined>(this.historySize);
    this.createdAt = this.now();
    this.horizon = this.createdAt + 1;
  }

  /** The server's clock (ms since the Unix epoch, offset as configured). */
  now(): number {
    return this.hostClock() + this.clockOffsetMs;
  }

  get seq(): number {
    return this.seqCounter;
  }

  /** Bindings holding at least one resource (tombstones excluded). */
  get activeBindings(): number {
    return this.activeCount;
  }

  get totalRecords(): number {
    return this.records.size;
  }

  onChange(listener: DbListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- lookups (addresses by addressKey, DUIDs and ids as latin1) ----------------------

  get(key: string): LeaseRecord | undefined {
    return this.records.get(key);
  }

  keyOf(client: number, link: number): string {
    return `${this.topology.clientDuidKey(client)}#${link}`;
  }

  /** Exact address, then the longest delegated prefix containing it. */
  findByAddress(addr: string): LeaseRecord | undefined {
    const exact = this.addrIndex.get(addr);
    if (exact !== undefined) return exact;
    const lengths = this.prefixLengths;
    for (let i = 0; i < lengths.length; i++) {
      const r = (this.prefixIndex.get(lengths[i]) as Map<string, LeaseRecord>).get(prefixKey(addr, lengths[i]));
      if (r !== undefined) return r;
    }
    return undefined;
  }

  clientOf(duid: string): number | undefined {
    return this.clientByDuid.get(duid);
  }

  linksOf(client: number): readonly number[] {
    const l = this.clientLinks.get(client);
    return l === undefined ? [] : typeof l === 'number' ? [l] : l;
  }

  recordsOfClient(client: number): LeaseRecord[] {
    const links = this.clientLinks.get(client);
    if (links === undefined) return [];
    const duid = this.topology.clientDuidKey(client);
    if (typeof links === 'number') {
      const r = this.records.get(`${duid}#${links}`);
      return r ? [r] : [];
    }
    const out: LeaseRecord[] = [];
    for (const l of links) {
      const r = this.records.get(`${duid}#${l}`);
      if (r) out.push(r);
    }
    return out;
  }

  *recordsOnLink(link: number): IterableIterator<LeaseRecord> {
    const members = this.linkMembers[link];
    if (!members) return;
    for (const k of members) {
      const r = this.records.get(k);
      if (r) yield r;
    }
  }

  clientByRemoteId(enterpriseNumber: number, remoteId: string): number | undefined {
    return this.remoteIndex.get(`${enterpriseNumber}:${remoteId}`);
  }

  *allRecords(): IterableIterator<LeaseRecord> {
    yield* this.records.values();
  }

  // ---- changes --------------------------------------------------------------------------

  /** A new binding for client on link (SOLICIT/REQUEST, or REBIND after a release). */
  bind(client: number, link: number, kind: ChangeKind = 'bind'): LeaseRecord {
    const t = this.stamp();
    const ck = this.topology.kind(client);
    const addr = ck === 'pd' ? null : addressKey(this.topology.address(client, link));
    const prefix = ck === 'na' ? null : addressKey(this.topology.prefix(client));
    const pl = prefix === null ? 0 : this.topology.prefixLength(client);
    return this.put(record(this.keyOf(client, link), client, link, addr, prefix, pl, t + this.preferredLifetimeMs, t + this.validLifetimeMs, t, t, ++this.seqCounter), kind);
  }

  /** RENEW/REBIND: same resources, fresh lifetimes (RFC 8415 section 18.3.4). */
  renew(key: string): LeaseRecord | undefined {
    const r = this.records.get(key);
    if (!r || (r.addr === null && r.prefix === null)) return undefined;
    const t = this.stamp();
    return this.put(record(r.key, r.client, r.link, r.addr, r.prefix, r.prefixLength, t + this.preferredLifetimeMs, t + this.validLifetimeMs, t, t, ++this.seqCounter), 'renew');
  }

  /** RELEASE (client talked to us) or expiry (it did not): the binding loses its resources. */
  drop(key: string, kind: 'release' | 'expire' | 'move'): LeaseRecord | undefined {
    const r = this.records.get(key);
    if (!r || (r.addr === null && r.prefix === null)) return undefined;
    const t = this.stamp();
    return this.put(record(r.key, r.client, r.link, null, null, 0, t, t, kind === 'expire' ? r.lastTransactionAt : t, t, ++this.seqCounter), kind);
  }

  /** The client shows up on another link: its old binding goes, a new one is made there. */
  move(client: number, toLink: number): LeaseRecord | undefined {
    for (const r of this.recordsOfClient(client)) {
      if (r.link !== toLink) this.drop(r.key, 'move');
    }
    return this.bind(client, toLink, 'move');
  }

  /** Forget tombstones older than the retention (called by the workload's timer). */
  pruneTombstones(): number {
    const limit = this.now() - this.tombstoneRetentionMs;
    let pruned = 0;
    while (this.tombstoneHead < this.tombstones.length && this.tombstones[this.tombstoneHead].at < limit) {
      const t = this.tombstones[this.tombstoneHead++];
      const r = this.records.get(t.key);
      if (r && r.seq === t.seq) {
        this.unindex(r);
        this.records.delete(r.key);
        const links = this.clientLinks.get(r.client);
        if (typeof links === 'number') this.clientLinks.delete(r.client);
        else if (links) {
          const rest = links.filter((l) => l !== r.link);
          this.clientLinks.set(r.client, rest.length === 1 ? rest[0] : rest);
        }
        this.linkMembers[r.link]?.delete(r.key);
        pruned++;
      }
    }
    if (this.tombstoneHead > 4096 && this.tombstoneHead * 2 > this.tombstones.length) {
      this.tombstones.splice(0, this.tombstoneHead);
      this.tombstoneHead = 0;
    }
    return pruned;
  }

  // ---- history --------------------------------------------------------------------------

  /** Earliest instant a catch-up can start from (server clock, ms). */
  get historyHorizon(): number {
    return this.horizon;
  }

  /**
   * The changes with changedAt >= since, oldest first, as a snapshot array of references,
   * or undefined when the ring no longer reaches back that far.
   */
  historySince(since: number): LeaseRecord[] | undefined {
    if (since < this.horizon) return undefined;
    // changedAt is non-decreasing along the ring: binary search the first entry >= since.
    let lo = 0;
    let hi = this.ringCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ring[(this.ringStart + mid) % this.historySize] as LeaseRecord;
      if (r.changedAt < since) lo = mid + 1;
      else hi = mid;
    }
    const out: LeaseRecord[] = [];
    for (let i = lo; i < this.ringCount; i++) out.push(this.ring[(this.ringStart + i) % this.historySize] as LeaseRecord);
    return out;
  }

  // ---- persistence support ---------------------------------------------------------------

  /** Everything needed to resume this database exactly (see persist.ts). */
  exportState(): { createdAt: number; horizon: number; seq: number; lastStamp: number; history: LeaseRecord[] } {
    const history: LeaseRecord[] = [];
    for (let i = 0; i < this.ringCount; i++) history.push(this.ring[(this.ringStart + i) % this.historySize] as LeaseRecord);
    return { createdAt: this.createdAt, horizon: this.horizon, seq: this.seqCounter, lastStamp: this.lastStamp, history };
  }

  /** Restore a record as it was (no change event, no history entry). */
  restoreRecord(r: LeaseRecord): void {
    this.install(r);
  }

  restoreMeta(m: { createdAt: number; horizon: number; seq: number; lastStamp: number; history: LeaseRecord[] }): void {
    this.createdAt = m.createdAt;
    this.seqCounter = m.seq;
    this.lastStamp = m.lastStamp;
    this.ringStart = 0;
    this.ringCount = 0;
    this.horizon = m.horizon;
    const keep = m.history.slice(-this.historySize);
    if (keep.length < m.history.length) this.horizon = Math.max(this.horizon, m.history[m.history.length - keep.length - 1].changedAt + 1);
    for (const r of keep) this.ring[this.ringCount++] = r;
  }

  // ---- internals ------------------------------------------------------------------------

  private stamp(): number {
    const t = this.now();
    this.lastStamp = t > this.lastStamp ? t : this.lastStamp;
    return this.lastStamp;
  }

  private put(rec: LeaseRecord, kind: ChangeKind): LeaseRecord {
    this.install(rec);
    this.remember(rec);
    for (const l of this.listeners) l(rec, kind);
    return rec;
  }

  private install(rec: LeaseRecord): void {
    const prev = this.records.get(rec.key);
    this.records.set(rec.key, rec);
    const active = rec.addr !== null || rec.prefix !== null;
    if (prev && active && prev.addr === rec.addr && prev.prefix === rec.prefix && prev.prefixLength === rec.prefixLength) {
      // A renewal: same resources, so the indexes only need to point at the new record.
      if (rec.addr !== null) this.addrIndex.set(rec.addr, rec);
      if (rec.prefix !== null) (this.prefixIndex.get(rec.prefixLength) as Map<string, LeaseRecord>).set(prefixKey(rec.prefix, rec.prefixLength), rec);
      return;
    }
    if (prev) {
      this.unindex(prev);
    } else {
      this.clientByDuid.set(rec.key.slice(0, rec.key.lastIndexOf('#')), rec.client);
      const links = this.clientLinks.get(rec.client);
      if (links === undefined) this.clientLinks.set(rec.client, rec.link);
      else if (typeof links === 'number') {
        if (links !== rec.link) this.clientLinks.set(rec.client, [links, rec.link]);
      } else if (!links.includes(rec.link)) links.push(rec.link);
      this.linkMembers[rec.link].add(rec.key);
      const rid = this.topology.remoteId(rec.client);
      if (rid) this.remoteIndex.set(`${rid.enterpriseNumber}:${rid.remoteId.toString('latin1')}`, rec.client);
    }
    if (rec.addr !== null) this.addrIndex.set(rec.addr, rec);
    if (rec.prefix !== null) {
      let m = this.prefixIndex.get(rec.prefixLength);
      if (!m) {
        this.prefixIndex.set(rec.prefixLength, (m = new Map()));
        this.prefixLengths = [...this.prefixIndex.keys()].sort((a, b) => b - a);
      }
      m.set(prefixKey(rec.prefix, rec.prefixLength), rec);
    }
    if (active) this.activeCount++;
    else this.tombstones.push({ key: rec.key, seq: rec.seq, at: rec.changedAt });
  }

  private unindex(prev: LeaseRecord): void {
    if (prev.addr !== null && this.addrIndex.get(prev.addr)?.key === prev.key) this.addrIndex.delete(prev.addr);
    if (prev.prefix !== null) {
      const m = this.prefixIndex.get(prev.prefixLength);
      const pk = prefixKey(prev.prefix, prev.prefixLength);
      if (m && m.get(pk)?.key === prev.key) m.delete(pk);
    }
    if (prev.addr !== null || prev.prefix !== null) this.activeCount--;
  }

  private remember(rec: LeaseRecord): void {
    if (this.ringCount < this.historySize) {
      this.ring[(this.ringStart + this.ringCount++) % this.historySize] = rec;
      return;
    }
    const evicted = this.ring[this.ringStart] as LeaseRecord;
    this.horizon = Math.max(this.horizon, evicted.changedAt + 1);
    this.ring[this.ringStart] = rec;
    this.ringStart = (this.ringStart + 1) % this.historySize;
  }
}

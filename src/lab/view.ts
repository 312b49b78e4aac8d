// The lab lease database seen through the engine's LeaseView interface.
//
// Records are materialized into Bindings on demand (Buffers built from the address
// keys, relay chains from the topology), lazily for the parts a reply may not need:
// a UDP query that does not ask for OPTION_LQ_RELAY_DATA never builds a relay chain.
import type { Dhcp6Option } from '../protocol/index.js';
import type {
  Binding,
  BindingChange,
  BoundAddress,
  BoundPrefix,
  ChangeListener,
  HistoryResult,
  LeaseView,
  RelayInfo,
  RemoteIdKey,
} from '../leasequery/view.js';
import type { LeaseDb, LeaseRecord } from './db.js';
import { addressKey, keyToAddress } from './keys.js';

const NONE: readonly never[] = [];

class LabBinding implements Binding {
  private relayCache?: RelayInfo;
  private clientDuidCache?: Buffer;
  private addressesCache?: readonly BoundAddress[];
  private prefixesCache?: readonly BoundPrefix[];

  constructor(
    private readonly db: LeaseDb,
    private readonly rec: LeaseRecord,
  ) {}

  get key(): string {
    return this.rec.key;
  }
  get clientDuid(): Buffer {
    return (this.clientDuidCache ??= this.db.topology.clientDuid(this.rec.client));
  }
  get linkAddress(): Buffer {
    return this.db.topology.links[this.rec.link].linkAddress;
  }
  get addresses(): readonly BoundAddress[] {
    if (this.addressesCache) return this.addressesCache;
    const r = this.rec;
    return (this.addressesCache = r.addr === null ? NONE : [{ address: keyToAddress(r.addr), preferredUntil: r.preferredUntil, validUntil: r.validUntil }]);
  }
  get prefixes(): readonly BoundPrefix[] {
    if (this.prefixesCache) return this.prefixesCache;
    const r = this.rec;
    return (this.prefixesCache =
      r.prefix === null ? NONE : [{ prefix: keyToAddress(r.prefix), length: r.prefixLength, preferredUntil: r.preferredUntil, validUntil: r.validUntil }]);
  }
  get lastTransactionAt(): number {
    return this.rec.lastTransactionAt;
  }
  get relay(): RelayInfo {
    return (this.relayCache ??= this.db.topology.relayChain(this.rec.client, this.rec.link));
  }
  get extraOptions(): readonly Dhcp6Option[] {
    return this.db.topology.extraOptions();
  }
  get changedAt(): number {
    return this.rec.changedAt;
  }
  get seq(): number {
    return this.rec.seq;
  }
}

export class LabLeaseView implements LeaseView {
  private readonly listeners = new Set<ChangeListener>();
  private unhook?: () => void;

  constructor(
    private readonly db: LeaseDb,
    readonly serverDuid: Buffer,
  ) {}

  now(): number {
    return this.db.now();
  }

  binding(rec: LeaseRecord): Binding {
    return new LabBinding(this.db, rec);
  }

  byAddress(address: Buffer, link?: Buffer): Binding | undefined {
    const rec = this.db.findByAddress(addressKey(address));
    if (!rec) return undefined;
    if (link && (this.linkIndex(link) ?? -1) !== rec.link) return undefined;
    return new LabBinding(this.db, rec);
  }

  byClientId(duid: Buffer, link?: Buffer): readonly Binding[] {
    const client = this.db.clientOf(duid.toString('latin1'));
    if (client === undefined) return [];
    const want = link ? (this.linkIndex(link) ?? -1) : undefined;
    const out: Binding[] = [];
    for (const rec of this.db.recordsOfClient(client)) {
      if (want === undefined || rec.link === want) out.push(new LabBinding(this.db, rec));
    }
    return out;
  }

  *byRelayId(relayId: Buffer, link?: Buffer): Iterable<Binding> {
    const links = this.db.topology.linksByRelayId.get(relayId.toString('latin1'));
    if (!links) return;
    const want = link ? (this.linkIndex(link) ?? -1) : undefined;
    for (const l of links) {
      if (want !== undefined && l !== want) continue;
      for (const rec of this.db.recordsOnLink(l)) yield new LabBinding(this.db, rec);
    }
  }

  *byLinkAddress(link: Buffer): Iterable<Binding> {
    const l = this.linkIndex(link);
    if (l === undefined) return;
    for (const rec of this.db.recordsOnLink(l)) yield new LabBinding(this.db, rec);
  }

  *byRemoteId(remoteId: RemoteIdKey, link?: Buffer): Iterable<Binding> {
    const client = this.db.clientByRemoteId(remoteId.enterpriseNumber, remoteId.remoteId.toString('latin1'));
    if (client === undefined) return;
    const want = link ? (this.linkIndex(link) ?? -1) : undefined;
    for (const rec of this.db.recordsOfClient(client)) {
      if (want === undefined || rec.link === want) yield new LabBinding(this.db, rec);
    }
  }

  resolveLink(address: Buffer): Buffer | undefined {
    const l = this.db.topology.resolveLink(address);
    return l === undefined ? undefined : this.db.topology.links[l].linkAddress;
  }

  isConfiguredAddress(address: Buffer): boolean {
    return this.db.topology.isConfiguredAddress(address);
  }

  subscribe(listener: ChangeListener): () => void {
    // One Binding per change, shared by every subscriber (its lazily built parts too).
    if (this.listeners.size === 0) {
      this.unhook = this.db.onChange((rec) => {
        const b = new LabBinding(this.db, rec);
        for (const l of this.listeners) l(b);
      });
    }
    this.listeners.add(listener);
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) {
        this.unhook?.();
        this.unhook = undefined;
      }
    };
  }

  historySince(since: number): HistoryResult {
    const recs = this.db.historySince(since);
    if (!recs) return { available: false, horizon: this.db.historyHorizon };
    const db = this.db;
    // Catch-up sends the current state of what changed (RFC 7653 "Information Communicated
    // by Active Leasequery"): of several changes to one binding, only the last is needed.
    const latest = new Map<string, LeaseRecord>();
    for (const r of recs) latest.set(r.key, r);
    async function* changes(): AsyncIterable<BindingChange> {
      for (const r of recs as LeaseRecord[]) if (latest.get(r.key) === r) yield new LabBinding(db, r);
    }
    return { available: true, changes: changes() };
  }

  private linkIndex(link: Buffer): number | undefined {
    return this.db.topology.resolveLink(link);
  }
}

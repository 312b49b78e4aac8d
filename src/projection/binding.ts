// A binding as the leasequery engine reads it (LeaseView's Binding), made from the
// tables only when a lookup or the change feed hands it out. Immutable: everything that
// can change is copied at creation; the parts built lazily (DUID, key, relay chain) come
// from values that never change (the blob string, the link, the relay template).
import type { Binding, BindingProvenance, BoundAddress, BoundPrefix, RelayInfo } from '../leasequery/view.js';
import type { LinkInfo } from './links.js';
import { relayInfo, type RelayTemplate } from './relay.js';
import { ADDRESS, duidEnd, PHASES } from './state.js';
import type { LeaseTables } from './tables.js';

export class ProjectedBinding implements Binding {
  private duidCache?: Buffer;
  private relayCache?: RelayInfo;

  constructor(
    private readonly blob: string,
    private readonly link: LinkInfo,
    private readonly template: RelayTemplate | undefined,
    readonly addresses: readonly BoundAddress[],
    readonly prefixes: readonly BoundPrefix[],
    readonly lastTransactionAt: number,
    readonly changedAt: number,
    readonly seq: number,
    private readonly origin: Omit<BindingProvenance, 'phase'> & { readonly phaseIndex: number },
  ) {}

  get provenance(): BindingProvenance {
    const o = this.origin;
    return { source: o.source, partition: o.partition, offset: o.offset, receivedAt: o.receivedAt, baseTime: o.baseTime, cltTime: o.cltTime, phase: PHASES[o.phaseIndex] ?? 'live' };
  }

  /** `<client DUID hex>@<link-address>`: stable across restarts and snapshots. */
  get key(): string {
    return `${this.clientDuid.toString('hex')}@${this.link.text}`;
  }

  get clientDuid(): Buffer {
    return (this.duidCache ??= Buffer.from(this.blob.slice(1, duidEnd(this.blob)), 'latin1'));
  }

  get linkAddress(): Buffer {
    return this.link.address;
  }

  get relay(): RelayInfo | undefined {
    if (!this.template) return undefined;
    return (this.relayCache ??= relayInfo(this.template, this.blob, duidEnd(this.blob)));
  }
}

/**
 * Binding b as of `now`: the resources it owns that are still valid (expired ones and
 * ones a newer binding took are left out); `released` gives the same binding with none
 * (its final state, reported when it is deleted).
 */
export function materialize(t: LeaseTables, b: number, now: number, released: boolean, seq: number): Binding {
  const res = t.resources;
  const addresses: BoundAddress[] = [];
  const prefixes: BoundPrefix[] = [];
  if (!released) {
    for (let r = t.firstRes[b]; r >= 0; r = res.next[r]) {
      if (!res.owned[r] || res.valid[r] <= now) continue;
      if (res.plen[r] === ADDRESS) addresses.push({ address: res.buffer(r), preferredUntil: res.pref[r], validUntil: res.valid[r] });
      else prefixes.push({ prefix: res.buffer(r), length: res.plen[r], preferredUntil: res.pref[r], validUntil: res.valid[r] });
    }
  }
  const lastTx = t.lastTxOf(b);
  return new ProjectedBinding(
    t.blob[b],
    t.links.list[t.link[b]],
    t.templates.get(t.template[b]),
    addresses,
    prefixes,
    Number.isNaN(lastTx) ? t.receivedAt[b] : lastTx, // no CLT_TIME: the report is the latest sign of life
    t.receivedAt[b],
    seq,
    provenanceOf(t, b),
  );
}

/** The effective state's report, copied out of the columns (the binding stays immutable). */
function provenanceOf(t: LeaseTables, b: number): ConstructorParameters<typeof ProjectedBinding>[8] {
  // Straight from the columns: this runs for every binding a lookup hands out.
  const clt = t.cltTimeOf(b);
  return {
    source: t.sources.name(t.source[b]),
    partition: t.partition[b] < 0 ? null : t.partition[b],
    offset: t.offset[b] < 0 ? null : t.offset[b],
    receivedAt: t.receivedAt[b],
    baseTime: t.baseTime[b],
    cltTime: clt < 0 ? null : clt,
    phaseIndex: t.phaseOf(b),
  };
}

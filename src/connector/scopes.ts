// The scope of a full resync: RFC 5460 has no "every binding" query, so a full Bulk
// Leasequery is one QUERY_BY_LINK_ADDRESS per link and one QUERY_BY_RELAY_ID per relay
// (RFC 5460 sections 5.3.1 and 5.3.2). Scopes come from the configuration, and links
// (or, for bindings without a link-address, relay-ids) seen in Active Leasequery data
// are added so that the next resync covers them. A binding already covered by a
// configured or learned link or relay-id teaches nothing: every query is needed, none
// repeats another.
import type { BindingEvent, BulkScope } from '../events/index.js';
import { parseIPv6 } from '../protocol/index.js';
import type { QuerySpec } from '../leasequery/index.js';
import type { ScopesConfig } from '../config/index.js';

export interface LearnedScopes {
  linkAddresses: string[];
  relayIds: string[];
}

const UNSPECIFIED = '::';

export class ScopeSet {
  private readonly links = new Set<string>();
  private readonly relayIds = new Set<string>();
  private readonly learnedLinks = new Set<string>();
  private readonly learnedRelayIds = new Set<string>();
  private readonly learnEnabled: boolean;
  /** Bumped on every change (the publisher writes learned scopes when it moved). */
  version = 0;

  constructor(configured: ScopesConfig, learned?: LearnedScopes) {
    this.learnEnabled = configured.learn;
    for (const l of configured.links) this.links.add(l);
    for (const r of configured.relayIds) this.relayIds.add(r);
    for (const l of learned?.linkAddresses ?? []) this.addLearned(this.links, this.learnedLinks, l);
    for (const r of learned?.relayIds ?? []) this.addLearned(this.relayIds, this.learnedRelayIds, r);
  }

  get size(): number {
    return this.links.size + this.relayIds.size;
  }

  /** Learn from a binding reported by Active Leasequery. Returns true when the scope grew. */
  learnFrom(b: BindingEvent): boolean {
    if (!this.learnEnabled || this.covers(b)) return false;
    if (b.linkAddress !== UNSPECIFIED) return this.addLearned(this.links, this.learnedLinks, b.linkAddress);
    const rid = b.relay?.relayId;
    return rid !== undefined ? this.addLearned(this.relayIds, this.learnedRelayIds, rid) : false;
  }

  /** Does a full resync already ask for this binding? */
  covers(b: BindingEvent): boolean {
    if (this.links.has(b.linkAddress)) return true;
    const hops = b.relay?.hops;
    if (hops) for (const h of hops) if (h.relayId !== undefined && this.relayIds.has(h.relayId)) return true;
    return false;
  }

  /** The scope as written into bulk markers (sorted: stable output). */
  scope(): BulkScope {
    return { linkAddresses: [...this.links].sort(), relayIds: [...this.relayIds].sort() };
  }

  /** The Bulk Leasequeries of a full resync, links first. */
  queries(): QuerySpec[] {
    const out: QuerySpec[] = [];
    for (const l of [...this.links].sort()) out.push({ type: 'link', link: parseIPv6(l) });
    for (const r of [...this.relayIds].sort()) out.push({ type: 'relay-id', relayId: Buffer.from(r, 'hex') });
    return out;
  }

  /** What was learned (persisted in the source's checkpoint). */
  learned(): LearnedScopes {
    return { linkAddresses: [...this.learnedLinks].sort(), relayIds: [...this.learnedRelayIds].sort() };
  }

  private addLearned(all: Set<string>, learned: Set<string>, v: string): boolean {
    if (all.has(v)) return false;
    all.add(v);
    learned.add(v);
    this.version++;
    return true;
  }
}

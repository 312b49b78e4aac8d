// A canonical dump of the tables: every binding with every source's state, sorted, with
// order-dependent ids (relay templates) replaced by content. Two projections with equal
// dumps answer every query alike. For tests and debugging, not for hot paths.
import type { Binding } from '../leasequery/view.js';
import { unpack, type SourceState } from './state.js';
import type { LeaseTables } from './tables.js';

export interface StateDump {
  source: string;
  partition: number;
  lastTx: number | null;
  receivedAt: number;
  baseTime: number;
  cltTime: number;
  phase: number;
  tie: number;
  relay: string | null;
  blob: string;
  resources: string[];
}

export interface BindingDump {
  key: string;
  winner: StateDump;
  others: StateDump[];
  /** The answer a lookup gives now: owned, live resources. */
  addresses: string[];
  prefixes: string[];
}

function dumpState(t: LeaseTables, s: SourceState): StateDump {
  return {
    source: t.sources.name(s.source),
    partition: s.partition,
    lastTx: Number.isNaN(s.lastTx) ? null : s.lastTx,
    receivedAt: s.receivedAt,
    baseTime: s.baseTime,
    cltTime: s.cltTime,
    phase: s.phase,
    tie: s.tie,
    relay: s.template === 0 ? null : JSON.stringify(t.templates.get(s.template)?.spec ?? '?'),
    blob: Buffer.from(s.blob, 'latin1').toString('hex'),
    resources: s.resources.map((r) => `${r.plen}:${Buffer.from(r.bytes, 'latin1').toString('hex')}:${r.pref}:${r.valid}`).sort(),
  };
}

export function dumpTables(t: LeaseTables, view: (b: number) => Binding): BindingDump[] {
  const out: BindingDump[] = [];
  for (let b = 0; b < t.slots; b++) {
    if (!t.inUse(b)) continue;
    const v = view(b);
    const states = [t.winnerState(b), ...t.othersOf(b).map(unpack)].map((s) => dumpState(t, s));
    out.push({
      key: v.key,
      winner: states[0],
      others: states.slice(1).sort((x, y) => (x.source < y.source ? -1 : 1)),
      addresses: v.addresses.map((a) => `${a.address.toString('hex')} ${a.preferredUntil} ${a.validUntil}`).sort(),
      prefixes: v.prefixes.map((p) => `${p.prefix.toString('hex')}/${p.length} ${p.preferredUntil} ${p.validUntil}`).sort(),
    });
  }
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

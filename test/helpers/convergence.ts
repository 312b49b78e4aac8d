// Convergence checks for tests that run the connector (and later the replica and the
// fault suites): read lq.events with read_committed, fold the `binding` events into the
// state they imply, and compare it with the lab servers' ground truth (dumpBindings).
//
// The fold, per (source, client, link), keeps the LAST report in the log. One source's
// reports of one client are in one partition in the order the connector received them,
// which is the server's order: on one connection a server never sends an older state of
// a binding after a newer one (catch-up skips history older than what it sent, and a
// catch-up after a reconnect replays a binding's changes oldest first), the initial bulk
// precedes the Active Leasequery on the same connection, and the one concurrent stream,
// a recovery bulk beside the live one, is kept from putting an older state after a newer
// one by the connector (session.ts, liveDuringRecovery). Neither base-times nor
// CLT_TIME can order two reports of one second: an expiry keeps the transaction time,
// and the whole-second rounding of baseTime - cltTime differs between reports.
// Across sources (failover pairs) the most recent client transaction in the connector
// clock wins (RFC 5007 section 4.3.4, DESIGN.md "The time model"); two sources whose
// transactions are within the clocks' resolution (1 s on the wire) are ambiguous and
// reported apart rather than guessed.
//
// Also here: the integrity-chain check (every committed event of a source exactly
// once, hashes linked) that proves "no lost and no duplicated commit".
import { decodeEvent, verifyLink, type BindingEvent, type LqEvent, type SourceEvent } from '../../src/events/index.js';
import { TopicReader, readToEnd, type KafkaSettings } from '../../src/kafka/index.js';
import { dhcpTimeToUnixMs, formatIPv6, parseIPv6 } from '../../src/protocol/index.js';
import type { BindingsDump, DumpedBinding } from '../../src/lab/index.js';
import type { Projection } from '../../src/projection/index.js';

/** An event with where it was read. */
export interface Positioned<E extends LqEvent = LqEvent> {
  event: E;
  partition: number;
  offset: bigint;
}

const INFINITY = 0xffffffff;

/** Everything committed on `topic` now (read_committed, to the end offsets at call time). */
export async function readCommittedEvents(settings: KafkaSettings, topic: string): Promise<Positioned[]> {
  const out: Positioned[] = [];
  await readToEnd(settings, { topic, isolation: 'read_committed', timeoutMs: 60_000 }, (batch) => {
    for (const m of batch.messages) if (m.value) out.push({ event: decodeEvent(m.value), partition: batch.partition, offset: m.offset });
  });
  return out;
}

/** A reader that keeps collecting committed events of a topic in the background. */
export class EventCollector {
  readonly events: Positioned[] = [];
  private constructor(private readonly reader: TopicReader) {}

  static async start(settings: KafkaSettings, topic: string): Promise<EventCollector> {
    const reader = await TopicReader.open(settings, { topic, from: 'earliest', isolation: 'read_committed', maxWaitTimeMs: 100 });
    const c = new EventCollector(reader);
    await reader.run((batch) => {
      for (const m of batch.messages) if (m.value) c.events.push({ event: decodeEvent(m.value), partition: batch.partition, offset: m.offset });
    });
    return c;
  }

  bindings(source?: string): Positioned<BindingEvent>[] {
    return this.events.filter((p): p is Positioned<BindingEvent> => p.event.type === 'binding' && (source === undefined || p.event.source.name === source));
  }

  /** Source events in chain order (bulk markers once, though written to every partition). */
  sourceEvents(source?: string): SourceEvent[] {
    const bySeq = new Map<string, SourceEvent>();
    for (const { event: e } of this.events) {
      if (e.type !== 'source' || (source !== undefined && e.source.name !== source)) continue;
      bySeq.set(`${e.source.name}#${e.chain?.seq ?? Math.random()}`, e);
    }
    return [...bySeq.values()].sort((a, b) => (a.chain?.seq ?? 0) - (b.chain?.seq ?? 0));
  }

  /** Binding events of one source whose chain seq lies strictly between two events' (a resync's markers). */
  between(source: string, from: SourceEvent | undefined, to: SourceEvent | undefined): Positioned<BindingEvent>[] {
    const lo = from?.chain?.seq ?? 0;
    const hi = to?.chain?.seq ?? Infinity;
    return this.bindings(source).filter((p) => (p.event.chain?.seq ?? 0) > lo && (p.event.chain?.seq ?? 0) < hi);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

// ---- folding -------------------------------------------------------------------------

/** > 0 when `a` comes later in the log (the newer report of the same source; see above). */
export function compareSameSource(a: Positioned<BindingEvent>, b: Positioned<BindingEvent>): number {
  return a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0);
}

export const bindingKey = (clientId: string, linkAddress: string) => `${clientId}|${linkAddress}`;

/** Is a binding inside a resync's scope (its link, or a relay-id of its relay chain)? */
function inScope(e: BindingEvent, scope: { linkAddresses: string[]; relayIds: string[] }): boolean {
  if (scope.linkAddresses.includes(e.linkAddress)) return true;
  return (e.relay?.hops ?? []).some((h) => h.relayId !== undefined && scope.relayIds.includes(h.relayId));
}

/**
 * The newest report per (client, link) of each source: Map source -> Map key -> event.
 *
 * Full resyncs retire what they did not report (DESIGN.md "Events": bulk-complete
 * markers let the projection retire that source's bindings in that scope that the
 * resync did not report): per partition, a `bulk-complete` without a start time removes
 * the source's bindings in the marker's scope that were not reported since the
 * matching `bulk-started` in that partition. A time-bounded (recovery) resync retires
 * nothing. Partitions are folded each in offset order.
 */
export function foldPerSource(events: Iterable<Positioned>): Map<string, Map<string, Positioned<BindingEvent>>> {
  const out = new Map<string, Map<string, Positioned<BindingEvent>>>();
  const sorted = [...events].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  // Per (partition, source): keys reported since each open full resync began.
  const open = new Map<string, { resyncId: string; reported: Set<string> }>();
  for (const p of sorted) {
    const e = p.event;
    let m = out.get(e.source.name);
    if (!m) out.set(e.source.name, (m = new Map()));
    const slot = `${p.partition}\u0000${e.source.name}`;
    if (e.type === 'source') {
      if (e.kind === 'bulk-started' && e.scope && e.scope.startTime === undefined && e.resyncId) open.set(slot, { resyncId: e.resyncId, reported: new Set() });
      if (e.kind === 'bulk-complete' && e.scope && e.scope.startTime === undefined) {
        const r = open.get(slot);
        if (r && r.resyncId === e.resyncId) {
          for (const [k, b] of m) if (b.partition === p.partition && !r.reported.has(k) && inScope(b.event, e.scope)) m.delete(k);
        }
        open.delete(slot);
      }
      continue;
    }
    const k = bindingKey(e.clientId, e.linkAddress);
    if (e.phase === 'bulk') open.get(slot)?.reported.add(k);
    const cur = m.get(k);
    if (!cur || compareSameSource(p as Positioned<BindingEvent>, cur) > 0) m.set(k, p as Positioned<BindingEvent>);
  }
  return out;
}

// ---- comparing with the ground truth --------------------------------------------------

/** Valid-until of a reported lifetime, in the SERVER's clock (ms); Infinity for infinite. */
function serverUntil(e: BindingEvent, lifetime: number): number {
  return lifetime === INFINITY ? Infinity : dhcpTimeToUnixMs(e.baseTime) + lifetime * 1000;
}

/** Does the report still hold a resource at the server's instant `now`? */
export function holdsResourceAt(e: BindingEvent, now: number): boolean {
  return e.addresses.some((a) => serverUntil(e, a.validLifetime) > now) || e.prefixes.some((p) => serverUntil(e, p.validLifetime) > now);
}

/** Differences between one report and the server's record, as sentences (empty = equal). */
export function differences(e: BindingEvent, t: DumpedBinding): string[] {
  const out: string[] = [];
  const addrs = (xs: { address: string }[]) => xs.map((x) => x.address).sort().join(',');
  const pfxs = (xs: { prefix: string; prefixLength: number }[]) => xs.map((x) => `${x.prefix}/${x.prefixLength}`).sort().join(',');
  if (addrs(e.addresses) !== addrs(t.addresses)) out.push(`addresses ${addrs(e.addresses)} != ${addrs(t.addresses)}`);
  if (pfxs(e.prefixes) !== pfxs(t.prefixes)) out.push(`prefixes ${pfxs(e.prefixes)} != ${pfxs(t.prefixes)}`);
  // Lifetimes and CLT_TIME travel as whole seconds from a whole-second base-time:
  // each of the two floors loses up to 1 s.
  const near = (a: number, b: number) => Math.abs(a - b) <= 2000;
  for (const a of e.addresses) {
    const ta = t.addresses.find((x) => x.address === a.address);
    if (ta && !near(serverUntil(e, a.validLifetime), ta.validUntil)) out.push(`address ${a.address} valid until ${serverUntil(e, a.validLifetime)} != ${ta.validUntil}`);
  }
  for (const p of e.prefixes) {
    const tp = t.prefixes.find((x) => x.prefix === p.prefix);
    if (tp && !near(serverUntil(e, p.validLifetime), tp.validUntil)) out.push(`prefix ${p.prefix} valid until ${serverUntil(e, p.validLifetime)} != ${tp.validUntil}`);
  }
  if (e.cltTime !== null && !near((e.baseTime - e.cltTime) * 1000 + dhcpTimeToUnixMs(0), t.lastTransactionAt)) {
    out.push(`last transaction ${(e.baseTime - e.cltTime) * 1000 + dhcpTimeToUnixMs(0)} != ${t.lastTransactionAt}`);
  }
  const r = e.relay;
  if ((r?.relayId ?? undefined) !== t.relayId) out.push(`relay-id ${r?.relayId} != ${t.relayId}`);
  if ((r?.interfaceId ?? undefined) !== t.interfaceId) out.push(`interface-id ${r?.interfaceId} != ${t.interfaceId}`);
  if ((r?.subscriberId ?? undefined) !== t.subscriberId) out.push(`subscriber-id ${r?.subscriberId} != ${t.subscriberId}`);
  if (JSON.stringify(r?.remoteId ?? null) !== JSON.stringify(t.remoteId ?? null)) out.push(`remote-id ${JSON.stringify(r?.remoteId)} != ${JSON.stringify(t.remoteId)}`);
  return out;
}

export interface Comparison {
  equal: boolean;
  expected: number;
  actual: number;
  /** In the server, not (or released) in the events. */
  missing: string[];
  /** Holding a resource in the events, not in the server. */
  extra: string[];
  different: string[];
}

/** Compare one source's fold with one server's dump (exactly, up to the 1 s wire resolution). */
export function compareWithDump(fold: Map<string, Positioned<BindingEvent>> | undefined, dump: BindingsDump): Comparison {
  const truth = new Map(dump.bindings.map((b) => [bindingKey(b.clientId, b.linkAddress), b]));
  const missing: string[] = [];
  const extra: string[] = [];
  const different: string[] = [];
  let actual = 0;
  for (const [k, p] of fold ?? []) {
    if (!holdsResourceAt(p.event, dump.now)) continue;
    actual++;
    const t = truth.get(k);
    if (!t) {
      extra.push(k);
      continue;
    }
    const d = differences(p.event, t);
    if (d.length > 0) different.push(`${k}: ${d.join('; ')} (phase ${p.event.phase}, baseTime ${p.event.baseTime}, offset ${p.partition}/${p.offset})`);
  }
  for (const [k] of truth) {
    const p = fold?.get(k);
    if (!p || !holdsResourceAt(p.event, dump.now)) missing.push(k);
  }
  return { equal: missing.length === 0 && extra.length === 0 && different.length === 0, expected: truth.size, actual, missing, extra, different };
}

/** A readable summary of a failed comparison (the first few of each kind). */
export function describeComparison(c: Comparison, label = ''): string {
  const few = (xs: string[]) => xs.slice(0, 5).join('\n    ') + (xs.length > 5 ? `\n    ... ${xs.length - 5} more` : '');
  return [
    `${label}expected ${c.expected} bindings, events hold ${c.actual}`,
    c.missing.length ? `  missing (${c.missing.length}):\n    ${few(c.missing)}` : '',
    c.extra.length ? `  extra (${c.extra.length}):\n    ${few(c.extra)}` : '',
    c.different.length ? `  different (${c.different.length}):\n    ${few(c.different)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Across sources (a failover pair): per (client, link), the report with the most
 * recent client transaction in the connector clock, against the server record with
 * the most recent transaction in the host clock. Keys whose two newest candidates are
 * within `toleranceMs` are counted as ambiguous and not compared.
 */
export function compareMerged(
  folds: Map<string, Map<string, Positioned<BindingEvent>>>,
  dumps: { source: string; dump: BindingsDump }[],
  toleranceMs = 2_000,
): Comparison & { ambiguous: number } {
  const truthBy = new Map<string, { t: DumpedBinding; at: number; source: string }[]>();
  for (const { source, dump } of dumps) {
    for (const b of dump.bindings) {
      const k = bindingKey(b.clientId, b.linkAddress);
      const list = truthBy.get(k) ?? [];
      list.push({ t: b, at: b.lastTransactionAt - dump.clockOffsetMs, source });
      truthBy.set(k, list);
    }
  }
  const byKey = new Map<string, { p: Positioned<BindingEvent>; at: number; source: string }[]>();
  for (const [source, m] of folds) {
    const dump = dumps.find((d) => d.source === source)?.dump;
    if (!dump) continue;
    for (const [k, p] of m) {
      if (!holdsResourceAt(p.event, dump.now)) continue;
      const list = byKey.get(k) ?? [];
      list.push({ p, at: p.event.lastTransactionAt ?? -Infinity, source });
      byKey.set(k, list);
    }
  }
  const newest = <T extends { at: number }>(xs: T[]) => [...xs].sort((a, b) => b.at - a.at);
  const missing: string[] = [];
  const extra: string[] = [];
  const different: string[] = [];
  let ambiguous = 0;
  for (const k of new Set([...truthBy.keys(), ...byKey.keys()])) {
    const t = newest(truthBy.get(k) ?? []);
    const a = newest(byKey.get(k) ?? []);
    if ((t.length > 1 && t[0].at - t[1].at <= toleranceMs) || (a.length > 1 && a[0].at - a[1].at <= toleranceMs)) {
      ambiguous++;
      continue;
    }
    if (t.length === 0) extra.push(k);
    else if (a.length === 0) missing.push(k);
    else if (t[0].source !== a[0].source) different.push(`${k}: newest from ${a[0].source} in the events, from ${t[0].source} in the servers`);
    else {
      const d = differences(a[0].p.event, t[0].t);
      if (d.length > 0) different.push(`${k}: ${d.join('; ')}`);
    }
  }
  return { equal: missing.length + extra.length + different.length === 0, expected: truthBy.size, actual: byKey.size, missing, extra, different, ambiguous };
}

// ---- integrity chain ---------------------------------------------------------------------

export interface ChainReport {
  source: string;
  /** Distinct chained events (bulk markers count once, though written to every partition). */
  events: number;
  lastSeq: number;
  lastHash: string;
  problems: string[];
}

/**
 * Per source: every chain seq from 1 to the last exactly once (copies of one bulk marker
 * on several partitions are one event: same seq, same hash), each link's hash right and
 * its prev the previous event's hash. Holds iff no committed event was lost or written
 * twice by the connector.
 */
export function verifyChains(events: Iterable<Positioned>): Map<string, ChainReport> {
  const bySource = new Map<string, Map<number, LqEvent>>();
  const problems = new Map<string, string[]>();
  for (const { event: e, partition, offset } of events) {
    const name = e.source.name;
    let m = bySource.get(name);
    if (!m) bySource.set(name, (m = new Map()));
    const pr = problems.get(name) ?? [];
    problems.set(name, pr);
    if (!e.chain) {
      pr.push(`event at ${partition}/${offset} has no chain link`);
      continue;
    }
    const prev = m.get(e.chain.seq);
    if (prev) {
      const isMarkerCopy = prev.chain?.hash === e.chain.hash && e.type === 'source' && (e.kind === 'bulk-started' || e.kind === 'bulk-complete');
      if (!isMarkerCopy) pr.push(`seq ${e.chain.seq} appears twice (${partition}/${offset})`);
      continue;
    }
    if (!verifyLink(e)) pr.push(`seq ${e.chain.seq} at ${partition}/${offset}: hash does not match its body`);
    m.set(e.chain.seq, e);
  }
  const out = new Map<string, ChainReport>();
  for (const [source, m] of bySource) {
    const pr = problems.get(source) ?? [];
    const seqs = [...m.keys()].sort((a, b) => a - b);
    let prevHash = '0'.repeat(64);
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i] !== i + 1) {
        pr.push(`seq ${i + 1} missing (next present: ${seqs[i]})`);
        break;
      }
      const e = m.get(seqs[i]) as LqEvent;
      if (e.chain?.prev !== prevHash) pr.push(`seq ${seqs[i]}: prev ${e.chain?.prev.slice(0, 12)} is not the hash of seq ${seqs[i] - 1}`);
      prevHash = e.chain?.hash ?? '';
    }
    out.set(source, { source, events: m.size, lastSeq: seqs[seqs.length - 1] ?? 0, lastHash: prevHash, problems: pr });
  }
  return out;
}

/** The latest committed checkpoint per source on lq.sources (raw JSON). */
export async function readCheckpoints(settings: KafkaSettings, topic: string): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  await readToEnd(settings, { topic, isolation: 'read_committed', timeoutMs: 60_000 }, (batch) => {
    for (const m of batch.messages) {
      if (!m.key) continue;
      if (m.value === null) out.delete(m.key.toString());
      else out.set(m.key.toString(), JSON.parse(m.value.toString()) as Record<string, unknown>);
    }
  });
  return out;
}

/**
 * Poll until `check` reports equality (collected events keep arriving meanwhile); the
 * last comparison's description when it never does.
 */
export async function waitForConvergence(check: () => Comparison | Promise<Comparison>, timeoutMs = 30_000, label = ''): Promise<Comparison> {
  const deadline = Date.now() + timeoutMs;
  let last: Comparison;
  for (;;) {
    last = await check();
    if (last.equal) return last;
    if (Date.now() > deadline) throw new Error(`no convergence within ${timeoutMs} ms:\n${describeComparison(last, label)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A replica's tables (what its lookups answer now) against a server's dump: every
 * binding the server holds must be found by client and link with the same addresses and
 * prefixes, valid until the same instant (within the wire's 1 s resolution, twice, plus
 * the server's clock offset), and nothing else may hold a resource.
 */
export function compareViewWithDump(view: Projection, dump: BindingsDump, now = view.now()): Comparison {
  const missing: string[] = [];
  const extra: string[] = [];
  const different: string[] = [];
  const slack = 2000 + Math.abs(dump.clockOffsetMs);
  const seen = new Set<string>();
  for (const t of dump.bindings) {
    const k = bindingKey(t.clientId, t.linkAddress);
    seen.add(k);
    const b = view.byClientId(Buffer.from(t.clientId, 'hex'), parseIPv6(t.linkAddress))[0];
    const live = (until: number) => until - now >= 1000;
    const addrs = b ? b.addresses.filter((a) => live(a.validUntil)) : [];
    const pfxs = b ? b.prefixes.filter((p) => live(p.validUntil)) : [];
    if (addrs.length + pfxs.length === 0) {
      missing.push(k);
      continue;
    }
    const got = [...addrs.map((a) => formatIPv6(a.address)), ...pfxs.map((p) => `${formatIPv6(p.prefix)}/${p.length}`)].sort().join(',');
    const want = [...t.addresses.map((a) => a.address), ...t.prefixes.map((p) => `${p.prefix}/${p.prefixLength}`)].sort().join(',');
    if (got !== want) {
      different.push(`${k}: ${got} != ${want}`);
      continue;
    }
    for (const a of addrs) {
      const ta = t.addresses.find((x) => x.address === formatIPv6(a.address));
      if (ta && Math.abs(a.validUntil - (ta.validUntil - dump.clockOffsetMs)) > slack) different.push(`${k}: ${formatIPv6(a.address)} valid until ${a.validUntil} != ${ta.validUntil}`);
    }
  }
  let actual = 0;
  for (const d of view.dump()) {
    if (d.addresses.length + d.prefixes.length === 0) continue;
    actual++;
    const [duid, link] = d.key.split('@');
    const k = bindingKey(duid, link);
    if (!seen.has(k)) {
      const b = view.byClientId(Buffer.from(duid, 'hex'), parseIPv6(link))[0];
      if (b && [...b.addresses, ...b.prefixes].some((r) => r.validUntil - now >= 1000)) extra.push(k);
    }
  }
  return { equal: missing.length === 0 && extra.length === 0 && different.length === 0, expected: dump.bindings.length, actual, missing, extra, different };
}

// Verdicts of the fault suites: a replica's HTTP answers against the lab servers' ground
// truth, binding by binding; re-delivered reports in lq.events and whether any of them
// changed state; the per-scenario report (JSON) and its Markdown table.
import { compareServerClock, type BindingEvent } from '../../src/events/index.js';
import type { BindingsDump } from '../../src/lab/index.js';
import { dhcpTimeToUnixMs } from '../../src/protocol/index.js';
import { bindingKey, type Comparison, type Positioned } from './convergence.js';
import { httpJson } from './faults.js';

// ---- a replica's answers ----------------------------------------------------------------

interface HttpBinding {
  clientId: string;
  link: string;
  addresses: { address: string; validUntil: string | null }[];
  prefixes: { prefix: string; validUntil: string | null }[];
  report?: { source: string };
}

/**
 * Everything a replica answers, asked link by link over its HTTP API
 * (`GET /v1/bindings?link=L`: all bindings on that link, as a Bulk QUERY_BY_LINK_ADDRESS
 * would return them). Map (client|link) -> answer. Throws while the replica is not
 * caught up (503) or down.
 */
export async function replicaAnswers(base: string, links: string[]): Promise<Map<string, HttpBinding>> {
  const out = new Map<string, HttpBinding>();
  for (const link of links) {
    const r = await httpJson<{ bindings: HttpBinding[] }>(`${base}/v1/bindings?link=${encodeURIComponent(link)}`, undefined, 20_000);
    if (r.status !== 200) throw new Error(`replica ${base}: HTTP ${r.status}`);
    for (const b of r.body.bindings) out.set(bindingKey(b.clientId, b.link), b);
  }
  return out;
}

/**
 * A replica's answers against the servers' dumps. Per binding of a server: found by
 * (client, link), answered from that server's reports, the same addresses and prefixes,
 * each valid until the same instant (server clock converted with the server's current
 * offset) within `slackMs` (the wire's 1 s resolution twice, plus the offset, plus
 * what a scenario that steps a server clock adds). Nothing else may be answered.
 */
export function compareAnswersWithDumps(answers: Map<string, HttpBinding>, dumps: { source: string; dump: BindingsDump }[], extraSlackMs = 0): Comparison {
  const missing: string[] = [];
  const extra: string[] = [];
  const different: string[] = [];
  const seen = new Set<string>();
  let expected = 0;
  for (const { source, dump } of dumps) {
    const slack = 2_000 + Math.abs(dump.clockOffsetMs) + extraSlackMs;
    for (const t of dump.bindings) {
      expected++;
      const k = bindingKey(t.clientId, t.linkAddress);
      seen.add(k);
      const a = answers.get(k);
      if (!a || a.addresses.length + a.prefixes.length === 0) {
        missing.push(`${source} ${k}`);
        continue;
      }
      if (a.report && a.report.source !== source) different.push(`${k}: answered from ${a.report.source}, held by ${source}`);
      const got = [...a.addresses.map((x) => x.address), ...a.prefixes.map((x) => x.prefix)].sort().join(',');
      const want = [...t.addresses.map((x) => x.address), ...t.prefixes.map((x) => `${x.prefix}/${x.prefixLength}`)].sort().join(',');
      if (got !== want) {
        different.push(`${source} ${k}: ${got} != ${want}`);
        continue;
      }
      const host = (serverMs: number) => serverMs - dump.clockOffsetMs;
      for (const x of a.addresses) {
        const tv = t.addresses.find((y) => y.address === x.address);
        const v = x.validUntil === null ? Infinity : Date.parse(x.validUntil);
        if (tv && Math.abs(v - host(tv.validUntil)) > slack) different.push(`${source} ${k}: ${x.address} valid until ${x.validUntil} != ${new Date(host(tv.validUntil)).toISOString()}`);
      }
      for (const x of a.prefixes) {
        const tv = t.prefixes.find((y) => `${y.prefix}/${y.prefixLength}` === x.prefix);
        const v = x.validUntil === null ? Infinity : Date.parse(x.validUntil);
        if (tv && Math.abs(v - host(tv.validUntil)) > slack) different.push(`${source} ${k}: ${x.prefix} valid until ${x.validUntil} != ${new Date(host(tv.validUntil)).toISOString()}`);
      }
    }
  }
  for (const [k, a] of answers) if (!seen.has(k) && a.addresses.length + a.prefixes.length > 0) extra.push(`${a.report?.source ?? '?'} ${k}`);
  return { equal: missing.length + extra.length + different.length === 0, expected, actual: answers.size, missing, extra, different };
}

// ---- re-delivered reports --------------------------------------------------------------

/** Server-clock ms of a report's last client transaction (null when CLT_TIME was absent). */
const lastTx = (e: BindingEvent) => (e.cltTime === null ? null : (e.baseTime - e.cltTime) * 1000 + dhcpTimeToUnixMs(0));
const until = (e: BindingEvent, lifetime: number) => (lifetime === 0xffffffff ? Infinity : dhcpTimeToUnixMs(e.baseTime) + lifetime * 1000);
const near = (a: number, b: number) => a === b || Math.abs(a - b) <= 2_000;

/**
 * The same server record: the same last transaction (server clock, exact), the same
 * resources, each valid until the same server-clock instant (within the wire's 2 x 1 s
 * rounding). Reports
 * without CLT_TIME are never taken for one another (a release and a later release
 * would look alike).
 */
export function sameRecord(a: BindingEvent, b: BindingEvent): boolean {
  // The last transaction exactly: the server takes base time and CLT_TIME from one
  // seconds clock (src/events/report-order.ts), so one record always gives one second,
  // and two empty states (a release, a later expiry) differ only there.
  const ta = lastTx(a);
  const tb = lastTx(b);
  if (ta === null || tb === null || ta !== tb) return false;
  if (a.addresses.length !== b.addresses.length || a.prefixes.length !== b.prefixes.length) return false;
  for (const x of a.addresses) {
    const y = b.addresses.find((z) => z.address === x.address);
    if (!y || !near(until(a, x.validLifetime), until(b, y.validLifetime))) return false;
  }
  for (const x of a.prefixes) {
    const y = b.prefixes.find((z) => z.prefix === x.prefix && z.prefixLength === x.prefixLength);
    if (!y || !near(until(a, x.validLifetime), until(b, y.validLifetime))) return false;
  }
  return true;
}

export const brief = (e: BindingEvent) =>
  `[${e.phase} seq ${e.chain?.seq} bt ${e.baseTime} clt ${e.cltTime} ${[...e.addresses.map((a) => `${a.address}/${a.validLifetime}`), ...e.prefixes.map((p) => `${p.prefix}/${p.prefixLength}/${p.validLifetime}`)].join(',') || 'none'}]`;

export interface DuplicateReport {
  /** Binding events that repeat a report already in the log (same source, client, link, record). */
  redelivered: number;
  /**
   * Re-deliveries that changed the state they were applied to, under the projection's
   * rule (a report replaces the current one of its source only when newer: server-clock
   * last transaction, then base time, then receive time; on a full tie the later report
   * in the log, which is the later change): the current state was a different record,
   * and the repeat won over it. MUST be 0.
   */
  changedState: number;
  /**
   * Re-deliveries that, folded "last report wins" in log order, would have put an older
   * state back for a while (the current report was another, newer record). Informational:
   * catch-up re-reads `startTimeMarginS` before the resume point, oldest first.
   */
  regressedLogFold: number;
  /**
   * Informational: a later report of one (source, client, link) that is a different
   * record yet equal to the current one in server-clock last transaction, base time AND
   * receive time (two changes within one server second, received in one millisecond).
   * The projection then orders them by a content hash, not by their order: a replica
   * may keep the older one.
   */
  sameInstantConflicts: number;
  examples: string[];
}

/**
 * Walk each source's binding events in log order (per partition, offsets ascending).
 *
 * A report is RE-DELIVERED when an earlier report of the same source, client and link
 * carries the same server record (sameRecord) and either it came in an earlier session
 * of that source (a `connected` source event lies between them in the source's chain:
 * a catch-up or bulk after a reconnect or a crash re-read it) or it is not a live report
 * (catch-up, bulk, recovery). Two identical-looking LIVE reports of one session are two
 * changes (bind, release, bind again within one second) that the wire cannot tell apart,
 * not a duplicate.
 */
export function analyzeDuplicates(events: Iterable<Positioned>): DuplicateReport {
  const all = [...events];
  // Session boundaries per source: chain seqs of its `connected` events.
  const connects = new Map<string, number[]>();
  for (const { event: e } of all) {
    if (e.type !== 'source' || e.kind !== 'connected' || !e.chain) continue;
    const list = connects.get(e.source.name) ?? [];
    if (!list.includes(e.chain.seq)) list.push(e.chain.seq);
    connects.set(e.source.name, list);
  }
  const sessionOf = (e: BindingEvent) => (connects.get(e.source.name) ?? []).filter((s) => s < (e.chain?.seq ?? 0)).length;
  const sorted = all.filter((p): p is Positioned<BindingEvent> => p.event.type === 'binding').sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const history = new Map<string, { e: BindingEvent; session: number }[]>();
  const projected = new Map<string, BindingEvent>();
  const logFold = new Map<string, BindingEvent>();
  const out: DuplicateReport = { redelivered: 0, changedState: 0, regressedLogFold: 0, sameInstantConflicts: 0, examples: [] };
  // The projection's order of two reports of one source (src/projection/order.ts, order 1
  // without the content tie): server-clock last transaction, base time, receive time.
  const order = (a: BindingEvent, b: BindingEvent) => compareServerClock(a.baseTime, a.cltTime, b.baseTime, b.cltTime) || a.receivedAt - b.receivedAt;
  const keyReports = (e: BindingEvent) =>
    sorted
      .filter((p) => p.event.source.name === e.source.name && p.event.clientId === e.clientId && p.event.linkAddress === e.linkAddress)
      .map((p) => `${p.partition}/${p.offset} ${brief(p.event)}`)
      .join(' | ');
  for (const { event: e, partition, offset } of sorted) {
    const k = `${e.source.name}|${bindingKey(e.clientId, e.linkAddress)}`;
    const session = sessionOf(e);
    const h = history.get(k) ?? [];
    const repeat = h.some((x) => sameRecord(x.e, e) && (x.session < session || e.phase !== 'live'));
    const cur = projected.get(k);
    const last = logFold.get(k);
    if (cur && !sameRecord(cur, e) && order(e, cur) === 0) {
      // Later in the log, a different record, and equal in everything the projection
      // orders by before its content hash: which one a replica keeps is up to the hash.
      out.sameInstantConflicts++;
      if (out.examples.length < 5) out.examples.push(`same-instant conflict ${k} at ${partition}/${offset} (received ${e.receivedAt}) after ${brief(cur)} (received ${cur.receivedAt})`);
    }
    if (repeat) {
      out.redelivered++;
      if (cur && !sameRecord(cur, e) && order(e, cur) > 0) {
        out.changedState++;
        if (out.examples.length < 5) out.examples.push(`${k} at ${partition}/${offset} replaced ${brief(cur)}; the key's reports: ${keyReports(e)}`);
      }
      if (last && !sameRecord(last, e)) out.regressedLogFold++;
    }
    h.push({ e, session });
    history.set(k, h);
    // On a same-instant tie the later report in the log is the later change (the
    // projection's hash may pick either; counted above): judge later reports against it.
    if (!cur || order(e, cur) > 0 || (order(e, cur) === 0 && !sameRecord(cur, e))) projected.set(k, e);
    logFold.set(k, e);
  }
  return out;
}

// ---- the report ------------------------------------------------------------------------

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ScenarioReport {
  id: string;
  title: string;
  faults: string[];
  ok: boolean;
  error?: string;
  /** Heal (the last fault ended: process restarted, link restored, broker resumed) to everything equal. */
  convergeMs: number | null;
  /** Load stopped (postHealLoadMs after the heal) to everything equal. */
  quiesceToConvergeMs: number | null;
  postHealLoadMs: number;
  faultMs: number;
  /** Committed chain links missing (no seq may be skipped), plus bindings missing in the fold. */
  eventsLost: number | null;
  /** A chain seq committed twice. */
  chainDuplicates: number | null;
  duplicates: DuplicateReport | null;
  /** Differences left after convergence (or at the time-out): event folds and every replica. */
  stateDiffs: { events: number; replicas: Record<string, number> } | null;
  committedEvents: number | null;
  bindings: number | null;
  labOps: number;
  labOpsMissed: number;
  checks: Check[];
  notes: string[];
  startedAt: string;
  wallMs: number;
}

export function markdownTable(reports: ScenarioReport[]): string {
  const s = (v: number | null, d = 1) => (v === null ? '-' : (v / 1000).toFixed(d));
  const lines = [
    '| scenario | faults | converge after heal (s) | after quiesce (s) | events lost | state diffs (events / replicas) | dup. changed state | re-delivered (regressed log fold) | chain dups | same-instant conflicts | checks | result |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of reports) {
    const diffs = r.stateDiffs ? `${r.stateDiffs.events} / ${Object.values(r.stateDiffs.replicas).join(', ')}` : '-';
    const checks = r.checks.map((c) => `${c.ok ? 'ok' : 'FAIL'}: ${c.name}`).join('; ');
    lines.push(
      `| ${r.id} | ${r.faults.join(' + ')} | ${s(r.convergeMs)} | ${s(r.quiesceToConvergeMs)} | ${r.eventsLost ?? '-'} | ${diffs} | ${r.duplicates?.changedState ?? '-'} | ${r.duplicates ? `${r.duplicates.redelivered} (${r.duplicates.regressedLogFold})` : '-'} | ${r.chainDuplicates ?? '-'} | ${r.duplicates?.sameInstantConflicts ?? '-'} | ${checks} | ${r.ok ? 'pass' : `FAIL${r.error ? `: ${r.error.split('\n')[0].slice(0, 120)}` : ''}`} |`,
    );
  }
  return lines.join('\n') + '\n';
}

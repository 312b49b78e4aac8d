// Binding history as NDJSON or CSV, for lawful-intercept and analytics pipelines.
// Both are written as intervals close (one line each), so an export of any range
// runs in constant memory; a consumer sees intervals in the order they ended, then
// the ones still open at the end of the range (end empty, close_reason "open").
//
// NDJSON: one object per line, the fields below in camelCase, instants both as ISO
// 8601 UTC text and as Unix ms (`start`/`startMs`), evidence as nested objects.
//
// CSV (RFC 4180: comma-separated, CRLF line ends, a header row, fields quoted when they
// hold a comma, a quote or a line break; lists joined by ";"). Columns, in order:
//   resource           address ("2001:db8::5") or prefix ("2001:db8:12::/56"), RFC 5952
//   kind               address | prefix
//   prefix_length      for a prefix; empty for an address
//   client_id          client DUID, lowercase hex
//   link_address       the client's link (RFC 5952)
//   start, start_ms    when the resource became held: ISO 8601 UTC, Unix ms (connector clock)
//   end, end_ms        when it stopped being held; empty while open
//   close_reason       released | expired | reassigned | retired | open
//   sources            the DHCPv6 servers (source names) that reported it during the interval
//   valid_until        validUntil of the last report (ISO; empty = infinite lifetime)
//   preferred_until    preferredUntil of the last report (ISO; empty = infinite)
//   opened_source, opened_partition, opened_offset
//                      the lq.events record of the report that made it held
//   opened_received_at connector clock of that report (ISO)
//   opened_base_time   its OPTION_LQ_BASE_TIME (server clock, DHCPv6 seconds)
//   opened_clock_offset_ms  receivedAt - base time of that report (server clock skew)
//   latest_partition, latest_offset  the last report in force
//   closed_source, closed_partition, closed_offset
//                      the record that ended it (release, takeover, bulk-complete); empty
//                      for expired and open
//   reassigned_to_client_id  for reassigned: who took it over
//   relay_ids          relay-ids (hex) in the reports during the interval
//   remote_ids         remote-ids as enterprise:hex
import type { EventRef, Interval } from './intervals.js';
import { iso } from './time.js';

export type ExportFormat = 'ndjson' | 'csv';

export const CSV_COLUMNS = [
  'resource',
  'kind',
  'prefix_length',
  'client_id',
  'link_address',
  'start',
  'start_ms',
  'end',
  'end_ms',
  'close_reason',
  'sources',
  'valid_until',
  'preferred_until',
  'opened_source',
  'opened_partition',
  'opened_offset',
  'opened_received_at',
  'opened_base_time',
  'opened_clock_offset_ms',
  'latest_partition',
  'latest_offset',
  'closed_source',
  'closed_partition',
  'closed_offset',
  'reassigned_to_client_id',
  'relay_ids',
  'remote_ids',
] as const;

/** One CSV field (RFC 4180). */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function intervalCsv(iv: Interval): string {
  const closed = iv.closedBy;
  const row: Array<string | number | null> = [
    iv.resource,
    iv.kind,
    iv.prefixLength,
    iv.clientId,
    iv.linkAddress,
    iso(iv.start),
    iv.start,
    iso(iv.end),
    iv.end,
    iv.closeReason,
    iv.sources.join(';'),
    iso(iv.validUntil),
    iso(iv.preferredUntil),
    iv.opened.source,
    iv.opened.partition,
    iv.opened.offset,
    iso(iv.opened.receivedAt),
    iv.opened.baseTime,
    iv.opened.clockOffsetMs,
    iv.latest.partition,
    iv.latest.offset,
    closed?.source ?? null,
    closed?.partition ?? null,
    closed?.offset ?? null,
    iv.reassignedTo?.clientId ?? null,
    iv.relayIds.join(';'),
    iv.remoteIds.join(';'),
  ];
  return `${row.map(csvField).join(',')}\r\n`;
}

function refJson(r: EventRef): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: r.type,
    source: r.source,
    partition: r.partition,
    offset: r.offset,
    receivedAt: iso(r.receivedAt),
    receivedAtMs: r.receivedAt,
    baseTime: r.baseTime,
    clockOffsetMs: r.clockOffsetMs,
    lastTransactionAt: iso(r.lastTransactionAt),
    phase: r.phase,
    chainSeq: r.chainSeq,
  };
  if (r.kind !== null) out.kind = r.kind;
  if (r.raw !== undefined) out.raw = r.raw;
  if (r.snapshot !== undefined) out.snapshot = r.snapshot;
  return out;
}

/** The JSON form of an interval (NDJSON lines, --json answers). */
export function intervalJson(iv: Interval): Record<string, unknown> {
  return {
    resource: iv.resource,
    kind: iv.kind,
    prefixLength: iv.prefixLength,
    clientId: iv.clientId,
    linkAddress: iv.linkAddress,
    start: iso(iv.start),
    startMs: iv.start,
    end: iso(iv.end),
    endMs: iv.end,
    closeReason: iv.closeReason,
    sources: iv.sources,
    validUntil: iso(iv.validUntil),
    preferredUntil: iso(iv.preferredUntil),
    opened: refJson(iv.opened),
    latest: refJson(iv.latest),
    closedBy: iv.closedBy ? refJson(iv.closedBy) : null,
    reassignedTo: iv.reassignedTo,
    relayIds: iv.relayIds,
    remoteIds: iv.remoteIds,
    ...(iv.seededFrom !== undefined ? { seededFrom: iv.seededFrom } : {}),
  };
}

export function intervalNdjson(iv: Interval): string {
  return `${JSON.stringify(intervalJson(iv))}\n`;
}

/** A streaming writer of intervals: `write` per interval, `finish` at the end (a CSV header is written even for no rows). */
export function intervalWriter(format: ExportFormat, out: (text: string) => void): { write(iv: Interval): void; finish(): void } {
  if (format === 'ndjson') return { write: (iv) => out(intervalNdjson(iv)), finish: () => undefined };
  let headerDone = false;
  const header = () => {
    if (!headerDone) out(csvHeader());
    headerDone = true;
  };
  return {
    write(iv) {
      header();
      out(intervalCsv(iv));
    },
    finish: header,
  };
}

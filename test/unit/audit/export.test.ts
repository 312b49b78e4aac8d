// NDJSON and CSV exports of binding intervals; instants, durations and resources as typed.
import { describe, expect, it } from 'vitest';
import {
  AuditError,
  CSV_COLUMNS,
  csvField,
  intervalWriter,
  matchResource,
  murmur2,
  parseAddressArg,
  parseInstant,
  parseLookback,
  parsePrefixArg,
  partitionForKey,
  serverInstant,
  type Interval,
} from '../../../src/audit/index.js';
import { bind, history, relay, T0 } from './helpers.js';

function sample(): Interval[] {
  const events = [
    bind({ client: '0001aa', addresses: ['2001:db8::5'], prefixes: [['2001:db8:12::', 56]], at: T0, relay: relay({ relayId: '0102', remoteId: [3561, 'cafe'] }) }),
    bind({ client: '0001aa', addresses: [], prefixes: [['2001:db8:12::', 56]], at: T0 + 60_000 }),
    bind({ client: '0001bb', prefixes: [['2001:db8:12::', 56]], at: T0 + 120_000 }),
  ];
  return history(events).intervals;
}

function parseCsv(text: string): string[][] {
  // RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF rows.
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

describe('export', () => {
  it('CSV: a header of the documented columns, then one row per interval', () => {
    let out = '';
    const w = intervalWriter('csv', (t) => (out += t));
    const ivs = sample();
    ivs.forEach(w.write);
    w.finish();
    const rows = parseCsv(out);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(1 + ivs.length);
    const rec = rows.slice(1).map((r) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]])));
    const released = rec.find((r) => r.resource === '2001:db8::5') as Record<string, string>;
    expect(released).toMatchObject({
      kind: 'address',
      prefix_length: '',
      client_id: '0001aa',
      start: new Date(T0).toISOString(),
      start_ms: String(T0),
      end_ms: String(T0 + 60_000),
      close_reason: 'released',
      sources: 'dhcp-a',
      opened_partition: '0',
      opened_offset: '0',
      closed_offset: '1',
      relay_ids: '0102',
      remote_ids: '3561:cafe',
    });
    const reassigned = rec.find((r) => r.resource === '2001:db8:12::/56' && r.client_id === '0001aa') as Record<string, string>;
    expect(reassigned).toMatchObject({ kind: 'prefix', prefix_length: '56', close_reason: 'reassigned', reassigned_to_client_id: '0001bb' });
    const open = rec.find((r) => r.client_id === '0001bb') as Record<string, string>;
    expect(open).toMatchObject({ close_reason: 'open', end: '', end_ms: '' });
  });

  it('CSV quoting (RFC 4180) and an empty export still has its header', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    let out = '';
    const w = intervalWriter('csv', (t) => (out += t));
    w.finish();
    expect(out).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
  });

  it('NDJSON: one JSON object per line with both ISO and ms instants and the evidence', () => {
    let out = '';
    const w = intervalWriter('ndjson', (t) => (out += t));
    sample().forEach(w.write);
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      resource: '2001:db8::5',
      start: new Date(T0).toISOString(),
      startMs: T0,
      closeReason: 'released',
      opened: { source: 'dhcp-a', partition: 0, offset: '0', receivedAtMs: T0 },
      closedBy: { offset: '1' },
    });
  });
});

describe('arguments', () => {
  it('instants: ISO with Z or an offset, Unix ms, now; no zone is refused', () => {
    expect(parseInstant('2024-11-01T03:14:00Z')).toBe(Date.UTC(2024, 10, 1, 3, 14));
    expect(parseInstant('2024-11-01T04:14:00+01:00')).toBe(Date.UTC(2024, 10, 1, 3, 14));
    expect(parseInstant('2024-11-01T01:44:00.250-0130')).toBe(Date.UTC(2024, 10, 1, 3, 14, 0, 250));
    expect(parseInstant('1730430840000')).toBe(1730430840000);
    expect(parseInstant('now', 'at', () => 42_000_000_000_000)).toBe(42_000_000_000_000);
    expect(() => parseInstant('2024-11-01T03:14:00')).toThrow(/no zone/);
    expect(() => parseInstant('2024-02-30T00:00:00Z')).toThrow(AuditError);
    expect(() => parseInstant('1730430840')).toThrow(/seconds/);
    expect(() => parseInstant('yesterday')).toThrow(/ISO 8601/);
  });

  it('look-backs', () => {
    expect(parseLookback('all')).toBe('all');
    expect(parseLookback('7d')).toBe(7 * 86_400_000);
    expect(parseLookback('36h')).toBe(36 * 3_600_000);
    expect(parseLookback('1500')).toBe(1500);
    expect(() => parseLookback('a week')).toThrow(AuditError);
  });

  it('addresses and prefixes, and how they match', () => {
    expect(() => parseAddressArg('2001:db8::/64')).toThrow(/--prefix/);
    expect(() => parseAddressArg('not-an-address')).toThrow(AuditError);
    expect(() => parsePrefixArg('2001:db8:12::1/56')).toThrow(/did you mean 2001:db8:12::\/56/);
    expect(() => parsePrefixArg('2001:db8::/129')).toThrow(/0\.\.128/);
    const p = parsePrefixArg('2001:db8:12::/56');
    expect(matchResource(p, parsePrefixArg('2001:db8:12::/56'))).toBe('exact');
    expect(matchResource(p, parsePrefixArg('2001:db8::/32'))).toBe('covering');
    expect(matchResource(p, parsePrefixArg('2001:db8:12:10::/60'))).toBe('contained');
    expect(matchResource(p, parseAddressArg('2001:db8:12:ff::1'))).toBe('contained');
    expect(matchResource(p, parsePrefixArg('2001:db8:13::/56'))).toBeNull();
    const a = parseAddressArg('2001:db8:12::77');
    expect(matchResource(a, parsePrefixArg('2001:db8:12::/56'))).toBe('covering');
    expect(matchResource(a, parseAddressArg('2001:DB8:12:0::77'))).toBe('exact');
  });

  it('server-clock instants', () => {
    const s = serverInstant(T0, 'dhcp-a', 1500);
    expect(s.iso).toBe(new Date(T0 - 1500).toISOString());
    expect(s.dhcpTime).toBe(Math.floor((T0 - 1500) / 1000) - 946_684_800);
  });

  it('murmur2 partitioning matches the Java client (Kafka UtilsTest vectors)', () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of vectors) expect(murmur2(Buffer.from(s))).toBe(h);
    expect(partitionForKey('abc', 12)).toBe((479470107 & 0x7fffffff) % 12);
  });
});

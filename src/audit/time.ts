// Instants and durations as people type them, and the two clocks of an answer
// (DESIGN.md "The time model"): the connector clock (receivedAt, Unix ms) in which
// audits are asked and answered, and a source's server clock, which is the connector
// clock minus that source's clockOffsetMs.
import { dhcpTimeToIso, unixMsToDhcpTime } from '../protocol/index.js';
import { AuditError } from './errors.js';

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

/** Instants before this (1973) given as digits are almost surely seconds, not ms. */
const MIN_PLAUSIBLE_MS = 100_000_000_000;

/**
 * Parses an instant: ISO 8601 with a zone ("2024-11-01T03:14:00Z",
 * "2024-11-01T04:14:00+01:00"), Unix milliseconds ("1730430840000"), or "now".
 * An ISO time without a zone is refused rather than read in the machine's local time.
 */
export function parseInstant(text: string, what = 'instant', now: () => number = Date.now): number {
  const s = text.trim();
  if (s === 'now') return now();
  if (/^-?\d+$/.test(s)) {
    const ms = Number(s);
    if (!Number.isSafeInteger(ms)) throw new AuditError('bad-instant', `${what} '${text}' is out of range`);
    if (Math.abs(ms) < MIN_PLAUSIBLE_MS) {
      throw new AuditError('bad-instant', `${what} '${text}' looks like Unix seconds; give milliseconds (${s}000) or an ISO 8601 instant`);
    }
    return ms;
  }
  const m = ISO.exec(s);
  if (!m) {
    const hint = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)
      ? ' (it has no zone: add Z for UTC or an offset such as +01:00)'
      : ' (use ISO 8601 with a zone, e.g. 2024-11-01T03:14:00Z, or Unix milliseconds)';
    throw new AuditError('bad-instant', `${what} '${text}' is not an instant${hint}`);
  }
  const [, y, mo, d, h, mi, sec = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw new AuditError('bad-instant', `${what} '${text}' is not a calendar date and time`);
  }
  const ms = Math.floor(Number(`0.${frac || '0'}`) * 1000);
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) throw new AuditError('bad-instant', `${what} '${text}' has an invalid UTC offset`);
    offsetMin = sign * (oh * 60 + om);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** "all" (fold from the topic's start), or "<n><unit>" with unit ms, s, m, h, d or w, e.g. "7d", "36h". */
export function parseLookback(text: string): number | 'all' {
  const s = text.trim().toLowerCase();
  if (s === 'all') return 'all';
  return parseDuration(text, 'look-back');
}

export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim().toLowerCase());
  if (!m) throw new AuditError('bad-duration', `${what} '${text}' is not a duration (e.g. 500ms, 30s, 15m, 36h, 7d)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

/** ISO 8601 UTC with milliseconds; null stays null. */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The same instant in a source's server clock (DESIGN.md: server = connector - clockOffsetMs). */
export interface ServerInstant {
  source: string;
  clockOffsetMs: number;
  /** Unix ms in the server's clock. */
  unixMs: number;
  iso: string;
  /** DHCPv6 time (seconds since 2000-01-01Z, server clock), as the server would write it. */
  dhcpTime: number;
}

export function serverInstant(connectorMs: number, source: string, clockOffsetMs: number): ServerInstant {
  const unixMs = connectorMs - clockOffsetMs;
  return { source, clockOffsetMs, unixMs, iso: new Date(unixMs).toISOString(), dhcpTime: unixMsToDhcpTime(unixMs) };
}

export { dhcpTimeToIso };

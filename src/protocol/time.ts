// DHCPv6 absolute time: an unsigned 32-bit count of seconds since 2000-01-01T00:00:00Z,
// modulo 2^32 (RFC 8415 section 11.2 for DUID-LLT; RFC 7653 section 5.4 for
// OPTION_LQ_BASE_TIME). Lifetimes are unsigned 32-bit seconds with 0xffffffff meaning
// infinity (RFC 8415 section 7.7).
import { DHCPV6_EPOCH_UNIX_S, INFINITY } from './constants.js';

const TWO_32 = 0x1_0000_0000;

/** Unix milliseconds of a DHCPv6 absolute time (no era guessing: 0 is 2000-01-01). */
export function dhcpTimeToUnixMs(t: number): number {
  return (DHCPV6_EPOCH_UNIX_S + (t >>> 0)) * 1000;
}

/** DHCPv6 absolute time of a Unix instant, whole seconds, wrapped modulo 2^32. */
export function unixMsToDhcpTime(ms: number): number {
  const s = Math.floor(ms / 1000) - DHCPV6_EPOCH_UNIX_S;
  return ((s % TWO_32) + TWO_32) % TWO_32;
}

/** ISO 8601 text of a DHCPv6 absolute time, e.g. '2024-11-01T03:14:00Z'. */
export function dhcpTimeToIso(t: number): string {
  // Times on the wire are whole seconds: drop toISOString's '.000'.
  return new Date(dhcpTimeToUnixMs(t)).toISOString().replace('.000Z', 'Z');
}

export function isInfiniteLifetime(x: number): boolean {
  return x === INFINITY;
}

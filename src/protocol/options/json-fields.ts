// Small helpers for the JSON form of common field kinds, shared by the option families.
import { dhcpTimeToIso, isInfiniteLifetime } from '../time.js';

/** A lifetime (or T1/T2) raw, plus `<field>Infinite: true` when it is 0xffffffff. */
export function lifetimeJson(field: string, seconds: number): Record<string, unknown> {
  return isInfiniteLifetime(seconds) ? { [field]: seconds, [`${field}Infinite`]: true } : { [field]: seconds };
}

/** An absolute DHCPv6 time, raw and as ISO 8601 (in the sending server's clock). */
export function absoluteTimeJson(time: number): Record<string, unknown> {
  return { time, iso: dhcpTimeToIso(time) };
}

/** Opaque bytes as hex, plus `text` when every byte is printable ASCII (e.g. 'eth0'). */
export function opaqueJson(field: string, b: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = { [field]: b.toString('hex') };
  if (b.length > 0 && isPrintableAscii(b)) out[`${field}Text`] = b.toString('latin1');
  return out;
}

function isPrintableAscii(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] < 0x20 || b[i] > 0x7e) return false;
  return true;
}

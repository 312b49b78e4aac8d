// Text forms for people: IPv6 addresses (RFC 5952) and DUIDs (RFC 8415 section 11).
// Only output paths (JSON, logs, the CLI) call these; the codec keeps bytes.
import ipaddr from 'ipaddr.js';
import { DuidType } from './constants.js';
import { dhcpTimeToIso } from './time.js';

/**
 * RFC 5952 canonical text of a 16-byte address: lowercase hex, leading zeros dropped,
 * the longest run of two or more zero groups shown as '::' (the first on a tie), a
 * single zero group never compressed. IPv4-mapped and -compatible addresses stay in
 * hex form ('::ffff:c000:201') rather than RFC 5952 section 5's dotted suffix, so that
 * one rule covers every address.
 */
export function formatIPv6(addr: Uint8Array): string {
  if (addr.length !== 16) throw new TypeError(`an IPv6 address is 16 bytes, got ${addr.length}`);
  let bestStart = -1;
  let bestLen = 1; // runs must be longer than this to be compressed
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (addr[2 * i] === 0 && addr[2 * i + 1] === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLen) {
        bestLen = i - runStart + 1;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart < 0) return groups(addr, 0, 8);
  return `${groups(addr, 0, bestStart)}::${groups(addr, bestStart + bestLen, 8)}`;
}

function groups(addr: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    if (i > from) s += ':';
    s += ((addr[2 * i] << 8) | addr[2 * i + 1]).toString(16);
  }
  return s;
}

/** 16-byte address from IPv6 text (any valid form, including a dotted IPv4 suffix). */
export function parseIPv6(text: string): Buffer {
  const s = text.trim();
  if (s.includes('%')) throw new Error(`'${text}' has a zone index; give a plain IPv6 address`);
  if (!ipaddr.IPv6.isValid(s)) throw new Error(`'${text}' is not an IPv6 address`);
  return Buffer.from(ipaddr.IPv6.parse(s).toByteArray());
}

/** A DUID explained by type (RFC 8415 section 11); `hex` is always the whole DUID. */
export type DuidInfo =
  | { type: 1; typeName: 'DUID-LLT'; hardwareType: number; time: number; timeIso: string; linkLayerAddress: string; hex: string }
  | { type: 2; typeName: 'DUID-EN'; enterpriseNumber: number; identifier: string; hex: string }
  | { type: 3; typeName: 'DUID-LL'; hardwareType: number; linkLayerAddress: string; hex: string }
  | { type: 4; typeName: 'DUID-UUID'; uuid: string; hex: string }
  /** Unknown type, or too short for its type's fixed fields. `type` is null below 2 bytes. */
  | { type: number | null; typeName: 'opaque'; hex: string };

export function describeDuid(duid: Uint8Array): DuidInfo {
  const b = Buffer.from(duid.buffer, duid.byteOffset, duid.length);
  const hex = b.toString('hex');
  if (b.length < 2) return { type: null, typeName: 'opaque', hex };
  const type = b.readUInt16BE(0);
  // Each typed form needs its fixed fields and (for LLT, EN and LL) at least one octet
  // of identifier; a DUID that lacks them is shown as opaque rather than half-parsed.
  if (type === DuidType.LLT && b.length > 8) {
    const time = b.readUInt32BE(4);
    return { type, typeName: 'DUID-LLT', hardwareType: b.readUInt16BE(2), time, timeIso: dhcpTimeToIso(time), linkLayerAddress: colonHex(b.subarray(8)), hex };
  }
  if (type === DuidType.EN && b.length > 6) {
    return { type, typeName: 'DUID-EN', enterpriseNumber: b.readUInt32BE(2), identifier: b.subarray(6).toString('hex'), hex };
  }
  if (type === DuidType.LL && b.length > 4) {
    return { type, typeName: 'DUID-LL', hardwareType: b.readUInt16BE(2), linkLayerAddress: colonHex(b.subarray(4)), hex };
  }
  if (type === DuidType.UUID && b.length === 18) {
    const u = b.subarray(2).toString('hex');
    return { type, typeName: 'DUID-UUID', uuid: `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`, hex };
  }
  return { type, typeName: 'opaque', hex };
}

/** Link-layer addresses read best the way they are printed everywhere: 00:1a:2b:... */
function colonHex(b: Buffer): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ':' : '') + (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

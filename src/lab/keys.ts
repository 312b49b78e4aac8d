// Index keys for addresses and prefixes: a 16-byte address as a string of eight 16-bit
// code units. Built in plain JavaScript (no call into C++ as Buffer#toString is), it
// hashes fast, costs 16 bytes of characters like the bytes themselves, and a prefix's
// key is a prefix of its address key with the last unit masked.

/** The key of a 16-byte address. */
export function addressKey(b: Uint8Array): string {
  return String.fromCharCode(
    (b[0] << 8) | b[1],
    (b[2] << 8) | b[3],
    (b[4] << 8) | b[5],
    (b[6] << 8) | b[7],
    (b[8] << 8) | b[9],
    (b[10] << 8) | b[11],
    (b[12] << 8) | b[13],
    (b[14] << 8) | b[15],
  );
}

/** The 16-byte address of a key. */
export function keyToAddress(k: string): Buffer {
  const b = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) {
    const u = k.charCodeAt(i);
    b[2 * i] = u >>> 8;
    b[2 * i + 1] = u & 0xff;
  }
  return b;
}

/** The key of the /`length` prefix containing the address of key `k`: its significant units only. */
export function prefixKey(k: string, length: number): string {
  const n = (length + 15) >>> 4;
  const rem = length & 15;
  const last = rem === 0 ? k.charCodeAt(n - 1) : k.charCodeAt(n - 1) & ((0xffff << (16 - rem)) & 0xffff);
  switch (n) {
    case 0:
      return '';
    case 1:
      return String.fromCharCode(last);
    case 2:
      return String.fromCharCode(k.charCodeAt(0), last);
    case 3:
      return String.fromCharCode(k.charCodeAt(0), k.charCodeAt(1), last);
    case 4:
      return String.fromCharCode(k.charCodeAt(0), k.charCodeAt(1), k.charCodeAt(2), last);
    default:
      return k.slice(0, n - 1) + String.fromCharCode(last);
  }
}

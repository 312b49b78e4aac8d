// 32-bit hashing for the projection's own hash indexes (see hash-index.ts). The same
// bytes must hash the same whether they come from a table column (Uint32 words, latin1
// strings) or from a query's Buffer, so every function here works on bytes or on words
// that were loaded from bytes in the same way.

/** A strong 32-bit finalizer (lowbias32): spreads every input bit over the output. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h | 0;
}

/** Hash of 16 bytes given as four 32-bit words (an IPv6 address or a masked prefix). */
export function hashWords4(w0: number, w1: number, w2: number, w3: number): number {
  return mix32(w0 ^ mix32(w1 ^ mix32(w2 ^ mix32(w3 ^ 0x2545f491))));
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over chars [from, to) of a latin1 string (one byte per char), then mixed. */
export function hashLatin1(s: string, from: number, to: number, seed = 0): number {
  let h = FNV_OFFSET ^ seed;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix32(h);
}

/** FNV-1a over bytes [from, to), then mixed: equal to hashLatin1 of the same bytes. */
export function hashBytes(b: Uint8Array, from: number, to: number, seed = 0): number {
  let h = FNV_OFFSET ^ seed;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i], FNV_PRIME);
  return mix32(h);
}

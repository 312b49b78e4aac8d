// Resource slots (the addresses and delegated prefixes of effective binding states) and
// their indexes: QUERY_BY_ADDRESS exact (RFC 5007 section 4.1.2.1) and prefix
// containment, one hash index per prefix length in use, probed longest first.
//
// A slot is 16 bytes + plen + two lifetimes + links, about 42 bytes in typed arrays.
// One address or prefix can be claimed by several bindings at once (a client that moved
// and a server that has not yet reported the old binding gone; an address re-assigned
// whose release sits in another partition). The index holds one owner per resource -
// the claimant whose binding is most recent (order 2, order.ts) - and `contested` holds
// the others, so that when the owner lets go the next one takes over. Only owned
// resources are part of a binding's answer (`owned` column).
import { grown, nextCapacity } from './grow.js';
import { hashWords4 } from './hash.js';
import { EMPTY, IdHashIndex } from './hash-index.js';
import { ADDRESS } from './state.js';

/** maskWords[L]: the 16-byte mask of prefix length L, as 4 native-endian words. */
const maskWords: Uint32Array[] = [];
for (let L = 0; L <= 128; L++) {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = L - i * 8;
    b[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  maskWords.push(new Uint32Array(b.buffer));
}

export class Resources {
  private cap = 0;
  bytes = new Uint8Array(0);
  /** The same memory as `bytes`, as a Buffer: latin1 and copies without allocating views. */
  private bytesBuf = Buffer.alloc(0);
  private words = new Uint32Array(0);
  plen = new Uint8Array(0);
  pref = new Float64Array(0);
  valid = new Float64Array(0);
  binding = new Int32Array(0);
  /** Next resource of the same binding, -1 at the end; the free list when unused. */
  next = new Int32Array(0);
  owned = new Uint8Array(0);
  private freeHead = -1;
  private top = 0;
  /** Slots in use. */
  count = 0;

  private readonly addresses: IdHashIndex;
  private readonly prefixes: (IdHashIndex | undefined)[] = [];
  /** Prefix lengths with at least one indexed prefix, longest first. */
  private lengths: number[] = [];
  private readonly contested = new Map<string, number[]>();
  private readonly q = new Uint8Array(16);
  private readonly qWords = new Uint32Array(this.q.buffer);

  /**
   * `newer(a, b)`: binding a's claim beats binding b's (order 2). `touched(b)`: binding b
   * gained or lost a resource because of another binding's change.
   */
  constructor(
    private readonly newer: (a: number, b: number) => boolean,
    private readonly touched: (binding: number) => void,
  ) {
    this.addresses = new IdHashIndex((r) => this.hashOf(r));
  }

  /** Makes room for `n` addresses in the address index. */
  reserveAddresses(n: number): void {
    this.addresses.reserve(n);
  }

  private hashOf(r: number): number {
    const w = this.words;
    const i = r * 4;
    return hashWords4(w[i], w[i + 1], w[i + 2], w[i + 3]);
  }

  private index(r: number): IdHashIndex {
    const L = this.plen[r];
    if (L === ADDRESS) return this.addresses;
    let idx = this.prefixes[L];
    if (!idx) {
      idx = new IdHashIndex((x) => this.hashOf(x));
      this.prefixes[L] = idx;
    }
    return idx;
  }

  /** A new slot for `binding`, not yet claimed. `bytes` is latin1 (16 chars). */
  alloc(binding: number, plen: number, bytes: string, pref: number, valid: number): number {
    let r = this.freeHead;
    if (r >= 0) this.freeHead = this.next[r];
    else {
      r = this.top++;
      if (r >= this.cap) this.grow(r + 1);
    }
    const o = r * 16;
    for (let i = 0; i < 16; i++) this.bytes[o + i] = bytes.charCodeAt(i);
    this.plen[r] = plen;
    this.pref[r] = pref;
    this.valid[r] = valid;
    this.binding[r] = binding;
    this.next[r] = -1;
    this.owned[r] = 0;
    this.count++;
    return r;
  }

  /** Makes room for `n` slots (a snapshot load knows its size). */
  reserve(n: number): void {
    if (n > this.cap) this.grow(n, true);
  }

  private grow(needed: number, exact = false): void {
    const cap = exact ? needed : nextCapacity(this.cap, needed);
    const bytes = new Uint8Array(cap * 16);
    bytes.set(this.bytes);
    this.bytes = bytes;
    this.words = new Uint32Array(bytes.buffer);
    this.bytesBuf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.plen = grown(this.plen, cap);
    this.pref = grown(this.pref, cap);
    this.valid = grown(this.valid, cap);
    this.binding = grown(this.binding, cap);
    this.next = grown(this.next, cap);
    this.owned = grown(this.owned, cap);
    this.cap = cap;
  }

  /** Same resource (kind, length and bytes) as the latin1 `bytes`? */
  sameAs(r: number, plen: number, bytes: string): boolean {
    if (this.plen[r] !== plen) return false;
    const o = r * 16;
    for (let i = 0; i < 16; i++) if (this.bytes[o + i] !== bytes.charCodeAt(i)) return false;
    return true;
  }

  latin1(r: number): string {
    return this.bytesBuf.toString('latin1', r * 16, r * 16 + 16);
  }

  /** A copy of slot r's 16 bytes. */
  buffer(r: number): Buffer {
    const out = Buffer.allocUnsafe(16);
    this.bytesBuf.copy(out, 0, r * 16, r * 16 + 16);
    return out;
  }

  /** Copies slot r's 16 bytes into `out` at `off`. */
  copyTo(r: number, out: Buffer, off: number): void {
    this.bytesBuf.copy(out, off, r * 16, r * 16 + 16);
  }

  private sameWords(a: number, b: number): boolean {
    const w = this.words;
    const i = a * 4;
    const j = b * 4;
    return w[i] === w[j] && w[i + 1] === w[j + 1] && w[i + 2] === w[j + 2] && w[i + 3] === w[j + 3];
  }

  /** The owner of the same resource as slot r (r itself included), or -1. */
  ownerOf(r: number): number {
    const idx = this.plen[r] === ADDRESS ? this.addresses : this.prefixes[this.plen[r]];
    if (!idx) return -1;
    for (let i = idx.start(this.hashOf(r)), id: number; (id = idx.at(i)) !== EMPTY; i = idx.next(i)) {
      if (id >= 0 && this.sameWords(id, r)) return id;
    }
    return -1;
  }

  private key(r: number): string {
    return String.fromCharCode(this.plen[r]) + this.latin1(r);
  }

  private addContender(r: number): void {
    const k = this.key(r);
    const list = this.contested.get(k);
    if (!list) this.contested.set(k, [r]);
    else if (!list.includes(r)) list.push(r);
  }

  private removeContender(r: number): void {
    if (this.contested.size === 0) return;
    const k = this.key(r);
    const list = this.contested.get(k);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.contested.delete(k);
  }

  private setOwner(r: number): void {
    const wasEmpty = this.plen[r] !== ADDRESS && !this.prefixes[this.plen[r]]?.size;
    this.index(r).add(r, this.hashOf(r));
    this.owned[r] = 1;
    if (wasEmpty) this.refreshLengths();
  }

  /**
   * Puts slot r where it belongs: owner when its binding is newer than the current
   * owner (or there is none), else a contender. Call after alloc and whenever r's
   * binding changed its effective state (its order moved).
   */
  claim(r: number): void {
    const owner = this.ownerOf(r);
    if (owner < 0) {
      this.removeContender(r);
      this.setOwner(r);
      return;
    }
    if (owner === r) {
      // Still the newest? A binding whose winner was retired may have become older.
      const best = this.bestContender(r);
      if (best >= 0 && this.newer(this.binding[best], this.binding[r])) this.swap(r, best);
      return;
    }
    if (this.newer(this.binding[r], this.binding[owner])) {
      this.removeContender(r);
      this.swap(owner, r);
    } else {
      this.addContender(r);
    }
  }

  /** Owner `from` hands the resource to contender `to`. */
  private swap(from: number, to: number): void {
    this.removeContender(to);
    this.index(from).replace(from, to, this.hashOf(from));
    this.owned[from] = 0;
    this.owned[to] = 1;
    this.addContender(from);
    this.touched(this.binding[from]);
    this.touched(this.binding[to]);
  }

  private bestContender(r: number): number {
    if (this.contested.size === 0) return -1;
    const list = this.contested.get(this.key(r));
    if (!list) return -1;
    let best = -1;
    for (const c of list) if (best < 0 || this.newer(this.binding[c], this.binding[best])) best = c;
    return best;
  }

  /** Unclaims and frees slot r; the best contender, if any, becomes the owner. */
  release(r: number): void {
    if (this.owned[r]) {
      const idx = this.index(r);
      const best = this.bestContender(r);
      if (best >= 0) {
        this.removeContender(best);
        idx.replace(r, best, this.hashOf(r));
        this.owned[best] = 1;
        this.touched(this.binding[best]);
      } else {
        idx.remove(r, this.hashOf(r));
        if (idx !== this.addresses && idx.size === 0) this.refreshLengths();
      }
      this.owned[r] = 0;
    } else {
      this.removeContender(r);
    }
    this.plen[r] = 0;
    this.binding[r] = -1;
    this.next[r] = this.freeHead;
    this.freeHead = r;
    this.count--;
  }

  private refreshLengths(): void {
    const lengths: number[] = [];
    for (let L = 128; L >= 0; L--) if (this.prefixes[L]?.size) lengths.push(L);
    this.lengths = lengths;
  }

  /** The owner slot of exactly this address, or -1. */
  findAddress(address: Uint8Array): number {
    this.q.set(address);
    const w = this.qWords;
    const idx = this.addresses;
    for (let i = idx.start(hashWords4(w[0], w[1], w[2], w[3])), id: number; (id = idx.at(i)) !== EMPTY; i = idx.next(i)) {
      if (id >= 0 && this.equalsQuery(id)) return id;
    }
    return -1;
  }

  /**
   * Owner slots of the prefixes containing `address`, longest first, each passed to
   * `accept` until it returns true; returns the accepted slot or -1.
   */
  findPrefix(address: Uint8Array, accept: (r: number) => boolean): number {
    for (const L of this.lengths) {
      const idx = this.prefixes[L] as IdHashIndex;
      const m = maskWords[L];
      this.q.set(address);
      const w = this.qWords;
      w[0] &= m[0];
      w[1] &= m[1];
      w[2] &= m[2];
      w[3] &= m[3];
      for (let i = idx.start(hashWords4(w[0], w[1], w[2], w[3])), id: number; (id = idx.at(i)) !== EMPTY; i = idx.next(i)) {
        if (id >= 0 && this.equalsQuery(id)) {
          if (accept(id)) return id;
          break;
        }
      }
    }
    return -1;
  }

  private equalsQuery(r: number): boolean {
    const w = this.words;
    const q = this.qWords;
    const i = r * 4;
    return w[i] === q[0] && w[i + 1] === q[1] && w[i + 2] === q[2] && w[i + 3] === q[3];
  }

  /** Typed-array bytes (memory report). */
  get bytesHeld(): number {
    let n = this.bytes.byteLength + this.plen.byteLength + this.pref.byteLength + this.valid.byteLength;
    n += this.binding.byteLength + this.next.byteLength + this.owned.byteLength + this.addresses.bytes;
    for (const p of this.prefixes) n += p?.bytes ?? 0;
    return n;
  }

  /** Address (not prefix) slots indexed. */
  get addressCount(): number {
    return this.addresses.size;
  }

  get contestedCount(): number {
    return this.contested.size;
  }

  /** Contenders of slot r's resource (for the integrity check). */
  contendersOf(r: number): readonly number[] {
    return this.contested.get(this.key(r)) ?? [];
  }

  /** Every contested resource's contender slots (for the integrity check). */
  allContenders(): number[] {
    return [...this.contested.values()].flat();
  }
}

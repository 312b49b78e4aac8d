// An open-addressing hash multiset of non-negative ids (linear probing, Int32Array slots).
//
// The keys live in the tables' own columns, not here: the index stores only ids, so an
// entry costs one 4-byte slot (8 to 11 bytes per entry at the load factors used) instead
// of a Map entry plus a key string. Several ids may share a key (a client on several
// links, one remote-id on two links); they sit in the same probe run, and a lookup walks
// the run until an empty slot, comparing each id's key in the columns:
//
//   for (let i = idx.start(h), id; (id = idx.at(i)) !== EMPTY; i = idx.next(i)) {
//     if (id >= 0 && keyOf(id) equals key) ...
//   }
//
// Lookups never mutate, so a caller may walk a run and decide per id.

export const EMPTY = -1;
export const DELETED = -2;
const MAX_LOAD = 0.75;

export class IdHashIndex {
  private slots: Int32Array;
  private mask: number;
  /** Live entries. */
  size = 0;
  /** Live entries plus DELETED markers: what the load factor counts. */
  private used = 0;

  /** `hashOf` recomputes an id's hash when the table is resized. */
  constructor(
    private readonly hashOf: (id: number) => number,
    capacity = 16,
  ) {
    const cap = pow2AtLeast(capacity);
    this.slots = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  add(id: number, h: number): void {
    if (this.used + 1 > (this.mask + 1) * MAX_LOAD) this.rehash();
    const slots = this.slots;
    let i = h & this.mask;
    while (slots[i] >= 0) i = (i + 1) & this.mask;
    if (slots[i] === EMPTY) this.used++;
    slots[i] = id;
    this.size++;
  }

  /** Removes one entry of `id` (found by its hash `h`); false when absent. */
  remove(id: number, h: number): boolean {
    const i = this.slotOf(id, h);
    if (i < 0) return false;
    this.slots[i] = DELETED;
    this.size--;
    return true;
  }

  /** Makes room for `n` entries without resizing (a snapshot load knows its size). */
  reserve(n: number): void {
    const cap = pow2AtLeast(Math.ceil(n / MAX_LOAD) + 1);
    if (cap > this.mask + 1) this.rebuild(cap);
  }

  /** Puts `newId` where `oldId` was (same key, so the same probe run). */
  replace(oldId: number, newId: number, h: number): boolean {
    const i = this.slotOf(oldId, h);
    if (i < 0) return false;
    this.slots[i] = newId;
    return true;
  }

  start(h: number): number {
    return h & this.mask;
  }
  next(i: number): number {
    return (i + 1) & this.mask;
  }
  at(i: number): number {
    return this.slots[i];
  }
  /** Bytes held by the slots (for the memory report). */
  get bytes(): number {
    return this.slots.byteLength;
  }

  private slotOf(id: number, h: number): number {
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const s = slots[i];
      if (s === id) return i;
      if (s === EMPTY) return -1;
    }
  }

  /** Doubles when live entries fill half the table, else only sweeps the DELETED markers. */
  private rehash(): void {
    this.rebuild(this.size + 1 > (this.mask + 1) / 2 ? (this.mask + 1) * 2 : this.mask + 1);
  }

  private rebuild(cap: number): void {
    const old = this.slots;
    const slots = new Int32Array(cap).fill(EMPTY);
    const mask = cap - 1;
    for (let j = 0; j < old.length; j++) {
      const id = old[j];
      if (id < 0) continue;
      let i = this.hashOf(id) & mask;
      while (slots[i] !== EMPTY) i = (i + 1) & mask;
      slots[i] = id;
    }
    this.slots = slots;
    this.mask = mask;
    this.used = this.size;
  }
}

function pow2AtLeast(n: number): number {
  let c = 16;
  while (c < n) c *= 2;
  return c;
}

// Membership lists (the bindings on a link, the bindings using a relay template)
// threaded through two columns of the binding table: each binding is on at most one
// list of each kind, so next/prev pointers per binding (8 bytes) replace a per-list
// array or Set, and no list ever allocates. Add and remove are O(1).
import { grown } from './grow.js';

export interface MemberList {
  /** First member, -1 when empty. */
  head: number;
  size: number;
}

export const emptyList = (): MemberList => ({ head: -1, size: 0 });

export class MemberLinks {
  next = new Int32Array(0);
  prev = new Int32Array(0);

  grow(capacity: number): void {
    this.next = grown(this.next, capacity);
    this.prev = grown(this.prev, capacity);
  }

  add(list: MemberList, id: number): void {
    const h = list.head;
    this.next[id] = h;
    this.prev[id] = -1;
    if (h >= 0) this.prev[h] = id;
    list.head = id;
    list.size++;
  }

  remove(list: MemberList, id: number): void {
    const n = this.next[id];
    const p = this.prev[id];
    if (p >= 0) this.next[p] = n;
    else list.head = n;
    if (n >= 0) this.prev[n] = p;
    list.size--;
  }

  /**
   * A copy of the members: bulk lookups iterate a copy, so that the tables may change
   * between two pulls of a lazy iterator (LeaseView) without the walk going astray.
   */
  copy(list: MemberList): Int32Array {
    const out = new Int32Array(list.size);
    let i = 0;
    for (let id = list.head; id >= 0 && i < out.length; id = this.next[id]) out[i++] = id;
    return out;
  }

  get bytes(): number {
    return this.next.byteLength + this.prev.byteLength;
  }
}

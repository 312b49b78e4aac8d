// When each binding next needs attention: the earliest validUntil of its resources, or,
// for a binding left with no resources, when its tombstone may be forgotten. An indexed
// binary min-heap over binding ids (one entry per binding, updated in place), so that
// expire(now) pops exactly the due bindings: O(due * log n), never a scan of the tables.
import { grown, nextCapacity } from './grow.js';

export class ExpiryQueue {
  private ids = new Int32Array(16);
  private times = new Float64Array(16);
  /** Position of each binding id in the heap, -1 when absent. */
  private pos = new Int32Array(16).fill(-1);
  size = 0;

  /** Makes room for ids below `n` (a snapshot load knows its size). */
  reserve(n: number): void {
    if (n > this.pos.length) this.pos = grown(this.pos, n, -1);
    if (n > this.ids.length) {
      this.ids = grown(this.ids, n);
      this.times = grown(this.times, n);
    }
  }

  /** Schedules `id` at `time` (replacing its previous time); Infinity unschedules. */
  set(id: number, time: number): void {
    if (time === Infinity) {
      this.delete(id);
      return;
    }
    if (id >= this.pos.length) this.pos = grown(this.pos, nextCapacity(this.pos.length, id + 1), -1);
    const at = this.pos[id];
    if (at >= 0) {
      const old = this.times[at];
      this.times[at] = time;
      if (time < old) this.up(at);
      else this.down(at);
      return;
    }
    if (this.size === this.ids.length) {
      const cap = nextCapacity(this.ids.length, this.size + 1);
      this.ids = grown(this.ids, cap);
      this.times = grown(this.times, cap);
    }
    const i = this.size++;
    this.ids[i] = id;
    this.times[i] = time;
    this.pos[id] = i;
    this.up(i);
  }

  delete(id: number): void {
    const at = id < this.pos.length ? this.pos[id] : -1;
    if (at < 0) return;
    this.pos[id] = -1;
    const last = --this.size;
    if (at === last) return;
    this.ids[at] = this.ids[last];
    this.times[at] = this.times[last];
    this.pos[this.ids[at]] = at;
    this.up(at);
    this.down(at);
  }

  /** Time of the earliest entry; Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.times[0];
  }

  /** Removes and returns the earliest id (-1 when empty). */
  pop(): number {
    if (this.size === 0) return -1;
    const id = this.ids[0];
    this.delete(id);
    return id;
  }

  timeOf(id: number): number {
    const at = id < this.pos.length ? this.pos[id] : -1;
    return at < 0 ? Infinity : this.times[at];
  }

  get bytes(): number {
    return this.ids.byteLength + this.times.byteLength + this.pos.byteLength;
  }

  private up(i: number): void {
    const { ids, times, pos } = this;
    const id = ids[i];
    const t = times[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= t) break;
      ids[i] = ids[parent];
      times[i] = times[parent];
      pos[ids[i]] = i;
      i = parent;
    }
    ids[i] = id;
    times[i] = t;
    pos[id] = i;
  }

  private down(i: number): void {
    const { ids, times, pos } = this;
    const n = this.size;
    const id = ids[i];
    const t = times[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && times[c + 1] < times[c]) c++;
      if (times[c] >= t) break;
      ids[i] = ids[c];
      times[i] = times[c];
      pos[ids[i]] = i;
      i = c;
    }
    ids[i] = id;
    times[i] = t;
    pos[id] = i;
  }
}

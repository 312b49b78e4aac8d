// Time-ordered merge of a topic's partitions.
//
// Kafka orders records within a partition only; the audit needs one sweep in time
// order across all of them (a reassignment involves two clients, keyed to two
// partitions; a source's integrity chain is spread over every partition). Each
// partition is read in its own order and its items buffered here; an item is released
// once every partition still being read has shown an item at least `windowMs` later,
// so items within a partition may be out of time order by up to the window (e.g. two
// connectors' transactions interleaving). At the end (flush) everything goes.
//
// Memory: the buffer holds what the partitions ahead in time delivered while the one
// furthest behind had not caught up. Fetches are by bytes, so a denser partition falls
// behind in time and, left alone, the others' records pile up for the whole lag (which
// grows with the range read). `steer()` says which partitions to pause: those whose
// newest item is more than the window ahead of the slowest partition still being read;
// and which to resume: those no longer ahead. The reader stops fetching the paused
// ones (sweep.ts), so the buffer is bounded by the window plus about one fetch per
// partition, whatever the range. `maxBuffered` stays as a safety net: above it the
// oldest items are released anyway and anything older arriving later is counted as
// late (the consumer applies a late item at the sweep's instant and says so).
import { MinHeap } from './heap.js';

export interface MergeItem {
  /** The instant the item is ordered by (Unix ms). */
  time: number;
  partition: number;
  /** Offset within the partition (only compared between items of one partition). */
  offset: bigint;
  /** Tie-break between items of one instant (content, so the order does not depend on partitioning). */
  sort: string;
}

export interface MergeStats {
  released: number;
  /** Items that arrived after the sweep had released a later one. */
  late: number;
  /** Items released before the window closed because the buffer was full. */
  forced: number;
  /** Most items buffered at once. */
  maxBuffered: number;
  /** Times a partition was paused for being ahead (steer), and resumed. */
  pauses: number;
  resumes: number;
}

export function mergeOrder(a: MergeItem, b: MergeItem): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.sort !== b.sort) return a.sort < b.sort;
  if (a.partition !== b.partition) return a.partition < b.partition;
  return a.offset < b.offset;
}

export class TimeMerger<T extends MergeItem> {
  private readonly heap = new MinHeap<T>(mergeOrder);
  /** Latest time seen per partition still being read; partitions done are removed. */
  private readonly frontier = new Map<number, number>();
  private lastReleased = -Infinity;
  private readonly pausedSet = new Set<number>();
  private readonly counters: MergeStats = { released: 0, late: 0, forced: 0, maxBuffered: 0, pauses: 0, resumes: 0 };

  constructor(
    partitions: Iterable<number>,
    private readonly emit: (item: T) => void,
    private readonly opts: { windowMs: number; maxBuffered: number },
  ) {
    for (const p of partitions) this.frontier.set(p, -Infinity);
  }

  stats(): MergeStats {
    return { ...this.counters };
  }

  get buffered(): number {
    return this.heap.size;
  }

  /** Adds an item (items of one partition in partition order). Call release() after a batch. */
  push(item: T): void {
    const f = this.frontier.get(item.partition);
    if (f !== undefined && item.time > f) this.frontier.set(item.partition, item.time);
    if (item.time < this.lastReleased) this.counters.late++;
    this.heap.push(item);
    if (this.heap.size > this.counters.maxBuffered) this.counters.maxBuffered = this.heap.size;
  }

  /** The partition has nothing more to give. */
  done(partition: number): void {
    this.frontier.delete(partition);
    this.pausedSet.delete(partition);
  }

  /** Partitions paused by steer() and not resumed since. */
  paused(): number[] {
    return [...this.pausedSet].sort((a, b) => a - b);
  }

  /**
   * Flow control: the partitions to pause now (newest item more than the window ahead
   * of the slowest partition still being read) and to resume (paused, no longer ahead).
   * The slowest partition is never paused, so reading always moves on. A partition that
   * has delivered nothing yet counts as the slowest (-Infinity): until it has, the
   * others wait (nothing could be released anyway).
   */
  steer(): { pause: number[]; resume: number[] } {
    let slowest = Infinity;
    for (const f of this.frontier.values()) if (f < slowest) slowest = f;
    const pause: number[] = [];
    const resume: number[] = [];
    for (const [p, f] of this.frontier) {
      const ahead = f - slowest > this.opts.windowMs;
      if (ahead && !this.pausedSet.has(p)) {
        this.pausedSet.add(p);
        pause.push(p);
      } else if (!ahead && this.pausedSet.has(p)) {
        this.pausedSet.delete(p);
        resume.push(p);
      }
    }
    this.counters.pauses += pause.length;
    this.counters.resumes += resume.length;
    return { pause, resume };
  }

  /** Releases, in order, every item no partition can still precede. */
  release(): void {
    let threshold = Infinity;
    for (const f of this.frontier.values()) if (f < threshold) threshold = f;
    threshold -= this.opts.windowMs;
    for (let top = this.heap.peek(); top !== undefined && top.time < threshold; top = this.heap.peek()) this.out();
    if (this.heap.size > this.opts.maxBuffered) {
      const keep = Math.floor(this.opts.maxBuffered * 0.9);
      while (this.heap.size > keep) {
        this.counters.forced++;
        this.out();
      }
    }
  }

  /** Releases everything (every partition is done, or reading stops here). */
  flush(): void {
    while (this.heap.size > 0) this.out();
  }

  private out(): void {
    const item = this.heap.pop() as T;
    if (item.time > this.lastReleased) this.lastReleased = item.time;
    this.counters.released++;
    this.emit(item);
  }
}

/** Applies steer() to a reader's flow control (read.ts RangeFlow): pause the partitions ahead, resume the rest. */
export function steerFlow(merger: { steer(): { pause: number[]; resume: number[] } } | undefined, flow: { pause(p: readonly number[]): void; resume(p: readonly number[]): void } | undefined): void {
  if (!merger || !flow) return;
  const { pause, resume } = merger.steer();
  if (pause.length > 0) flow.pause(pause);
  if (resume.length > 0) flow.resume(resume);
}

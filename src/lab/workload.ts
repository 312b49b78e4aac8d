// The lab's workload generator: what a population of DHCPv6 clients does to a server's
// lease database. Operation k is a pure function of the seed and of the operations
// before it (never of the wall clock), so a given seed always gives the same bindings
// after the same number of operations, whatever the rate or the machine.
import type { LeaseDb } from './db.js';
import { Prng } from './prng.js';

export interface WorkloadMix {
  /** Relative weights of what a bound client does next. */
  renew: number;
  release: number;
  expire: number;
  move: number;
}

export const DEFAULT_MIX: WorkloadMix = { renew: 80, release: 8, expire: 6, move: 6 };

export interface WorkloadOptions {
  seed: number;
  /** Which clients this server serves (failover `shared` mode: all; partitioned: i % of === index). */
  partition?: { index: number; of: number };
  mix?: WorkloadMix;
}

export type BurstKind = 'rebind-all' | 'release-all' | 'expire-all';

export class Workload {
  private readonly rng: Prng;
  private readonly mix: WorkloadMix;
  private readonly mixTotal: number;
  private opCount = 0;
  private timer?: NodeJS.Timeout;
  private carry = 0;
  private lastTick = 0;

  constructor(
    private readonly db: LeaseDb,
    private readonly opts: WorkloadOptions,
  ) {
    this.rng = new Prng(opts.seed);
    this.mix = opts.mix ?? DEFAULT_MIX;
    this.mixTotal = this.mix.renew + this.mix.release + this.mix.expire + this.mix.move;
  }

  get operations(): number {
    return this.opCount;
  }

  /** PRNG state and operation count, to persist and resume the exact sequence. */
  getState(): { rng: number; ops: number } {
    return { rng: this.rng.getState(), ops: this.opCount };
  }

  setState(s: { rng: number; ops: number }): void {
    this.rng.setState(s.rng);
    this.opCount = s.ops;
  }

  /** Clients this server serves, in index order. */
  *clients(): IterableIterator<number> {
    const p = this.opts.partition;
    const n = this.db.topology.clientCount;
    if (!p || p.of <= 1) {
      for (let i = 0; i < n; i++) yield i;
      return;
    }
    for (let i = p.index; i < n; i += p.of) yield i;
  }

  /** Every client of this server binds on its home link (a server's first day). */
  populate(): number {
    let n = 0;
    for (const c of this.clients()) {
      this.db.bind(c, this.db.topology.homeLink(c));
      n++;
    }
    return n;
  }

  private pickClient(): number {
    const p = this.opts.partition;
    const n = this.db.topology.clientCount;
    if (!p || p.of <= 1) return this.rng.int(n);
    const per = Math.ceil((n - p.index) / p.of);
    return p.index + this.rng.int(per) * p.of;
  }

  /** Perform `count` operations now; returns how many binding changes they made. */
  step(count = 1): number {
    let changes = 0;
    const before = this.db.seq;
    for (let i = 0; i < count; i++) {
      this.opCount++;
      if (this.db.topology.clientCount === 0) break;
      const c = this.pickClient();
      const recs = this.db.recordsOfClient(c);
      const bound = recs.find((r) => r.addr !== null || r.prefix !== null);
      const r = this.rng.int(this.mixTotal);
      if (!bound) {
        // A client without a binding (released, expired, never seen) comes back where it last was.
        const last = recs.length ? recs.reduce((a, b) => (a.seq >= b.seq ? a : b)).link : this.db.topology.homeLink(c);
        this.db.bind(c, last);
        continue;
      }
      const m = this.mix;
      if (r < m.renew) this.db.renew(bound.key);
      else if (r < m.renew + m.release) this.db.drop(bound.key, 'release');
      else if (r < m.renew + m.release + m.expire) this.db.drop(bound.key, 'expire');
      else this.db.move(c, this.db.topology.otherLink(bound.link, this.rng.nextUint32()));
    }
    changes = this.db.seq - before;
    return changes;
  }

  /** A burst, e.g. every client rebinding at once after an outage. Returns the changes made. */
  burst(kind: BurstKind): number {
    const before = this.db.seq;
    for (const c of this.clients()) {
      for (const rec of this.db.recordsOfClient(c)) {
        const bound = rec.addr !== null || rec.prefix !== null;
        if (kind === 'rebind-all') {
          if (bound) this.db.renew(rec.key);
        } else if (bound) this.db.drop(rec.key, kind === 'release-all' ? 'release' : 'expire');
      }
      if (kind === 'rebind-all' && !this.db.recordsOfClient(c).some((r) => r.addr !== null || r.prefix !== null)) {
        this.db.bind(c, this.db.topology.homeLink(c));
      }
    }
    return this.db.seq - before;
  }

  /** Run at `rate` operations per second until stop() (ticks every `tickMs`). */
  start(rate: number, tickMs = 20): void {
    this.stop();
    if (!(rate > 0)) return;
    this.lastTick = performance.now();
    this.carry = 0;
    this.timer = setInterval(() => {
      const t = performance.now();
      // Never try to make up more than one second of lag: a stalled loop does not burst.
      this.carry = Math.min(this.carry + ((t - this.lastTick) * rate) / 1000, rate);
      this.lastTick = t;
      const n = Math.floor(this.carry);
      if (n > 0) {
        this.carry -= n;
        this.step(n);
      }
      this.db.pruneTombstones();
    }, tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }
}

// A small seeded PRNG (mulberry32) so a workload is reproducible: a given seed gives the
// same sequence on every machine and Node version (Math.random cannot be seeded).

export class Prng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that small consecutive seeds do not start in correlated states.
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** Uniform in [0, 2^32). */
  nextUint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** The internal state, to persist and resume the exact sequence after a restart. */
  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }
}

/** Derive an independent stream seed from a base seed and a stream number. */
export function deriveSeed(seed: number, stream: number): number {
  return (Math.imul(seed >>> 0, 0x01000193) ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
}

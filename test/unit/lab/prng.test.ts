import { describe, expect, it } from 'vitest';
import { Prng, deriveSeed } from '../../../src/lab/prng.js';

describe('Prng', () => {
  it('gives the same sequence for the same seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    const sb = Array.from({ length: 100 }, () => b.nextUint32());
    expect(sa).toEqual(sb);
  });

  it('gives different sequences for different seeds, including neighbouring ones', () => {
    const a = Array.from({ length: 20 }, ((p) => () => p.nextUint32())(new Prng(1)));
    const b = Array.from({ length: 20 }, ((p) => () => p.nextUint32())(new Prng(2)));
    expect(a).not.toEqual(b);
  });

  it('resumes exactly from a saved state', () => {
    const a = new Prng(9);
    for (let i = 0; i < 10; i++) a.next();
    const b = new Prng(0);
    b.setState(a.getState());
    expect(Array.from({ length: 10 }, () => b.nextUint32())).toEqual(Array.from({ length: 10 }, () => a.nextUint32()));
  });

  it('int() stays in range and is roughly uniform', () => {
    const p = new Prng(3);
    const counts = new Array(10).fill(0);
    let bad = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = p.int(10);
      if (!(v >= 0 && v < 10 && Number.isInteger(v))) bad++;
      else counts[v]++;
    }
    expect(bad).toBe(0);
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('derives distinct stream seeds', () => {
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(1, 1));
    expect(deriveSeed(1, 0)).toBe(deriveSeed(1, 0));
  });
});

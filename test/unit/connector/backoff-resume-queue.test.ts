// The small rules: reconnection back-off, the resume-point rules (RFC 7653 section 8.3),
// and the bounded per-source queue.
import { describe, expect, it } from 'vitest';
import { Backoff, QueueBudget, QueueClosedError, ResumePoint, SourceQueue } from '../../../src/connector/index.js';

describe('Backoff', () => {
  it('grows exponentially to its cap, with jitter taken off each delay, and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
    const j = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.5 }, () => 0.999999);
    expect(j.next()).toBe(50);
    expect(j.next()).toBe(100);
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.5 }, () => 0);
    expect(lo.next()).toBe(100);
  });

  it('never overflows after very many attempts', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 0.3 });
    for (let i = 0; i < 10_000; i++) expect(b.next()).toBeLessThanOrEqual(30_000);
  });
});

describe('ResumePoint', () => {
  it('starts from the stored value; the start time subtracts the margin, never below 0', () => {
    expect(new ResumePoint(null).startTime(2)).toBeUndefined();
    expect(new ResumePoint(1000).startTime(2)).toBe(998);
    expect(new ResumePoint(1).startTime(2)).toBe(0);
  });

  it('keeps the highest live base-time', () => {
    const r = new ResumePoint(1000);
    expect(r.observeLive(1005).advanced).toBe(true);
    expect(r.observeLive(1003).advanced).toBe(false);
    expect(r.value).toBe(1005);
  });

  it('does not advance while a recovery is pending; takes what it saw meanwhile once it completes', () => {
    const r = new ResumePoint(1000);
    r.freeze();
    expect(r.observeLive(2000).advanced).toBe(false);
    expect(r.value).toBe(1000);
    r.thaw();
    expect(r.value).toBe(2000);
  });

  it('a new connection drops a pending recovery (the frozen value is what the next one asks from)', () => {
    const r = new ResumePoint(1000);
    r.freeze();
    r.observeLive(2000);
    r.newConnection();
    expect(r.frozen).toBe(false);
    expect(r.value).toBe(1000);
  });

  it('follows a server clock stepped back by more than the tolerance', () => {
    const r = new ResumePoint(10_000, 300);
    r.observeLive(10_100);
    expect(r.observeLive(10_000).clockStepped).toBe(false);
    const o = r.observeLive(5_000);
    expect(o).toEqual({ advanced: true, clockStepped: true });
    expect(r.value).toBe(5_000);
    r.freeze();
    r.observeLive(5_100);
    r.observeLive(1_000);
    r.thaw();
    expect(r.value).toBe(1_000);
  });
});

describe('SourceQueue', () => {
  it('counts in-flight items against its capacity until released', async () => {
    const q = new SourceQueue<number>(3);
    expect(q.push(1)).toBeUndefined();
    expect(q.push(2)).toBeUndefined();
    const blocked = q.push(3);
    expect(blocked).toBeInstanceOf(Promise);
    let resolved = false;
    void blocked?.then(() => (resolved = true));
    expect(q.take(2)).toEqual([1, 2]);
    await Promise.resolve();
    expect(resolved).toBe(false); // taken but not committed: still counted
    expect(q.used).toBe(3);
    q.release(2);
    await Promise.resolve();
    expect(resolved).toBe(true);
    expect(q.takeOne()).toBe(3);
    expect(q.takeOne()).toBeUndefined();
  });

  it('signals readability on the first item and rejects waiting pushes when closed', async () => {
    const q = new SourceQueue<number>(1);
    let readable = 0;
    q.onReadable = () => readable++;
    const p = q.push(1);
    expect(readable).toBe(1);
    q.close('epoch ended');
    await expect(p).rejects.toBeInstanceOf(QueueClosedError);
    await expect(q.push(2)).rejects.toBeInstanceOf(QueueClosedError);
    expect(q.length).toBe(0);
  });

  it('shares a budget across sources; a source under its reserve may always push', async () => {
    const budget = new QueueBudget(4);
    const busy = new SourceQueue<number>(100, budget, 2);
    const quiet = new SourceQueue<number>(100, budget, 2);
    expect([busy.push(1), busy.push(2), busy.push(3)]).toEqual([undefined, undefined, undefined]);
    const blocked = busy.push(4); // budget full (4/4) and busy is above its reserve
    expect(blocked).toBeInstanceOf(Promise);
    expect(quiet.push(1)).toBeUndefined(); // under its reserve: room regardless (5/4)
    let resolved = false;
    void blocked?.then(() => (resolved = true));
    busy.take(2);
    busy.release(2); // 3/4 in the budget
    await Promise.resolve();
    expect(resolved).toBe(true);
    expect(budget.used).toBe(3);
    busy.close('done');
    expect(budget.used).toBe(1);
  });
});

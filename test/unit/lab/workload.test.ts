import { describe, expect, it } from 'vitest';
import { LabServer } from '../../../src/lab/index.js';
import type { DumpedBinding } from '../../../src/lab/dump.js';

/** The identity of a dump, without the instants (which follow the wall clock). */
function identity(bs: DumpedBinding[]) {
  return bs.map((b) => ({ c: b.clientId, l: b.linkAddress, a: b.addresses.map((x) => x.address), p: b.prefixes.map((x) => `${x.prefix}/${x.prefixLength}`), r: b.relayId, rid: b.remoteId }));
}

describe('lab workload', () => {
  it('same seed -> same bindings after the same operations', async () => {
    const a = await LabServer.create({ seed: 11, clients: 400, links: 5, pdRatio: 0.5 });
    const b = await LabServer.create({ seed: 11, clients: 400, links: 5, pdRatio: 0.5 });
    a.step(3000);
    // the same operations in different batch sizes (as different rates would give)
    for (let i = 0; i < 30; i++) b.step(100);
    expect(identity(b.dumpBindings({ includeReleased: true }).bindings)).toEqual(identity(a.dumpBindings({ includeReleased: true }).bindings));
    expect(b.db.seq).toBe(a.db.seq);
  });

  it('different seeds -> different populations', async () => {
    const a = await LabServer.create({ seed: 1, clients: 100, links: 5 });
    const b = await LabServer.create({ seed: 2, clients: 100, links: 5 });
    expect(identity(a.dumpBindings().bindings)).not.toEqual(identity(b.dumpBindings().bindings));
  });

  it('populates every client with a mix of IA_NA and IA_PD on several links', async () => {
    const lab = await LabServer.create({ seed: 3, clients: 1000, links: 6, pdRatio: 0.4 });
    const d = lab.dumpBindings().bindings;
    expect(d.length).toBe(1000);
    const withPd = d.filter((b) => b.prefixes.length > 0).length;
    const withNa = d.filter((b) => b.addresses.length > 0).length;
    expect(withPd).toBeGreaterThan(300);
    expect(withPd).toBeLessThan(500);
    expect(withNa).toBeGreaterThan(750);
    expect(new Set(d.map((b) => b.linkAddress)).size).toBe(6);
    expect(new Set(d.flatMap((b) => b.prefixes.map((p) => p.prefixLength))).size).toBeGreaterThan(1);
    expect(d.filter((b) => b.remoteId).length).toBeGreaterThan(800);
  });

  it('keeps a client on one link at a time through moves', async () => {
    const lab = await LabServer.create({ seed: 4, clients: 200, links: 4 });
    lab.step(5000);
    const active = lab.dumpBindings().bindings;
    expect(new Set(active.map((b) => b.clientId)).size).toBe(active.length);
  });

  it('a rebind-all burst renews every bound client and rebinds the others', async () => {
    const lab = await LabServer.create({ seed: 5, clients: 300, links: 3 });
    lab.step(500);
    const before = lab.db.seq;
    const n = lab.burst('rebind-all');
    expect(n).toBe(lab.db.seq - before);
    expect(lab.dumpBindings().bindings.length).toBe(300);
    expect(lab.burst('release-all')).toBe(300);
    expect(lab.dumpBindings().bindings.length).toBe(0);
  });

  it('partitioned servers share the clients out; shared servers see them all with independent transactions', async () => {
    const p0 = await LabServer.create({ seed: 6, clients: 100, index: 0, servers: 2, mode: 'partitioned' });
    const p1 = await LabServer.create({ seed: 6, clients: 100, index: 1, servers: 2, mode: 'partitioned' });
    const ids0 = new Set(p0.dumpBindings().bindings.map((b) => b.clientId));
    const ids1 = new Set(p1.dumpBindings().bindings.map((b) => b.clientId));
    expect(ids0.size + ids1.size).toBe(100);
    expect([...ids0].some((x) => ids1.has(x))).toBe(false);
    p0.step(500);
    expect(p0.dumpBindings({ includeReleased: true }).bindings.every((b) => !ids1.has(b.clientId))).toBe(true);

    const s0 = await LabServer.create({ seed: 6, clients: 100, index: 0, servers: 2, mode: 'shared' });
    const s1 = await LabServer.create({ seed: 6, clients: 100, index: 1, servers: 2, mode: 'shared' });
    expect(s0.serverDuid.equals(s1.serverDuid)).toBe(false);
    expect(identity(s0.dumpBindings().bindings)).toEqual(identity(s1.dumpBindings().bindings));
    s0.step(300);
    s1.step(300);
    expect(identity(s0.dumpBindings({ includeReleased: true }).bindings)).not.toEqual(identity(s1.dumpBindings({ includeReleased: true }).bindings));
  });
});

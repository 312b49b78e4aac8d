import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LabServer, createLabServers, startAdmin } from '../../../src/lab/index.js';
import { RequestorConnection, udpLeasequery } from '../../../src/leasequery/index.js';
import { dhcpTimeToUnixMs, parseIPv6 } from '../../../src/protocol/index.js';

const HOST = '::1';
const dir = mkdtempSync(join(tmpdir(), 'lqr-lab-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const strip = (d: ReturnType<LabServer['dumpBindings']>) => d.bindings;

describe('lab server', () => {
  it('saves its database on stop and loads it on start (history and workload sequence included)', async () => {
    const file = join(dir, 'state.ndjson');
    const a = await LabServer.create({ seed: 21, clients: 300, links: 4, stateFile: file, historySize: 1000 });
    a.step(400);
    const before = a.dumpBindings({ includeReleased: true });
    const seq = a.db.seq;
    const history = a.db.historySince(a.db.historyHorizon)?.map((r) => r.seq);
    await a.stop();

    const b = await LabServer.create({ seed: 999, clients: 5, stateFile: file, historySize: 1000 });
    expect(b.topologyConfig.seed).toBe(21); // the state file's topology wins
    expect(strip(b.dumpBindings({ includeReleased: true }))).toEqual(strip(before));
    expect(b.db.seq).toBe(seq);
    expect(b.db.historySince(b.db.historyHorizon)?.map((r) => r.seq)).toEqual(history);

    // The workload continues exactly where it stopped: same as a server that never stopped.
    const c = await LabServer.create({ seed: 21, clients: 300, links: 4, historySize: 1000 });
    c.step(400);
    b.step(200);
    c.step(200);
    const ids = (x: LabServer) => x.dumpBindings({ includeReleased: true }).bindings.map((y) => [y.clientId, y.linkAddress, y.addresses, y.prefixes.map((p) => p.prefix)].map((v) => JSON.stringify(v)).join(' ').replace(/"preferredUntil":\d+,"validUntil":\d+/g, ''));
    expect(ids(b)).toEqual(ids(c));
  });

  it('restarts its listeners in process with the database intact, on the same ports', async () => {
    const lab = await LabServer.create({ seed: 22, clients: 100, links: 2, host: HOST });
    const a1 = await lab.start();
    const b = lab.dumpBindings().bindings.find((x) => x.addresses.length > 0)!;
    const q = () => udpLeasequery({ type: 'address', address: parseIPv6(b.addresses[0].address) }, { host: HOST, port: a1.udpPort!, irtMs: 100, mrc: 3 });
    expect((await q()).binding?.clientDuid?.toString('hex')).toBe(b.clientId);
    const a2 = await lab.restart();
    expect(a2).toEqual(a1);
    expect((await q()).binding?.clientDuid?.toString('hex')).toBe(b.clientId);
    await lab.stop();
  });

  it('reports its own (offset) clock in OPTION_LQ_BASE_TIME', async () => {
    const offsetMs = -2 * 3600_000;
    const lab = await LabServer.create({ seed: 23, clients: 50, links: 2, host: HOST, clockOffsetMs: offsetMs });
    const addr = await lab.start();
    const b = lab.dumpBindings().bindings[0];
    const r = await udpLeasequery({ type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') }, { host: HOST, port: addr.udpPort!, irtMs: 100, mrc: 3 });
    expect(r.baseTime).toBeDefined();
    const skew = dhcpTimeToUnixMs(r.baseTime!) - r.receivedAt;
    expect(Math.abs(skew - offsetMs)).toBeLessThan(2000);
    // Bulk and active replies carry the same clock.
    const conn = await RequestorConnection.connect({ host: HOST, port: addr.tcpPort! });
    for await (const e of conn.bulk({ type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') })) {
      expect(Math.abs(dhcpTimeToUnixMs(e.baseTime!) - e.receivedAt - offsetMs)).toBeLessThan(2000);
    }
    conn.close();
    await lab.stop();
  });

  it('runs a failover pair (shared mode): both servers report the same client, each with its own DUID', async () => {
    const labs = await createLabServers(2, { seed: 24, clients: 80, links: 2, host: HOST, mode: 'shared' });
    const addrs = await Promise.all(labs.map((l) => l.start()));
    const client = Buffer.from(labs[0].dumpBindings().bindings[0].clientId, 'hex');
    const answers = await Promise.all(addrs.map((a) => udpLeasequery({ type: 'client-id', clientId: client }, { host: HOST, port: a.udpPort!, irtMs: 100, mrc: 3 })));
    expect(answers.map((r) => r.binding?.clientDuid?.toString('hex'))).toEqual([client.toString('hex'), client.toString('hex')]);
    expect(answers[0].serverDuid!.equals(answers[1].serverDuid!)).toBe(false);
    await Promise.all(labs.map((l) => l.stop()));
  });

  it('serves the ground truth over HTTP', async () => {
    const labs = await createLabServers(1, { seed: 25, clients: 20, links: 2 });
    const admin = await startAdmin(labs, '127.0.0.1', 0);
    const res = await fetch(`http://127.0.0.1:${admin.port}/bindings`);
    const body = (await res.json()) as { bindings: unknown[]; serverDuid: string };
    expect(body.bindings.length).toBe(20);
    expect(body.serverDuid).toBe(labs[0].serverDuid.toString('hex'));
    const burst = await fetch(`http://127.0.0.1:${admin.port}/burst?kind=release-all`, { method: 'POST' });
    expect(((await burst.json()) as { changes: number[] }).changes).toEqual([20]);
    expect(((await (await fetch(`http://127.0.0.1:${admin.port}/bindings`)).json()) as { bindings: unknown[] }).bindings.length).toBe(0);
    await admin.close();
  });
});

// A small HTTP endpoint beside the lab servers, for scripts and out-of-process tests:
//   GET  /bindings[?server=i][&released=1]   ground-truth dump (JSON)
//   GET  /stats                              engine counters and database sizes
//   POST /burst?kind=rebind-all|release-all|expire-all[&server=i]
//   POST /step?n=N[&server=i]                N workload operations now
import http from 'node:http';
import type { LabServer } from './lab-server.js';
import type { BurstKind } from './workload.js';

const BURSTS: readonly BurstKind[] = ['rebind-all', 'release-all', 'expire-all'];

export async function startAdmin(labs: readonly LabServer[], host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://lab');
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
    };
    const pick = (): LabServer[] | undefined => {
      const s = url.searchParams.get('server');
      if (s === null) return [...labs];
      const lab = labs[Number(s)];
      return lab ? [lab] : undefined;
    };
    const targets = pick();
    if (!targets) return send(404, { error: `no lab server ${url.searchParams.get('server')}` });
    if (req.method === 'GET' && url.pathname === '/bindings') {
      const dumps = targets.map((l) => l.dumpBindings({ includeReleased: url.searchParams.get('released') === '1' }));
      return send(200, dumps.length === 1 ? dumps[0] : dumps);
    }
    if (req.method === 'GET' && url.pathname === '/stats') {
      return send(
        200,
        targets.map((l) => ({ serverDuid: l.serverDuid.toString('hex'), listening: l.addresses, activeBindings: l.db.activeBindings, records: l.db.totalRecords, seq: l.db.seq, operations: l.workload.operations, engine: l.stats })),
      );
    }
    if (req.method === 'POST' && url.pathname === '/burst') {
      const kind = url.searchParams.get('kind') as BurstKind;
      if (!BURSTS.includes(kind)) return send(400, { error: `kind must be one of ${BURSTS.join(', ')}` });
      return send(200, { changes: targets.map((l) => l.burst(kind)) });
    }
    if (req.method === 'POST' && url.pathname === '/step') {
      const n = Number(url.searchParams.get('n') ?? '1');
      if (!Number.isInteger(n) || n < 0) return send(400, { error: 'n must be a non-negative integer' });
      return send(200, { changes: targets.map((l) => l.step(n)) });
    }
    if (url.pathname === '/healthz') return send(200, { ok: true });
    send(404, { error: 'GET /bindings, GET /stats, POST /burst?kind=..., POST /step?n=...' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as import('node:net').AddressInfo).port;
  return {
    port: actual,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

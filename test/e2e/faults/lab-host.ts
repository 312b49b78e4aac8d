// A lab process for the live clock-step scenario: the same lab servers and admin HTTP as
// `lqr lab` (createLabServers, startAdmin), plus `POST /clock?offset-s=S` on its own port,
// which steps the servers' clocks while they run (`lqr lab` sets the offset only at start,
// with --clock-offset-s, and its admin port has no clock control). Run as a separate
// process (build-child.ts compiles it); prints the same "admin HTTP on" line as `lqr lab`.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { createLabServers, startAdmin } from '../../../src/lab/index.js';
import { createLogger } from '../../../src/log.js';

const { values: v } = parseArgs({
  options: {
    port: { type: 'string' },
    'admin-port': { type: 'string' },
    'clock-port': { type: 'string' },
    clients: { type: 'string' },
    links: { type: 'string' },
    servers: { type: 'string' },
    seed: { type: 'string' },
    history: { type: 'string' },
    'pd-ratio': { type: 'string' },
    state: { type: 'string' },
    'clock-offset-s': { type: 'string' },
  },
});
const host = '::1';
const labs = await createLabServers(Number(v.servers ?? 1), {
  host,
  port: Number(v.port),
  clients: Number(v.clients ?? 1000),
  links: Number(v.links ?? 8),
  pdRatio: Number(v['pd-ratio'] ?? 0.3),
  rate: 0,
  seed: Number(v.seed ?? 1),
  historySize: Number(v.history ?? 100_000),
  clockOffsetMs: Number(v['clock-offset-s'] ?? 0) * 1000,
  mode: 'partitioned',
  stateFile: v.state,
  logger: createLogger('lab'),
});
for (const lab of labs) await lab.start();
const admin = await startAdmin(labs, host, Number(v['admin-port']));
const clock = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://lab');
  const s = Number(url.searchParams.get('offset-s'));
  if (req.method !== 'POST' || url.pathname !== '/clock' || !Number.isFinite(s)) {
    res.writeHead(400).end('POST /clock?offset-s=S\n');
    return;
  }
  for (const lab of labs) lab.db.clockOffsetMs = s * 1000;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ clockOffsetMs: s * 1000, now: labs.map((l) => l.db.now()) }) + '\n');
});
await new Promise<void>((r) => clock.listen(Number(v['clock-port']), host, () => r()));
process.stdout.write(`lab host: ${labs.length} servers from port ${v.port}; clock control on [${host}]:${v['clock-port']}\n`);
process.stdout.write(`admin HTTP on [${host}]:${admin.port}\n`);
await new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});
clock.close();
await admin.close();
for (const lab of labs) await lab.stop();
process.exit(0);

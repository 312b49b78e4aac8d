// The connector against lab servers that misbehave the way real ones do, with the real
// broker: a server restart (catch-up from the resume point), a connection cut long
// enough that the server's history no longer reaches back (DataMissing, then the
// RFC 7653 section 8.3.1 recovery bulk), a server clock two hours off, and a failover
// pair reporting the same clients. Each ends with the folded events equal to the
// servers' ground truth and every source's integrity chain intact.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLabServers, LabServer } from '../../src/lab/index.js';
import { compareMerged, compareWithDump, describeComparison, EventCollector, foldPerSource, verifyChains, waitForConvergence } from '../helpers/convergence.js';
import { harnessConfig, labSources, metricValue, startConnector, uniqueTopics, type RunningConnector } from '../helpers/connector-harness.js';
import { eventually, kafkaConfig, waitForKafka } from '../helpers/kafka.js';
import { makePki } from '../unit/leasequery/certs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function lab(opts: Parameters<typeof LabServer.create>[0]): Promise<LabServer> {
  const l = await LabServer.create(opts);
  await l.start();
  cleanups.push(() => l.stop());
  return l;
}

async function run(labs: LabServer[], prefix: string, extra: Partial<Parameters<typeof harnessConfig>[0]> = {}): Promise<{ r: RunningConnector; c: EventCollector; topics: ReturnType<typeof uniqueTopics> }> {
  const topics = uniqueTopics(prefix);
  const r = startConnector(harnessConfig({ topics, sources: labSources(labs), ...extra }));
  cleanups.push(() => r.stop());
  await eventually(() => (r.connector.status().length === labs.length && r.connector.status().every((s) => s.state === 'live') ? true : undefined), 30_000, 'sessions live');
  const c = await EventCollector.start(kafkaConfig(), topics.events);
  cleanups.push(() => c.close());
  return { r, c, topics };
}

const converged = (c: EventCollector, labs: LabServer[], label: string) =>
  Promise.all(labs.map((l, i) => waitForConvergence(() => compareWithDump(foldPerSource(c.events).get(`lab-${i}`), l.dumpBindings()), 30_000, `${label} lab-${i}: `)));

function expectChainsIntact(c: EventCollector): void {
  for (const [source, report] of verifyChains(c.events)) expect(report.problems, source).toEqual([]);
}

describe('connector and its DHCPv6 servers', () => {
  beforeAll(async () => {
    await waitForKafka();
  });

  it('a server restart: the session reconnects and catches up from its resume point', async () => {
    const l = await lab({ seed: 21, clients: 1_000, links: 4, rate: 200 });
    await sleep(3_100); // history older than the first resume point minus its margin
    const { r, c } = await run([l], 'restart');
    await sleep(1_000);
    await l.restart(1_500); // QueryTerminated, refused connections for 1.5 s, the workload goes on
    await eventually(() => (r.connector.status()[0].state === 'live' && c.sourceEvents('lab-0').some((e) => e.kind === 'catch-up-complete') ? true : undefined), 30_000, 'caught up');
    await sleep(1_000);
    l.setRate(0);
    await converged(c, [l], 'after restart');
    const kinds = c.sourceEvents('lab-0').map((e) => e.kind);
    expect(kinds).toContain('disconnected');
    expect(kinds.filter((k) => k === 'connected').length).toBeGreaterThanOrEqual(2);
    expect(kinds).not.toContain('data-missing');
    expect(c.sourceEvents('lab-0').find((e) => e.kind === 'disconnected')?.reason).toMatch(/QueryTerminated|closed/);
    expect(c.bindings('lab-0').some((p) => p.event.phase === 'catch-up')).toBe(true);
    expectChainsIntact(c);
    expect(metricValue(r.registry, 'lqr_connector_catch_ups_total', { source: 'lab-0' })).toBeGreaterThanOrEqual(1);
  });

  it('a cut longer than the server history: DataMissing, then a time-bounded recovery bulk', async () => {
    const l = await lab({ seed: 22, clients: 1_000, links: 4, historySize: 300 });
    await sleep(3_100);
    const { r, c } = await run([l], 'dm');
    l.step(200);
    await sleep(500);
    await l.stopListeners();
    l.step(2_000); // far more changes than the 300 the server remembers
    await l.start();
    l.setRate(300); // live changes while the recovery runs
    await eventually(() => (c.sourceEvents('lab-0').some((e) => e.kind === 'bulk-complete' && e.scope?.startTime !== undefined) ? true : undefined), 30_000, 'recovery complete');
    await sleep(1_000);
    l.setRate(0);
    await converged(c, [l], 'after recovery');
    const se = c.sourceEvents('lab-0');
    const dm = se.find((e) => e.kind === 'data-missing');
    expect(dm).toBeDefined();
    const started = se.find((e) => e.kind === 'bulk-started' && e.scope?.startTime !== undefined);
    const complete = se.find((e) => e.kind === 'bulk-complete' && e.resyncId === started?.resyncId);
    expect(started?.scope?.endTime).toBe(dm?.baseTime);
    expect(complete).toBeDefined();
    // The recovery answered with the bindings changed in the window, released ones included.
    const recovered = c.between('lab-0', started, complete);
    expect(recovered.length).toBeGreaterThan(300);
    expect(recovered.some((p) => p.event.addresses.length === 0 && p.event.prefixes.length === 0)).toBe(true);
    expect(metricValue(r.registry, 'lqr_connector_data_missing_total', { source: 'lab-0' })).toBe(1);
    expect(metricValue(r.registry, 'lqr_connector_recoveries_total', { source: 'lab-0', outcome: 'ok' })).toBe(1);
    expectChainsIntact(c);
  });

  it('a server clock two hours ahead: times stay in the server clock, resume works, the offset is measured', async () => {
    const l = await lab({ seed: 23, clients: 800, links: 3, clockOffsetMs: 2 * 3600_000, rate: 100 });
    await sleep(3_100);
    const { r, c } = await run([l], 'clock');
    await sleep(1_000);
    await l.restart(500);
    await eventually(() => (c.sourceEvents('lab-0').some((e) => e.kind === 'catch-up-complete') ? true : undefined), 30_000, 'caught up');
    await sleep(500);
    l.setRate(0);
    await converged(c, [l], 'clock +2h');
    const b = c.bindings('lab-0')[0].event;
    expect(b.clockOffsetMs).toBeLessThan(-2 * 3600_000 + 5_000);
    expect(b.clockOffsetMs).toBeGreaterThan(-2 * 3600_000 - 5_000);
    expect(c.sourceEvents('lab-0').map((e) => e.kind)).not.toContain('data-missing');
    const offset = metricValue(r.registry, 'lqr_connector_clock_offset_seconds', { source: 'lab-0' }) ?? 0;
    expect(Math.abs(offset + 7200)).toBeLessThan(5);
    expectChainsIntact(c);
  });

  it('STARTTLS required by the server, with a client certificate: a tls event, then the same data', async () => {
    const pki = makePki();
    cleanups.push(async () => pki.cleanup());
    const l = await lab({ seed: 25, clients: 500, links: 2, rate: 50, engine: { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true }, requireTls: true } });
    await sleep(3_100);
    const tls = { mode: 'require' as const, caFile: `${pki.dir}/ca.pem`, certFile: `${pki.dir}/client.pem`, keyFile: `${pki.dir}/client.key` };
    const { c } = await run([l], 'tls', { sources: labSources([l]).map((s) => ({ ...s, tls })) });
    await sleep(1_000);
    l.setRate(0);
    await converged(c, [l], 'tls');
    expect(c.sourceEvents('lab-0').map((e) => e.kind).slice(0, 2)).toEqual(['connected', 'tls']);
    expectChainsIntact(c);
  });

  it('a failover pair reporting the same clients: each source exact, and merged by most recent transaction', async () => {
    const pair = await createLabServers(2, { seed: 24, clients: 600, links: 3, mode: 'shared' });
    for (const l of pair) {
      await l.start();
      cleanups.push(() => l.stop());
    }
    // Each server has its own transactions over the same population.
    pair[0].step(500);
    await sleep(1_500);
    pair[1].step(500);
    const { c } = await run(pair, 'pair');
    pair[0].setRate(100);
    pair[1].setRate(100);
    await sleep(2_000);
    pair[0].setRate(0);
    pair[1].setRate(0);
    await converged(c, pair, 'pair');
    const merged = compareMerged(foldPerSource(c.events), pair.map((l, i) => ({ source: `lab-${i}`, dump: l.dumpBindings() })));
    expect(merged.equal, describeComparison(merged, 'merged: ')).toBe(true);
    // Not vacuous: a good share of the keys had one clearly newer report (under heavy
    // machine load more transactions of the two servers fall within the clocks' resolution).
    expect(merged.expected - merged.ambiguous).toBeGreaterThan(merged.expected / 4);
    expectChainsIntact(c);
  });
});

// The connector against a lab DHCPv6 server and the real broker: the initial bulk load
// (no resume point) and then live updates, converging exactly on the server's bindings,
// with one integrity chain and the checkpoint in lq.sources at its head.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabServer } from '../../src/lab/index.js';
import { compareWithDump, EventCollector, foldPerSource, readCheckpoints, verifyChains, waitForConvergence } from '../helpers/convergence.js';
import { harnessConfig, labSources, metricValue, startConnector, uniqueTopics, type RunningConnector } from '../helpers/connector-harness.js';
import { eventually, kafkaConfig, waitForKafka } from '../helpers/kafka.js';

describe('connector: initial load, then live', () => {
  let lab: LabServer;
  let running: RunningConnector | undefined;
  let collector: EventCollector | undefined;
  const topics = uniqueTopics('live');

  beforeAll(async () => {
    await waitForKafka();
    lab = await LabServer.create({ seed: 11, clients: 2_000, links: 6 });
    await lab.start();
  });

  afterAll(async () => {
    await running?.stop();
    await collector?.close();
    await lab?.stop();
  });

  it('loads every binding by bulk leasequery, then follows live changes exactly', async () => {
    const cfg = harnessConfig({ topics, sources: labSources([lab]) });
    running = startConnector(cfg);
    await eventually(() => (running?.connector.status()[0]?.state === 'live' ? true : undefined), 30_000, 'session live');
    collector = await EventCollector.start(kafkaConfig(), topics.events);
    const c1 = collector;
    await waitForConvergence(() => compareWithDump(foldPerSource(c1.events).get('lab-0'), lab.dumpBindings()), 30_000, 'after initial load: ');
    const se = c1.sourceEvents('lab-0');
    const initial = c1.between('lab-0', se.find((e) => e.kind === 'bulk-started'), se.find((e) => e.kind === 'bulk-complete'));
    expect(initial.length).toBe(lab.dumpBindings().bindings.length);
    expect(initial.every((p) => p.event.phase === 'bulk')).toBe(true);

    // Live: a burst of changes of every kind, then a steady workload, then quiet.
    lab.step(3_000);
    lab.setRate(500);
    await new Promise((r) => setTimeout(r, 2_000));
    lab.setRate(0);
    await waitForConvergence(() => compareWithDump(foldPerSource(c1.events).get('lab-0'), lab.dumpBindings()), 30_000, 'after live changes: ');
    expect(c1.bindings('lab-0').some((p) => p.event.phase === 'live')).toBe(true);

    const kinds = c1.sourceEvents('lab-0').map((e) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['connected', 'bulk-started', 'bulk-complete']);
    const started = c1.sourceEvents('lab-0').find((e) => e.kind === 'bulk-started');
    expect(started?.scope?.linkAddresses).toHaveLength(6);
    expect(started?.scope?.startTime).toBeUndefined();
    // The bulk markers are on every partition of lq.events.
    const markerPartitions = new Set(c1.events.filter((p) => p.event.type === 'source' && p.event.kind === 'bulk-complete').map((p) => p.partition));
    expect(markerPartitions.size).toBe(3);

    // Metrics of the run.
    const reg = running.registry;
    expect(metricValue(reg, 'lqr_connector_source_state', { source: 'lab-0', state: 'live' })).toBe(1);
    expect(metricValue(reg, 'lqr_connector_events_total', { source: 'lab-0', type: 'binding-bulk' })).toBeGreaterThanOrEqual(2_000);
    expect(metricValue(reg, 'lqr_connector_events_total', { source: 'lab-0', type: 'binding-live' })).toBeGreaterThan(0);
    expect(metricValue(reg, 'lqr_connector_received_bytes_total', { source: 'lab-0' })).toBeGreaterThan(100_000);
    expect(metricValue(reg, 'lqr_connector_transactions_total', { outcome: 'committed' })).toBeGreaterThan(0);
    expect(metricValue(reg, 'lqr_connector_transaction_seconds_count')).toBeGreaterThan(0);
    expect(Math.abs(metricValue(reg, 'lqr_connector_clock_offset_seconds', { source: 'lab-0' }) ?? 99)).toBeLessThan(2);
    expect(running.connector.ready()).toMatchObject({ ok: true });

    // One chain, no gaps, no duplicates; the checkpoint is at its head.
    await running.stop();
    running = undefined;
    await new Promise((r) => setTimeout(r, 500));
    const chains = verifyChains(c1.events);
    const chain = chains.get('lab-0');
    expect(chain?.problems).toEqual([]);
    const cps = await readCheckpoints(kafkaConfig(), topics.sources);
    const cp = cps.get('lab-0') as { chainHead: { seq: number; hash: string }; resumePoint: number; initialLoadDone: boolean };
    expect(cp.chainHead).toEqual({ seq: chain?.lastSeq, hash: chain?.lastHash });
    expect(cp.initialLoadDone).toBe(true);
    expect(typeof cp.resumePoint).toBe('number');
  });

});

// The broker goes away and comes back (same data directory, same ports) while the
// connector runs and the lab server keeps changing bindings. The connector must not
// buffer without bound while Kafka is down, must recover (crash-only: sessions restart
// from the committed checkpoints) once it is back, and converge exactly, chain intact.
// This file starts a broker of its own (deploy/kafka/launcher.ts), not the run's one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJava, freePort, launchLocalKafka, type LaunchingKafka } from '../../deploy/kafka/launcher.js';
import { kafkaSettingsFromEnv, parseBrokerList } from '../../src/kafka/index.js';
import { LabServer } from '../../src/lab/index.js';
import { compareWithDump, EventCollector, foldPerSource, verifyChains, waitForConvergence } from '../helpers/convergence.js';
import { harnessConfig, labSources, metricValue, startConnector, uniqueTopics, type RunningConnector } from '../helpers/connector-harness.js';
import { eventually, waitForKafka } from '../helpers/kafka.js';

const haveJava = (() => {
  try {
    findJava();
    return process.env.KAFKA_BROKERS === undefined || process.env.KAFKA_BROKERS === '';
  } catch {
    return false;
  }
})();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(haveJava)('connector: the broker restarts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lqr-restart-kafka-'));
  let ports: { broker: number; controller: number };
  let broker: LaunchingKafka | undefined;
  let lab: LabServer;
  let running: RunningConnector | undefined;
  let collector: EventCollector | undefined;

  const launch = async () => {
    broker = await launchLocalKafka({ dataDir, keepData: true, brokerPort: ports.broker, controllerPort: ports.controller, heapMb: 384 });
    await broker.ready;
  };

  beforeAll(async () => {
    await waitForKafka(); // the run's broker is up: the two JVMs do not start at once
    ports = { broker: await freePort(), controller: await freePort() };
    await launch();
    lab = await LabServer.create({ seed: 41, clients: 1_000, links: 4, rate: 100 });
    await lab.start();
  }, 180_000);

  afterAll(async () => {
    await running?.stop();
    await collector?.close();
    await lab?.stop();
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('recovers and converges after the broker was down', async () => {
    const brokers = `127.0.0.1:${ports.broker}`;
    const settings = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(brokers) });
    const topics = uniqueTopics('brk');
    await sleep(3_100);
    running = startConnector(harnessConfig({ topics, brokers, sources: labSources([lab]), batch: { sourceQueue: 2_000 } }));
    const r = running;
    await eventually(() => (r.connector.status()[0]?.state === 'live' && r.connector.ready().ok ? true : undefined), 60_000, 'live and ready');

    await broker?.stop();
    // Down for a while, with changes flowing: the queue stays bounded, readiness goes.
    await eventually(() => (!r.connector.ready().ok ? true : undefined), 90_000, 'not ready while Kafka is down');
    const queued = metricValue(r.registry, 'lqr_connector_queue_events', { source: 'lab-0' }) ?? 0;
    expect(queued).toBeLessThanOrEqual(2_001);
    await sleep(2_000);
    await launch();
    await eventually(() => (r.connector.ready().ok && r.connector.status()[0]?.state === 'live' ? true : undefined), 120_000, 'ready again');
    await sleep(1_000);
    lab.setRate(0);
    collector = await EventCollector.start(settings, topics.events);
    const c = collector;
    await waitForConvergence(() => compareWithDump(foldPerSource(c.events).get('lab-0'), lab.dumpBindings()), 60_000);
    expect(verifyChains(c.events).get('lab-0')?.problems).toEqual([]);
  }, 300_000);
});

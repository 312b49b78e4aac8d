// The broker goes away and comes back while a replica serves (issue 6: "broker restart
// while serving: no wrong answer, and readiness reflects the truth"). The lab server, a
// connector and a replica run against a broker of this file's own (deploy/kafka
// launcher), so it can be stopped and started on the same data and ports.
//
// - Before: the replica converges with the lab's ground truth and is ready.
// - Broker down (the lab is quiet, so the truth is known): /readyz-level readiness goes
//   false within a few lag polls, the leasequery port keeps answering from the last
//   committed state, and every answer still equals the lab's.
// - Broker back, changes flowing again: the replica reconnects, is ready again, and
//   converges binding by binding with the lab.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJava, freePort, launchLocalKafka, type LaunchingKafka } from '../../deploy/kafka/launcher.js';
import { kafkaSettingsFromEnv, parseBrokerList } from '../../src/kafka/index.js';
import { LabServer } from '../../src/lab/index.js';
import { udpLeasequery } from '../../src/leasequery/requestor/index.js';
import { parseIPv6 } from '../../src/protocol/index.js';
import { Replica } from '../../src/replica/index.js';
import { compareViewWithDump, waitForConvergence } from '../helpers/convergence.js';
import { harnessConfig, labSources, startConnector, uniqueTopics, type RunningConnector } from '../helpers/connector-harness.js';
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

describe.runIf(haveJava)('replica: the broker restarts while it serves', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lqr-replica-restart-kafka-'));
  const replicaDir = mkdtempSync(join(tmpdir(), 'lqr-replica-restart-data-'));
  let ports: { broker: number; controller: number };
  let broker: LaunchingKafka | undefined;
  let lab: LabServer;
  let running: RunningConnector | undefined;
  let replica: Replica | undefined;

  const launch = async () => {
    broker = await launchLocalKafka({ dataDir, keepData: true, brokerPort: ports.broker, controllerPort: ports.controller, heapMb: 384 });
    await broker.ready;
  };

  beforeAll(async () => {
    await waitForKafka(); // the run's broker is up: the two JVMs do not start at once
    ports = { broker: await freePort(), controller: await freePort() };
    await launch();
    lab = await LabServer.create({ seed: 43, clients: 600, links: 3, pdRatio: 0.3, rate: 60 });
    await lab.start();
  }, 180_000);

  afterAll(async () => {
    await replica?.stop({ snapshot: false });
    await running?.stop();
    await lab?.stop();
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(replicaDir, { recursive: true, force: true });
  }, 120_000);

  /** UDP answers by address from the replica equal the lab's own answers, for a sample of bindings. */
  const answersMatchLab = async (n: number) => {
    const sample = lab.dumpBindings().bindings.filter((b) => b.addresses.length > 0).slice(0, n);
    for (const b of sample) {
      const spec = { type: 'address' as const, address: parseIPv6(b.addresses[0].address) };
      const opts = { host: '::1', irtMs: 200, mrc: 4 };
      const [l, r] = await Promise.all([udpLeasequery(spec, { ...opts, port: lab.addresses!.udpPort }), udpLeasequery(spec, { ...opts, port: replica!.listening!.udpPort })]);
      expect(r.status).toBe(l.status);
      expect(r.binding?.clientDuid?.toString('hex')).toBe(l.binding?.clientDuid?.toString('hex'));
    }
    return sample.length;
  };

  it('keeps answering from the last committed state, says not ready while the broker is away, and converges after', async () => {
    const brokers = `127.0.0.1:${ports.broker}`;
    const topics = uniqueTopics('rbrk');
    running = startConnector(harnessConfig({ topics, brokers, sources: labSources([lab]) }));
    const r = running;
    await eventually(() => (r.connector.status()[0]?.state === 'live' && r.connector.ready().ok ? true : undefined), 60_000, 'connector live');
    const kafka = kafkaSettingsFromEnv({}, { brokers: parseBrokerList(brokers) });
    replica = new Replica({ kafka, topic: topics.events, dataDir: replicaDir, udpPort: 0, lagPollMs: 200, snapshotIntervalMs: 0, backoffMinMs: 200, backoffMaxMs: 1_000 });
    await replica.start();
    const rep = replica;
    await eventually(() => (rep.status().ready ? true : undefined), 60_000, 'replica ready');

    // Quiet the lab so the truth stays put, converge, then take the broker away.
    lab.setRate(0);
    await waitForConvergence(() => compareViewWithDump(rep.projection, lab.dumpBindings()), 30_000, 'before: ');
    await broker?.stop();
    await eventually(() => (!rep.status().ready && !rep.status().connected ? true : undefined), 30_000, 'not ready while the broker is down');
    // Still serving, and every answer right: its state is the last committed one, which is the truth.
    expect(await answersMatchLab(40)).toBe(40);
    expect(compareViewWithDump(rep.projection, lab.dumpBindings()).equal).toBe(true);
    await sleep(1_500);
    expect(rep.status().ready).toBe(false);

    // Back, with changes flowing while it reconnects.
    lab.setRate(60);
    await launch();
    await eventually(() => (rep.status().ready && rep.status().connected ? true : undefined), 120_000, 'ready again');
    await sleep(3_000);
    lab.setRate(0);
    const c = await waitForConvergence(() => compareViewWithDump(rep.projection, lab.dumpBindings()), 90_000, 'after: ');
    expect(c.equal).toBe(true);
    expect(await answersMatchLab(40)).toBe(40);
  }, 360_000);
});

// A connector that dies in the middle of a Kafka transaction (records sent, commit
// never sent) and a new instance with the same id taking over, against the real
// broker: the new producer's initialization aborts the open transaction (its records
// stay invisible to read_committed readers), fences the old instance, reads the
// checkpoints and resumes every session from them. Afterwards the events equal the
// server's bindings, each chain is complete with no event twice, and the old instance
// stops with ProducerFencedError. (The out-of-process SIGKILL variant is in
// test/e2e/connector-sigkill.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connector, kafkaCheckpointLoader, prepareTopics, transactionalIdOf, type TransactionSink } from '../../src/connector/index.js';
import { connectRequestor } from '../../src/connector/index.js';
import { ProducerFencedError, TransactionalProducer, readToEnd } from '../../src/kafka/index.js';
import { LabServer } from '../../src/lab/index.js';
import { silentLogger } from '../../src/log.js';
import { Registry } from '../../src/metrics/index.js';
import { compareWithDump, EventCollector, foldPerSource, readCheckpoints, verifyChains, waitForConvergence } from '../helpers/convergence.js';
import { harnessConfig, labSources, startConnector, uniqueTopics, type RunningConnector } from '../helpers/connector-harness.js';
import { eventually, kafkaConfig, waitForKafka } from '../helpers/kafka.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A real transactional producer that, once told to, sends a transaction's records and then hangs before committing. */
async function crashableSink(settings: ReturnType<typeof kafkaConfig>, transactionalId: string) {
  const producer = await TransactionalProducer.connect(settings, { transactionalId });
  const state = { crash: false, hung: false, release: () => undefined as void };
  const sink: TransactionSink = {
    async commit(records) {
      await producer.transact(async (tx) => {
        tx.add(records);
        if (!state.crash) return;
        await tx.flush(); // in the log, inside an open transaction
        state.hung = true;
        await new Promise<void>((r) => (state.release = r));
      });
    },
    close: () => producer.disconnect(),
  };
  return { sink, state };
}

describe('connector: crash mid-transaction, another instance takes over', () => {
  let lab: LabServer;
  let collector: EventCollector | undefined;
  let successor: RunningConnector | undefined;
  const topics = uniqueTopics('takeover');

  beforeAll(async () => {
    await waitForKafka();
    lab = await LabServer.create({ seed: 31, clients: 1_500, links: 4, rate: 400 });
    await lab.start();
  });

  afterAll(async () => {
    await successor?.stop();
    await collector?.close();
    await lab?.stop();
  });

  it('loses nothing and commits nothing twice', async () => {
    await sleep(3_100);
    const cfg = harnessConfig({ id: `takeover-${process.pid}`, topics, sources: labSources([lab]), batch: { maxEvents: 200 } });
    const settings = cfg.kafka;
    const { sink, state } = await crashableSink(settings, transactionalIdOf(cfg.id));
    const old = new Connector(cfg, {
      connectSink: async () => sink,
      loadCheckpoints: kafkaCheckpointLoader(settings),
      prepareTopics: () => prepareTopics(settings, silentLogger),
      connect: connectRequestor,
      registry: new Registry(),
      logger: silentLogger,
    });
    const oldDone = old.start();
    oldDone.catch(() => undefined);
    await eventually(() => (old.status()[0]?.state === 'live' ? true : undefined), 30_000, 'old instance live');
    // Crash once live events are being committed (the initial load is behind us).
    await eventually(async () => ((await readCheckpoints(kafkaConfig(), topics.sources)).get('lab-0')?.resumePoint ? true : undefined), 60_000, 'resume point committed');
    await sleep(500);
    state.crash = true;
    await eventually(() => (state.hung ? true : undefined), 10_000, 'transaction open and hung');
    const cpBefore = (await readCheckpoints(kafkaConfig(), topics.sources)).get('lab-0') as { chainHead: { seq: number }; resumePoint: number };

    // The successor: same id, so its producer's initialization aborts the hung transaction.
    successor = startConnector(cfg);
    await eventually(() => (successor?.connector.status()[0]?.state === 'live' ? true : undefined), 30_000, 'successor live');
    state.release();
    await expect(oldDone).rejects.toBeInstanceOf(ProducerFencedError);
    expect(old.health().ok).toBe(false);

    await sleep(1_500);
    lab.setRate(0);
    collector = await EventCollector.start(kafkaConfig(), topics.events);
    const c = collector;
    await waitForConvergence(() => compareWithDump(foldPerSource(c.events).get('lab-0'), lab.dumpBindings()), 30_000);
    const chain = verifyChains(c.events).get('lab-0');
    expect(chain?.problems).toEqual([]);
    // The successor continued the chain from the committed head (not from the aborted batch)
    // and resumed with a catch-up from the committed resume point, not a new initial load.
    expect(chain?.lastSeq).toBeGreaterThan(cpBefore.chainHead.seq);
    const after = c.sourceEvents('lab-0').filter((e) => (e.chain?.seq ?? 0) > cpBefore.chainHead.seq);
    expect(after.map((e) => e.kind).slice(0, 2)).toEqual(['connected', 'catch-up-started']);
    // The aborted transaction's records are in the log, invisible to read_committed readers.
    let uncommitted = 0;
    await readToEnd(kafkaConfig(), { topic: topics.events, isolation: 'read_uncommitted' }, (b) => {
      uncommitted += b.messages.length;
    });
    expect(uncommitted).toBeGreaterThan(c.events.length);
  });
});

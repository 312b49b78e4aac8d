// The connector's crash-only supervision with fakes of Kafka and the requestor: a
// failed transaction restarts every session from the checkpoints (re-read), fencing
// stops it for good, and the probes say why.
import { describe, expect, it } from 'vitest';
import { resolveConnectorConfig } from '../../../src/config/index.js';
import { Connector, decodeCheckpoint, type SourceCheckpoint } from '../../../src/connector/index.js';
import { ProducerFencedError, type ProducerRecord } from '../../../src/kafka/index.js';
import { silentLogger } from '../../../src/log.js';
import { Registry } from '../../../src/metrics/index.js';
import { FakeLink, MemorySink, binding, catchUpComplete, until } from './fakes.js';

function setup() {
  const cfg = resolveConnectorConfig(
    {
      id: 't',
      kafka: { brokers: ['127.0.0.1:1'] },
      session: { backoff: { initialMs: 1, maxMs: 5, jitter: 0 } },
      sources: [
        { name: 'a', host: '::1', scopes: { links: ['2001:db8:1::1'] } },
        { name: 'b', host: '::1', scopes: { links: ['2001:db8:1::1'] } },
      ],
    },
    {},
  );
  // "Kafka": the committed checkpoints survive sink instances.
  const committed: ProducerRecord[] = [];
  const sinks: MemorySink[] = [];
  let loads = 0;
  let fenceNext = false;
  const links: FakeLink[] = [];
  const connector = new Connector(cfg, {
    connectSink: async () => {
      if (fenceNext) throw new ProducerFencedError('lqr-connector-t');
      const s = new MemorySink();
      const commit = s.commit.bind(s);
      s.commit = async (records) => {
        await commit(records);
        committed.push(...records);
      };
      sinks.push(s);
      return s;
    },
    loadCheckpoints: async () => {
      loads++;
      const m = new Map<string, SourceCheckpoint>();
      for (const r of committed) if (r.topic === cfg.kafka.topics.sources.name) m.set(String(r.key), decodeCheckpoint(String(r.key), r.value as Buffer));
      return m;
    },
    prepareTopics: async () => ({ eventsPartitions: 2 }),
    connect: async () => {
      const l = new FakeLink();
      l.onBulk = (c) => {
        c.stream.push(binding(1, 'bulk', 1000), { kind: 'done', status: 0, statusMessage: '', baseTime: 1000, receivedAt: 0 });
        c.stream.end();
      };
      l.onActive = (c) => c.stream.push(catchUpComplete(1001));
      links.push(l);
      return l;
    },
    registry: new Registry(),
    logger: silentLogger,
  });
  return { connector, sinks, links, committed, loads: () => loads, fence: () => (fenceNext = true) };
}

describe('Connector supervision', () => {
  it('runs a session per source and reports ready once checkpoints are loaded and Kafka answered', async () => {
    const t = setup();
    expect(t.connector.ready().ok).toBe(false);
    const done = t.connector.start();
    await until(() => t.connector.status().length === 2 && t.connector.status().every((s) => s.state === 'live'), 2000, 'both live');
    expect(t.connector.ready()).toMatchObject({ ok: true, reasons: [] });
    expect(t.connector.health().ok).toBe(true);
    await until(() => t.committed.some((r) => r.key === 'b'));
    await t.connector.stop();
    await done;
    // Graceful stop: the sessions' disconnected events were committed.
    const kinds = t.committed.filter((r) => r.topic === 'lq.events').map((r) => JSON.parse(String(r.value)) as { type: string; kind?: string });
    expect(kinds.filter((e) => e.kind === 'disconnected')).toHaveLength(2);
    expect(t.sinks[0].closed).toBe(true);
  });

  it('a failed transaction restarts every session from the re-read checkpoints (crash-only)', async () => {
    const t = setup();
    const done = t.connector.start();
    await until(() => t.connector.status().length === 2 && t.connector.status().every((s) => s.state === 'live'));
    await until(() => t.committed.some((r) => r.key === 'a') && t.committed.some((r) => r.key === 'b'));
    expect(t.loads()).toBe(1);
    const linksBefore = t.links.length;
    t.sinks[0].fail = new Error('NOT_ENOUGH_REPLICAS');
    // Something to commit: a live binding on source a's connection.
    t.links[0].activeCalls[0]?.stream.push(binding(2, 'live', 1002));
    await until(() => t.loads() === 2, 3000, 'checkpoints re-read');
    expect(t.sinks[0].closed).toBe(true);
    await until(() => t.connector.status().length === 2 && t.connector.status().every((s) => s.state === 'live'), 3000, 'live again');
    // The new sessions resumed from the committed resume point: no second initial load.
    const newLinks = t.links.slice(linksBefore);
    expect(newLinks.every((l) => l.bulkCalls.length === 0)).toBe(true);
    expect(newLinks[0].activeCalls[0].extras?.startTime).toBeGreaterThan(0);
    await t.connector.stop();
    await done;
  });

  it('fencing stops the connector: done rejects, /healthz fails', async () => {
    const t = setup();
    const done = t.connector.start();
    await until(() => t.connector.status().length === 2 && t.connector.status().every((s) => s.state === 'live'));
    t.fence();
    t.sinks[0].fail = new ProducerFencedError('lqr-connector-t');
    t.links[0].activeCalls[0]?.stream.push(binding(2, 'live', 1002));
    await expect(done).rejects.toBeInstanceOf(ProducerFencedError);
    expect(t.connector.health()).toMatchObject({ ok: false });
    expect(t.connector.ready().ok).toBe(false);
  });
});

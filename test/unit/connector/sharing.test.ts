// Sharing the sources among connector instances, with fakes of Kafka and of the group:
// the sticky slot assignment, instances that take slots over from each other (resuming
// from the committed checkpoints, fencing the previous owner's producer), a revoked slot
// stopping at once, a fenced slot not stopping the process, and the configuration.
import { describe, expect, it } from 'vitest';
import { resolveConnectorConfig, type ConnectorConfig } from '../../../src/config/index.js';
import { Connector, decodeCheckpoint, slotOf, type AssignmentListener, type SlotAssignment, type SourceCheckpoint, type TransactionSink } from '../../../src/connector/index.js';
import { ProducerFencedError, stickyAssign, type ProducerRecord } from '../../../src/kafka/index.js';
import { silentLogger } from '../../../src/log.js';
import { Registry } from '../../../src/metrics/index.js';
import { FakeLink, binding, catchUpComplete, until } from './fakes.js';
import { metricValue } from '../../helpers/connector-harness.js';

describe('stickyAssign', () => {
  const total = (m: Map<string, number[]>) => [...m.values()].flat().sort((a, b) => a - b);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  it('balances fresh members and covers every slot once', () => {
    const m = stickyAssign([{ memberId: 'b', owned: [] }, { memberId: 'a', owned: [] }, { memberId: 'c', owned: [] }], 12);
    expect(total(m)).toEqual(range(12));
    expect([...m.values()].map((x) => x.length)).toEqual([4, 4, 4]);
  });

  it('keeps what members own; only the departed member’s slots move', () => {
    const before = stickyAssign([{ memberId: 'a', owned: [] }, { memberId: 'b', owned: [] }, { memberId: 'c', owned: [] }], 12);
    const after = stickyAssign([{ memberId: 'a', owned: before.get('a') ?? [] }, { memberId: 'c', owned: before.get('c') ?? [] }], 12);
    expect(total(after)).toEqual(range(12));
    for (const id of ['a', 'c']) for (const s of before.get(id) ?? []) expect(after.get(id)).toContain(s);
    expect([...after.values()].map((x) => x.length)).toEqual([6, 6]);
    // A newcomer takes a fair share, and nobody else loses more than the surplus.
    const joined = stickyAssign([{ memberId: 'a', owned: after.get('a') ?? [] }, { memberId: 'c', owned: after.get('c') ?? [] }, { memberId: 'd', owned: [] }], 12);
    expect(total(joined)).toEqual(range(12));
    expect(joined.get('d')).toHaveLength(4);
    expect((joined.get('a') ?? []).every((s) => (after.get('a') ?? []).includes(s))).toBe(true);
  });

  it('resolves a slot claimed twice, ignores claims out of range, and handles more members than slots', () => {
    const m = stickyAssign([{ memberId: 'a', owned: [0, 1, 99] }, { memberId: 'b', owned: [1, 2] }], 4);
    expect(total(m)).toEqual(range(4));
    expect(m.get('a')).toContain(0);
    expect(m.get('a')).toContain(1);
    expect(m.get('b')).toContain(2);
    const many = stickyAssign(['a', 'b', 'c', 'd', 'e'].map((memberId) => ({ memberId, owned: [] })), 3);
    expect(total(many)).toEqual(range(3));
    expect([...many.values()].filter((x) => x.length === 0)).toHaveLength(2);
  });
});

/** "Kafka": committed records, and per transactional id the current producer epoch (a newer producer fences older ones). */
class FakeKafka {
  readonly committed: ProducerRecord[] = [];
  readonly epochs = new Map<string, number>();
  sinkOpens: string[] = [];

  sink(id: string): TransactionSink & { fencedCommits: number } {
    const epoch = (this.epochs.get(id) ?? 0) + 1;
    this.epochs.set(id, epoch);
    this.sinkOpens.push(id);
    const { epochs, committed } = this;
    return {
      fencedCommits: 0,
      async commit(records) {
        if (epochs.get(id) !== epoch) {
          this.fencedCommits++;
          throw new ProducerFencedError(id);
        }
        committed.push(...records);
      },
      async close() {},
    };
  }

  checkpoints(topic: string, partitions?: number[]): Map<string, SourceCheckpoint> {
    const m = new Map<string, SourceCheckpoint>();
    for (const r of this.committed) {
      if (r.topic !== topic) continue;
      if (partitions && !partitions.includes(r.partition as number)) continue;
      m.set(String(r.key), decodeCheckpoint(String(r.key), r.value as Buffer));
    }
    return m;
  }
}

/** The group, in memory: the test says who owns which slots. */
class FakeAssignment implements SlotAssignment {
  listener?: AssignmentListener;
  joins = 0;
  isFresh = true;
  stopped = false;
  async start(listener: AssignmentListener): Promise<void> {
    this.listener = listener;
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.listener?.assigned([]);
  }
  fresh(): boolean {
    return this.isFresh;
  }
  give(slots: number[]): void {
    this.listener?.assigned(slots, { joins: ++this.joins });
  }
}

const SOURCES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];

function config(): ConnectorConfig {
  return resolveConnectorConfig(
    {
      id: 'x',
      kafka: { brokers: ['127.0.0.1:1'] },
      session: { backoff: { initialMs: 1, maxMs: 5, jitter: 0 } },
      sharing: { group: 'g', slots: 4, sessionTimeoutMs: 6_000 },
      sources: SOURCES.map((name, i) => ({ name, host: '::1', port: 1000 + i, scopes: { links: ['2001:db8:1::1'] } })),
    },
    {},
  );
}

function instance(kafka: FakeKafka, cfg: ConnectorConfig, name: string) {
  const assignment = new FakeAssignment();
  const links: { source: string; link: FakeLink }[] = [];
  const registry = new Registry();
  const connector = new Connector(cfg, {
    connectSink: async (slot) => kafka.sink(`lqr-connector-g-${slot}`),
    loadCheckpoints: async (opts) => kafka.checkpoints(cfg.kafka.topics.sources.name, opts?.partitions),
    prepareTopics: async () => ({ eventsPartitions: 2 }),
    connect: async (opts) => {
      const source = { name: SOURCES[(opts.port ?? 0) - 1000] };
      const l = new FakeLink();
      l.onBulk = (c) => {
        c.stream.push(binding(1, 'bulk', 1000), { kind: 'done', status: 0, statusMessage: '', baseTime: 1000, receivedAt: 0 });
        c.stream.end();
      };
      l.onActive = (c) => c.stream.push(catchUpComplete(1001));
      links.push({ source: source.name, link: l });
      return l;
    },
    registry,
    logger: silentLogger.child({ instance: name }),
    assignment,
  });
  const done = connector.start();
  done.catch(() => undefined);
  const openLinks = (source: string) => links.filter((l) => l.source === source && !l.link.closed).length;
  return { connector, assignment, links, done, registry, openLinks };
}

const live = (c: Connector, names: string[]) => {
  const st = c.status();
  return names.every((n) => st.find((s) => s.name === n)?.state === 'live');
};

describe('Connector sharing (fake group and Kafka)', () => {
  const cfg = config();
  const slotOfName = (n: string) => slotOf(n, 4);
  const inSlots = (slots: number[]) => SOURCES.filter((s) => slots.includes(slotOfName(s)));

  it('the configuration: lq.sources gets one partition per slot; a different count is an error', () => {
    expect(cfg.kafka.topics.sources.partitions).toBe(4);
    expect(cfg.sharing).toMatchObject({ group: 'g', slots: 4, heartbeatIntervalMs: 1_000, rebalanceTimeoutMs: 30_000 });
    expect(() =>
      resolveConnectorConfig({ id: 'x', kafka: { brokers: ['h:1'], topics: { sources: { partitions: 3 } } }, sharing: { group: 'g', slots: 4 }, sources: [{ name: 'a', host: 'h' }] }, {}),
    ).toThrow(/must equal sharing.slots/);
    expect(() => resolveConnectorConfig({ id: 'x', kafka: { brokers: ['h:1'] }, sharing: { group: 'g', sessionTimeoutMs: 6000, heartbeatIntervalMs: 3000 }, sources: [{ name: 'a', host: 'h' }] }, {})).toThrow(/a third of sessionTimeoutMs/);
    // Without sharing nothing changes.
    const alone = resolveConnectorConfig({ id: 'x', kafka: { brokers: ['h:1'] }, sources: [{ name: 'a', host: 'h' }] }, {});
    expect(alone.sharing).toBeUndefined();
    expect(alone.kafka.topics.sources.partitions).toBe(1);
  });

  it('serves exactly the sources of its slots, one producer per slot, checkpoints in the slot partition', async () => {
    const kafka = new FakeKafka();
    const a = instance(kafka, cfg, 'a');
    await until(() => a.assignment.listener !== undefined, 2000, 'joined');
    a.assignment.give([0, 1, 2, 3]);
    await until(() => live(a.connector, SOURCES), 3000, 'all live');
    expect(a.connector.status().map((s) => s.name)).toEqual(SOURCES);
    expect(new Set(kafka.sinkOpens)).toEqual(new Set([...new Set(SOURCES.map(slotOfName))].map((s) => `lqr-connector-g-${s}`)));
    await until(() => SOURCES.every((n) => kafka.checkpoints(cfg.kafka.topics.sources.name).has(n)), 3000, 'checkpoints');
    for (const r of kafka.committed.filter((r) => r.topic === cfg.kafka.topics.sources.name)) expect(r.partition).toBe(slotOfName(String(r.key)));
    expect(a.connector.sharing()).toMatchObject({ group: 'g', owned: [0, 1, 2, 3], joined: true });
    expect(metricValue(a.registry, 'lqr_connector_assigned_slots')).toBe(4);
    expect(metricValue(a.registry, 'lqr_connector_assigned_sources')).toBe(8);
    expect(a.connector.ready().ok).toBe(true);
    await a.connector.stop();
    expect(a.assignment.stopped).toBe(true);
  });

  it('a slot moving to another instance: revoked at once here, resumed there from the committed checkpoints; a zombie is fenced, not crashed', async () => {
    const kafka = new FakeKafka();
    const a = instance(kafka, cfg, 'a');
    const b = instance(kafka, cfg, 'b');
    await until(() => a.assignment.listener !== undefined && b.assignment.listener !== undefined);
    a.assignment.give([0, 1, 2, 3]);
    b.assignment.give([]);
    await until(() => live(a.connector, SOURCES), 3000, 'a live');
    await until(() => SOURCES.every((n) => kafka.checkpoints(cfg.kafka.topics.sources.name).get(n)?.resumePoint), 3000, 'resume points');
    const bulksBefore = a.links.reduce((n, l) => n + l.link.bulkCalls.length, 0);

    // Rebalance: b takes slots 2 and 3. b learns first (the group's answers race), so a is briefly a zombie for them.
    const moved = inSlots([2, 3]);
    const kept = inSlots([0, 1]);
    b.assignment.give([2, 3]);
    await until(() => live(b.connector, moved), 3000, 'b live');
    // b's sessions resumed (catch-up from the checkpoint), no initial load.
    const bLinks = b.links.map((l) => l.link);
    expect(bLinks.every((l) => l.bulkCalls.length === 0)).toBe(true);
    expect(bLinks.every((l) => (l.activeCalls[0]?.extras?.startTime ?? 0) > 0)).toBe(true);
    // The zombie's next commit in a moved slot is fenced: the slot stops there, the process does not.
    expect(moved.length).toBeGreaterThan(0);
    for (const z of a.links.filter((l) => moved.includes(l.source) && !l.link.closed)) z.link.activeCalls[0]?.stream.push(binding(7, 'live', 1005));
    await until(() => moved.every((n) => !a.connector.status().some((s) => s.name === n)), 3000, 'zombie slot stopped');
    expect(metricValue(a.registry, 'lqr_connector_slot_fenced_total')).toBeGreaterThanOrEqual(1);
    expect(a.connector.health().ok).toBe(true);

    // a learns its new assignment: the other moved slot stops at once, the kept ones keep running.
    a.assignment.give([0, 1]);
    await until(() => moved.every((n) => a.openLinks(n) === 0), 3000, 'a closed the moved sessions');
    expect(a.connector.status().map((s) => s.name)).toEqual(kept);
    expect(live(a.connector, kept)).toBe(true);
    // Exactly one instance has a session open to each source.
    for (const n of SOURCES) expect(a.openLinks(n) + b.openLinks(n)).toBe(1);
    expect(a.links.reduce((n, l) => n + l.link.bulkCalls.length, 0)).toBe(bulksBefore);
    expect(metricValue(b.registry, 'lqr_connector_slots_moved_total', { direction: 'in' })).toBe(2);
    expect(metricValue(a.registry, 'lqr_connector_slots_moved_total', { direction: 'out' })).toBe(2);
    expect(metricValue(b.registry, 'lqr_connector_slot_start_seconds_count')).toBe(moved.length > 0 ? new Set(moved.map(slotOfName)).size : 0);

    // b's commits continue each moved source's chain from the committed head.
    const heads = new Map<string, number>();
    for (const r of kafka.committed.filter((r) => r.topic === cfg.kafka.topics.sources.name)) {
      const cp = decodeCheckpoint(String(r.key), r.value as Buffer);
      const prev = heads.get(cp.source) ?? 0;
      expect(cp.chainHead.seq).toBeGreaterThanOrEqual(prev);
      heads.set(cp.source, cp.chainHead.seq);
    }
    await Promise.all([a.connector.stop(), b.connector.stop()]);
    await a.done;
    await b.done;
  });

  it('membership not current: a slot waits before initializing its producer (cannot fence the rightful owner)', async () => {
    const kafka = new FakeKafka();
    const a = instance(kafka, cfg, 'a');
    await until(() => a.assignment.listener !== undefined);
    a.assignment.isFresh = false;
    a.assignment.give([0]);
    await new Promise((r) => setTimeout(r, 300));
    expect(kafka.sinkOpens).toEqual([]);
    expect(a.connector.ready().ok).toBe(false);
    a.assignment.isFresh = true;
    await until(() => kafka.sinkOpens.length === 1, 2000, 'producer initialized');
    expect(kafka.sinkOpens).toEqual(['lqr-connector-g-0']);
    // Membership lost: everything stops.
    a.assignment.give([]);
    await until(() => a.connector.status().length === 0, 2000, 'released');
    await a.connector.stop();
  });
});

// The publisher with an in-memory transaction sink: batching limits, one chain per
// source across batches, a checkpoint per touched source in the same transaction,
// bulk markers on every partition, round-robin fairness, failures that advance nothing.
import { describe, expect, it } from 'vitest';
import { decodeEvent, emptyChainHead, verifyLink, SCHEMA_VERSION, type LqEvent, type SourceEvent } from '../../../src/events/index.js';
import { Publisher, SourceQueue, decodeCheckpoint, noopPublisherMetrics, type QueueItem } from '../../../src/connector/index.js';
import { silentLogger } from '../../../src/log.js';
import { partitionForKey as partitionOf } from '../../../src/kafka/index.js';
import { MemorySink, until } from './fakes.js';

const sourceEvent = (name: string, kind: SourceEvent['kind'], extra: Partial<SourceEvent> = {}): LqEvent => ({
  type: 'source',
  schemaVersion: SCHEMA_VERSION,
  source: { name, serverDuid: null },
  kind,
  at: 1,
  baseTime: null,
  ...extra,
});

const item = (event: LqEvent | null, resumePoint: number | null = 100): QueueItem => ({ event, resumePoint, initialLoadDone: true, receivedAt: Date.now() });

function setup(opts: { maxEvents?: number; partitions?: number; sources?: string[]; maxDelayMs?: number; capacity?: number } = {}) {
  const sink = new MemorySink();
  const commits: number[] = [];
  const p = new Publisher({
    sink,
    eventsTopic: 'ev',
    sourcesTopic: 'src',
    eventsPartitions: opts.partitions ?? 3,
    maxEvents: opts.maxEvents ?? 100,
    maxBytes: 1 << 24,
    maxDelayMs: opts.maxDelayMs ?? 0,
    metrics: noopPublisherMetrics,
    logger: silentLogger,
    onCommit: (n) => commits.push(n),
  });
  const queues = new Map<string, SourceQueue<QueueItem>>();
  for (const name of opts.sources ?? ['a']) {
    const q = new SourceQueue<QueueItem>(opts.capacity ?? 10_000);
    queues.set(name, q);
    p.addSource(name, q, { learnedScopes: () => ({ linkAddresses: [`link-of-${name}`], relayIds: [] }), serverDuid: () => null }, emptyChainHead());
  }
  const run = p.run();
  run.catch(() => undefined);
  return { sink, p, queues, run, commits };
}

const eventsOf = (sink: MemorySink) => sink.records('ev').map((r) => ({ ...r, event: decodeEvent(r.value as Buffer) }));

describe('Publisher', () => {
  it('writes events and the touched sources\' checkpoints in one transaction, chained per source', async () => {
    const { sink, p, queues, run } = setup({ sources: ['a', 'b'] });
    const a = queues.get('a') as SourceQueue<QueueItem>;
    const b = queues.get('b') as SourceQueue<QueueItem>;
    a.push(item(sourceEvent('a', 'connected'), 10));
    a.push(item(sourceEvent('a', 'catch-up-started'), 11));
    b.push(item(sourceEvent('b', 'connected'), 20));
    await until(() => p.committedEvents === 3);
    a.push(item(sourceEvent('a', 'catch-up-complete'), 12));
    await until(() => p.committedEvents === 4);
    p.stop();
    await run;
    const evs = eventsOf(sink);
    const seqA = evs.filter((e) => e.event.source.name === 'a').map((e) => e.event.chain?.seq);
    expect(seqA).toEqual([1, 2, 3]);
    expect(evs.every((e) => verifyLink(e.event))).toBe(true);
    expect(evs.find((e) => e.event.source.name === 'a' && e.event.chain?.seq === 2)?.event.chain?.prev).toBe(evs.find((e) => e.event.source.name === 'a' && e.event.chain?.seq === 1)?.event.chain?.hash);
    // Every transaction holds the checkpoint of each source it touched, with the last item's resume point and the new head.
    for (const tx of sink.transactions) {
      const touched = new Set(tx.filter((r) => r.topic === 'ev').map((r) => decodeEvent(r.value as Buffer).source.name));
      const cps = tx.filter((r) => r.topic === 'src').map((r) => decodeCheckpoint(String(r.key), r.value as Buffer));
      expect(new Set(cps.map((c) => c.source))).toEqual(touched);
      for (const cp of cps) {
        const last = tx.filter((r) => r.topic === 'ev').map((r) => decodeEvent(r.value as Buffer)).filter((e) => e.source.name === cp.source).pop();
        expect(cp.chainHead).toEqual({ seq: last?.chain?.seq, hash: last?.chain?.hash });
        expect(cp.learnedScopes.linkAddresses).toEqual([`link-of-${cp.source}`]);
      }
    }
    const lastA = sink.transactions[sink.transactions.length - 1].find((r) => r.topic === 'src' && r.key === 'a');
    expect(decodeCheckpoint('a', lastA?.value as Buffer).resumePoint).toBe(12);
    expect(p.heads().get('a')?.seq).toBe(3);
  });

  it('respects maxEvents and keeps queue room until the commit', async () => {
    const { sink, p, queues, run } = setup({ maxEvents: 10 });
    const q = queues.get('a') as SourceQueue<QueueItem>;
    sink.hold = true;
    for (let i = 0; i < 35; i++) q.push(item(sourceEvent('a', 'connected'), i));
    await until(() => q.length < 35);
    // One batch in flight (held), the next one built: 20 taken, all still counted.
    await until(() => q.length === 15);
    expect(q.used).toBe(35);
    sink.hold = false;
    sink.release();
    await until(() => p.committedEvents === 35);
    expect(sink.transactions.map((t) => t.filter((r) => r.topic === 'ev').length)).toEqual([10, 10, 10, 5]);
    expect(q.used).toBe(0);
    p.stop();
    await run;
  });

  it('writes bulk markers to every partition of lq.events', async () => {
    const { sink, p, queues, run } = setup({ partitions: 4 });
    const scope = { linkAddresses: ['2001:db8::1'], relayIds: [] };
    queues.get('a')?.push(item(sourceEvent('a', 'bulk-started', { resyncId: 'r1', scope })));
    queues.get('a')?.push(item(sourceEvent('a', 'bulk-complete', { resyncId: 'r1', scope })));
    queues.get('a')?.push(item(sourceEvent('a', 'connected')));
    await until(() => p.committedEvents === 3);
    p.stop();
    await run;
    const evs = eventsOf(sink);
    const started = evs.filter((e) => e.event.type === 'source' && e.event.kind === 'bulk-started');
    expect(started.map((e) => e.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(new Set(started.map((e) => String(e.value))).size).toBe(1);
    // Other events: the partition Kafka's default partitioner gives their key.
    expect(evs.filter((e) => e.event.type === 'source' && e.event.kind === 'connected').map((e) => e.partition)).toEqual([partitionOf('source:a', 4)]);
  });

  it('writes a checkpoint for a checkpoint-only item (resume point moved without an event)', async () => {
    const { sink, p, queues, run } = setup();
    queues.get('a')?.push(item(null, 4242));
    await until(() => sink.transactions.length === 1);
    p.stop();
    await run;
    expect(sink.records('ev')).toHaveLength(0);
    expect(decodeCheckpoint('a', sink.records('src')[0].value as Buffer)).toMatchObject({ resumePoint: 4242, chainHead: { seq: 0 } });
  });

  it('serves sources round-robin: a backlog of one does not delay another', async () => {
    const { sink, p, queues, run } = setup({ maxEvents: 10, sources: ['busy', 'quiet'] });
    sink.hold = true;
    const busy = queues.get('busy') as SourceQueue<QueueItem>;
    busy.push(item(sourceEvent('busy', 'connected')));
    await until(() => busy.length === 0);
    for (let i = 0; i < 100; i++) busy.push(item(sourceEvent('busy', 'connected')));
    queues.get('quiet')?.push(item(sourceEvent('quiet', 'connected')));
    sink.hold = false;
    sink.release();
    await until(() => p.committedEvents === 102);
    p.stop();
    await run;
    // The quiet source's event is in the first or second transaction, not after the busy backlog.
    const txOfQuiet = sink.transactions.findIndex((t) => t.some((r) => r.topic === 'ev' && decodeEvent(r.value as Buffer).source.name === 'quiet'));
    expect(txOfQuiet).toBeLessThanOrEqual(1);
  });

  it('a failed transaction ends run() with its error; heads and queue room do not advance', async () => {
    const { sink, p, queues, run } = setup();
    const q = queues.get('a') as SourceQueue<QueueItem>;
    q.push(item(sourceEvent('a', 'connected')));
    await until(() => p.committedEvents === 1);
    sink.fail = new Error('broker down');
    q.push(item(sourceEvent('a', 'catch-up-started')));
    await expect(run).rejects.toThrow('broker down');
    expect(p.heads().get('a')?.seq).toBe(1);
    expect(q.used).toBe(1);
  });

  it('stop() commits what is queued, then resolves', async () => {
    const { sink, p, queues, run } = setup({ maxDelayMs: 50 });
    for (let i = 0; i < 5; i++) queues.get('a')?.push(item(sourceEvent('a', 'connected')));
    p.stop();
    await run;
    expect(sink.records('ev')).toHaveLength(5);
  });
});

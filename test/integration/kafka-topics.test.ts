// ensureTopics: lq.events / lq.sources created with the configured layout, and an
// existing topic that does not match is a typed error naming the difference.
import { beforeAll, describe, expect, it } from 'vitest';
import { KafkaAdmin, TopicConfigMismatchError, ensureTopics, type KafkaSettings } from '../../src/kafka/index.js';
import { createTopic, kafkaConfig, uniqueTopic, waitForKafka } from '../helpers/kafka.js';

let base: KafkaSettings;

beforeAll(async () => {
  await waitForKafka();
  base = kafkaConfig();
});

function settingsWith(events: { name: string; partitions?: number; retentionMs?: number }, sources: { name: string; partitions?: number }): KafkaSettings {
  return {
    ...base,
    topics: {
      events: { ...base.topics.events, ...events },
      sources: { ...base.topics.sources, ...sources },
    },
  };
}

async function withAdmin<T>(fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
  const admin = await KafkaAdmin.connect(base);
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

describe('ensureTopics', () => {
  it('creates lq.events (delete, kept forever) and lq.sources (compacted) as configured, then accepts them as they are', async () => {
    const events = uniqueTopic('lq.events');
    const sources = uniqueTopic('lq.sources');
    const settings = settingsWith({ name: events, partitions: 3 }, { name: sources });
    expect(base.topics.events.retentionMs).toBe(-1);

    const first = await ensureTopics(settings);
    expect(first.created.sort()).toEqual([events, sources].sort());
    expect(first.warnings).toEqual([]);

    await withAdmin(async (admin) => {
      expect(await admin.partitionCount(events)).toBe(3);
      expect(await admin.partitionCount(sources)).toBe(1);
      expect(await admin.topicConfigs(events, ['cleanup.policy', 'retention.ms', 'retention.bytes'])).toEqual({
        'cleanup.policy': 'delete',
        'retention.ms': '-1',
        'retention.bytes': '-1',
      });
      expect(await admin.topicConfigs(sources, ['cleanup.policy'])).toEqual({ 'cleanup.policy': 'compact' });
    });

    const second = await ensureTopics(settings);
    expect(second.created).toEqual([]);
    expect(second.existing.sort()).toEqual([events, sources].sort());
    expect(second.warnings).toEqual([]);
  });

  it('an existing lq.events with another partition count is an error naming it', async () => {
    const events = uniqueTopic('lq.events');
    const sources = uniqueTopic('lq.sources');
    await ensureTopics(settingsWith({ name: events, partitions: 3 }, { name: sources }));
    const err = await ensureTopics(settingsWith({ name: events, partitions: 6 }, { name: sources })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicConfigMismatchError);
    expect(err).toMatchObject({ topic: events, setting: 'partitions', expected: '6', actual: '3' });
    expect((err as Error).message).toContain(events);
  });

  it('an existing lq.sources that is not compacted is an error naming it', async () => {
    const events = uniqueTopic('lq.events');
    const sources = await createTopic(uniqueTopic('lq.sources'), { partitions: 1, configs: { 'cleanup.policy': 'delete' } });
    const err = await ensureTopics(settingsWith({ name: events, partitions: 2 }, { name: sources })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicConfigMismatchError);
    expect(err).toMatchObject({ topic: sources, setting: 'cleanup.policy', expected: 'compact', actual: 'delete' });
  });

  it('an existing lq.events with another retention only warns (operators may bound it on purpose)', async () => {
    const events = await createTopic(uniqueTopic('lq.events'), { partitions: 2, configs: { 'retention.ms': '86400000' } });
    const sources = uniqueTopic('lq.sources');
    const res = await ensureTopics(settingsWith({ name: events, partitions: 2 }, { name: sources }));
    expect(res.created).toEqual([sources]);
    expect(res.warnings).toHaveLength(1);
    expect(res.warnings[0]).toContain('retention.ms=86400000');
  });

  it('end offsets of new topics are zero', async () => {
    const topic = await createTopic(uniqueTopic('offsets'), { partitions: 3 });
    await withAdmin(async (admin) => {
      expect(await admin.topicOffsets(topic)).toEqual([
        { partition: 0, earliest: 0n, end: 0n },
        { partition: 1, earliest: 0n, end: 0n },
        { partition: 2, earliest: 0n, end: 0n },
      ]);
    });
  });
});

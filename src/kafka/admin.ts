// Topic administration and offset look-ups.
import type { Admin, Kafka } from 'kafkajs';
import { ConfigResourceTypes } from './kafkajs.js';
import { silentLogger, type Logger } from '../log.js';
import type { KafkaSettings } from './config.js';
import { createKafka } from './client.js';
import { KafkaLayerError, TopicConfigMismatchError, TopicNotFoundError, mapKafkaError } from './errors.js';

/** A topic as this project wants it. */
export interface TopicSpec {
  name: string;
  partitions: number;
  /** Unset = min(3, brokers in the cluster). */
  replicationFactor?: number;
  /** Topic configs set at creation (e.g. {"cleanup.policy": "compact"}). */
  configs?: Record<string, string>;
  /** Configs an existing topic must have with exactly these values (partition count is always checked). */
  mustMatch?: string[];
  /** Configs that, when different on an existing topic, only produce a warning. */
  shouldMatch?: string[];
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
  /** Differences that were tolerated (e.g. another retention.ms), one sentence each. */
  warnings: string[];
}

/** Per-partition offsets of a topic. */
export interface PartitionOffsets {
  partition: number;
  /** Log start offset (the earliest offset still stored). */
  earliest: bigint;
  /**
   * End offset for read_committed readers: the last stable offset (LSO), i.e. one past
   * the last offset a read_committed consumer can read now. It equals the high
   * watermark when no transaction is open on the partition, and stays below it while
   * one is. (kafkajs issues ListOffsets with isolation level READ_COMMITTED.)
   */
  end: bigint;
}

/** The two topics of the project, from settings. */
export function projectTopicSpecs(settings: KafkaSettings): TopicSpec[] {
  const { events, sources } = settings.topics;
  const withIsr = (c: Record<string, string>, isr: number | undefined) => (isr ? { ...c, 'min.insync.replicas': String(isr) } : c);
  return [
    {
      name: events.name,
      partitions: events.partitions,
      replicationFactor: events.replicationFactor,
      configs: withIsr(
        { 'cleanup.policy': 'delete', 'retention.ms': String(events.retentionMs), 'retention.bytes': '-1' },
        events.minInsyncReplicas,
      ),
      mustMatch: ['cleanup.policy'],
      shouldMatch: ['retention.ms'],
    },
    {
      name: sources.name,
      partitions: sources.partitions,
      replicationFactor: sources.replicationFactor,
      configs: withIsr({ 'cleanup.policy': 'compact' }, sources.minInsyncReplicas),
      mustMatch: ['cleanup.policy'],
    },
  ];
}

/** A connected admin client. Close it when done. */
export class KafkaAdmin {
  private constructor(
    private readonly admin: Admin,
    private readonly logger: Logger,
  ) {}

  static async connect(settings: KafkaSettings, opts: { logger?: Logger; kafka?: Kafka } = {}): Promise<KafkaAdmin> {
    const logger = opts.logger ?? silentLogger;
    const admin = (opts.kafka ?? createKafka(settings, { logger })).admin();
    try {
      await admin.connect();
    } catch (err) {
      throw mapKafkaError('connect admin', err);
    }
    return new KafkaAdmin(admin, logger);
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  async listTopics(): Promise<string[]> {
    return this.call('list topics', () => this.admin.listTopics());
  }

  /** Partition count of a topic; TopicNotFoundError when it does not exist. */
  async partitionCount(topic: string): Promise<number> {
    const topics = await this.listTopics();
    if (!topics.includes(topic)) throw new TopicNotFoundError(topic);
    const md = await this.call('fetch topic metadata', () => this.admin.fetchTopicMetadata({ topics: [topic] }));
    return md.topics[0]?.partitions.length ?? 0;
  }

  /** Current values of the named topic configs. */
  async topicConfigs(topic: string, names: string[]): Promise<Record<string, string>> {
    const res = await this.call('describe configs', () =>
      this.admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
      }),
    );
    const out: Record<string, string> = {};
    for (const entry of res.resources[0]?.configEntries ?? []) out[entry.configName] = entry.configValue;
    return out;
  }

  async brokerCount(): Promise<number> {
    const cluster = await this.call('describe cluster', () => this.admin.describeCluster());
    return cluster.brokers.length;
  }

  /**
   * Create the topics that are missing and check the ones that exist. An existing
   * topic with another partition count or another value of a `mustMatch` config is a
   * TopicConfigMismatchError naming the difference; `shouldMatch` differences are
   * logged and returned as warnings.
   */
  async ensureTopics(specs: TopicSpec[]): Promise<EnsureTopicsResult> {
    const result: EnsureTopicsResult = { created: [], existing: [], warnings: [] };
    const present = new Set(await this.listTopics());
    const missing = specs.filter((s) => !present.has(s.name));
    if (missing.length > 0) {
      const defaultRf = Math.min(3, await this.brokerCount());
      await this.call('create topics', () =>
        this.admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: s.replicationFactor ?? defaultRf,
            configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
        }),
      );
      for (const s of missing) {
        result.created.push(s.name);
        this.logger.info({ topic: s.name, partitions: s.partitions, configs: s.configs }, 'created topic');
      }
    }
    // Verify every topic, the ones just created included (another process may have won the race).
    for (const spec of specs) {
      if (!missing.includes(spec)) result.existing.push(spec.name);
      const count = await this.partitionCount(spec.name);
      if (count !== spec.partitions) {
        throw new TopicConfigMismatchError(spec.name, 'partitions', String(spec.partitions), String(count));
      }
      const checked = [...(spec.mustMatch ?? []), ...(spec.shouldMatch ?? [])];
      if (checked.length === 0) continue;
      const actual = await this.topicConfigs(spec.name, checked);
      for (const name of spec.mustMatch ?? []) {
        const want = spec.configs?.[name];
        if (want !== undefined && actual[name] !== want) {
          throw new TopicConfigMismatchError(spec.name, name, want, actual[name] ?? '(unset)');
        }
      }
      for (const name of spec.shouldMatch ?? []) {
        const want = spec.configs?.[name];
        if (want !== undefined && actual[name] !== want) {
          const warning = `topic "${spec.name}" has ${name}=${actual[name] ?? '(unset)'} (configured: ${want}); keeping the topic's value`;
          result.warnings.push(warning);
          this.logger.warn({ topic: spec.name, setting: name, expected: want, actual: actual[name] }, warning);
        }
      }
    }
    return result;
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await this.call('delete topics', () => this.admin.deleteTopics({ topics }));
  }

  /** Earliest and end (last stable) offsets of every partition of a topic. */
  async topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const rows = await this.call('fetch topic offsets', () => this.admin.fetchTopicOffsets(topic));
    return rows
      .map((r) => ({ partition: r.partition, earliest: BigInt(r.low), end: BigInt(r.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** End offsets (last stable offsets, see PartitionOffsets.end) by partition. */
  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    return new Map((await this.topicOffsets(topic)).map((p) => [p.partition, p.end]));
  }

  /**
   * For each partition, the offset of the first record whose timestamp is >= `timestampMs`
   * (ListOffsets by time); partitions with no such record give their end offset.
   */
  async offsetsForTimestamp(topic: string, timestampMs: number): Promise<Map<number, bigint>> {
    const rows = await this.call('fetch offsets by timestamp', () => this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs));
    return new Map(rows.map((r) => [r.partition, BigInt(r.offset)]));
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KafkaLayerError) throw err;
      if ((err as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw mapKafkaError(`${operation} (unknown topic or partition)`, err);
      }
      throw mapKafkaError(operation, err);
    }
  }
}

/** Connect, create or verify lq.events and lq.sources as configured, disconnect. */
export async function ensureTopics(settings: KafkaSettings, opts: { logger?: Logger } = {}): Promise<EnsureTopicsResult> {
  const admin = await KafkaAdmin.connect(settings, opts);
  try {
    return await admin.ensureTopics(projectTopicSpecs(settings));
  } finally {
    await admin.close();
  }
}

/** Connect, read the end offsets (last stable offsets) of a topic, disconnect. */
export async function endOffsets(settings: KafkaSettings, topic: string, opts: { logger?: Logger } = {}): Promise<Map<number, bigint>> {
  const admin = await KafkaAdmin.connect(settings, opts);
  try {
    return await admin.endOffsets(topic);
  } finally {
    await admin.close();
  }
}

// Kafka for tests: the run's broker (from test/global-setup.ts via inject), settings
// for src/kafka, unique topic names, and a topic maker.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { KafkaAdmin, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings, type KafkaSettingsInput } from '../../src/kafka/index.js';

interface KafkaStatus {
  state: 'starting' | 'ready' | 'failed' | 'skipped';
  brokers?: string;
  error?: string;
}

function readStatus(): KafkaStatus {
  try {
    return JSON.parse(readFileSync(inject('kafkaStatusFile'), 'utf8')) as KafkaStatus;
  } catch {
    return { state: 'starting' };
  }
}

/**
 * Wait until the run's broker accepts transactional writes (call it in beforeAll).
 * A cold first run resolves Kafka's jars from Maven Central first, hence the bound.
 */
export async function waitForKafka(timeoutMs = 290_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const parent = process.ppid;
  for (;;) {
    // An interrupted run can leave this worker behind: stop waiting once the runner is gone.
    if (process.ppid !== parent) throw new Error('the test runner exited while waiting for Kafka');
    const status = readStatus();
    if (status.state === 'ready') return;
    if (status.state === 'failed') throw new Error(`the test Kafka broker did not start: ${status.error}`);
    if (status.state === 'skipped') throw new Error(`no Kafka broker in this run: ${status.error}`);
    if (Date.now() > deadline) throw new Error(`the test Kafka broker was not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Bootstrap servers of the run's broker. */
export function kafkaBrokers(): string {
  const brokers = inject('kafkaBrokers');
  if (!brokers) throw new Error('no Kafka broker in this run');
  return brokers;
}

/** Settings for src/kafka: the run's broker, plus KAFKA_SSL/KAFKA_SASL_* from the environment. */
export function kafkaConfig(overrides: Partial<KafkaSettingsInput> = {}): KafkaSettings {
  return kafkaSettingsFromEnv(process.env, { brokers: parseBrokerList(kafkaBrokers()), clientId: 'lqr-test', ...overrides });
}

let counter = 0;

/** A topic name no other test (in this run or an earlier one on the same cluster) uses. */
export function uniqueTopic(prefix = 'test'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${randomBytes(4).toString('hex')}`;
}

/** Create a topic (replication factor 1 unless given) and return its name. */
export async function createTopic(
  name: string,
  opts: { partitions?: number; configs?: Record<string, string>; replicationFactor?: number } = {},
): Promise<string> {
  const admin = await KafkaAdmin.connect(kafkaConfig());
  try {
    await admin.ensureTopics([{ name, partitions: opts.partitions ?? 1, replicationFactor: opts.replicationFactor ?? 1, configs: opts.configs }]);
  } finally {
    await admin.close();
  }
  return name;
}

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

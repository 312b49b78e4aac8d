// Readiness probe: does the cluster really take transactional, acks=all writes?
// Used by the local broker launcher (deploy/kafka) before it reports "ready".
import { randomUUID } from 'node:crypto';
import { Partitioners } from './kafkajs.js';
import { silentLogger, type Logger } from '../log.js';
import { parseKafkaSettings, type KafkaSettingsInput } from './config.js';
import { createKafka } from './client.js';

export const PROBE_TOPIC = '__lqr_probe';

export interface ProbeResult {
  ok: boolean;
  /** What failed, when not ok. */
  error?: string;
}

/**
 * One probe attempt: metadata, create the probe topic if missing, one transactional
 * (idempotent, acks=all) write committed, the topic's end offset moved past it, and
 * the group coordinator answering. This also brings up the transaction and group
 * coordinators, so the first real transaction or consumer group does not pay for
 * them. Never throws.
 */
export async function probeKafka(input: KafkaSettingsInput, opts: { logger?: Logger; timeoutMs?: number } = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const settings = parseKafkaSettings({ connectionTimeoutMs: 2_000, requestTimeoutMs: timeoutMs, ...input });
  const kafka = createKafka(settings, { logger: opts.logger ?? silentLogger, clientId: 'lqr-probe', retries: 2 });
  const admin = kafka.admin();
  const producer = kafka.producer({
    transactionalId: `lqr-probe-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 10_000,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: { retries: 3 },
  });
  const attempt = async (): Promise<ProbeResult> => {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(PROBE_TOPIC)) {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: PROBE_TOPIC, numPartitions: 1, replicationFactor: 1 }] });
    }
    const before = await admin.fetchTopicOffsets(PROBE_TOPIC);
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic: PROBE_TOPIC, acks: -1, messages: [{ key: 'probe', value: new Date().toISOString() }] });
    await tx.commit();
    const after = await admin.fetchTopicOffsets(PROBE_TOPIC);
    // Bring the group coordinator up too (this creates __consumer_offsets), so that
    // the first consumer group does not meet "coordinator not available".
    await admin.describeGroups(['lqr-probe']);
    const b = BigInt(before[0]?.high ?? '0');
    const a = BigInt(after[0]?.high ?? '0');
    return a > b ? { ok: true } : { ok: false, error: `probe write not visible (end offset ${b} -> ${a})` };
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      attempt(),
      new Promise<ProbeResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: `probe timed out after ${timeoutMs} ms` }), timeoutMs);
      }),
    ]);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    if (timer) clearTimeout(timer);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

// The Kafka side of the publisher: a transactional producer (idempotent, acks=all) under
// the connector's transactional id, and the topic layout it needs.
import { KafkaAdmin, ProducerFencedError, TransactionalProducer, projectTopicSpecs, type KafkaSettings } from '../kafka/index.js';
import type { Logger } from '../log.js';
import type { TransactionSink } from './publisher.js';

/** "lqr-connector-<id>": a second connector with the same id fences this one (and vice versa). */
export const transactionalIdOf = (connectorId: string): string => `lqr-connector-${connectorId}`;

/** Sharing: "lqr-connector-<group>-<slot>": whoever owns the work slot holds it; a new owner fences the previous one. */
export const slotTransactionalIdOf = (group: string, slot: number): string => `lqr-connector-${group}-${slot}`;

/** Sharing: the consumer group the instances divide the work slots in. */
export const sharingGroupIdOf = (group: string): string => `lqr-connector-${group}`;

/**
 * Connect the producer. Initializing the transactional id fences any older instance
 * and completes or aborts a transaction it left open, which is why this runs BEFORE
 * the checkpoints are read.
 */
export async function connectKafkaSink(
  settings: KafkaSettings,
  opts: { transactionalId: string; transactionTimeoutMs: number; compression?: 'none' | 'gzip'; logger: Logger },
): Promise<TransactionSink & { readonly fenced: boolean }> {
  const producer = await TransactionalProducer.connect(settings, {
    transactionalId: opts.transactionalId,
    transactionTimeoutMs: opts.transactionTimeoutMs,
    compression: opts.compression,
    logger: opts.logger,
  });
  return {
    async commit(records) {
      await producer.commitBatch(records);
    },
    close: () => producer.disconnect(),
    get fenced() {
      return producer.fenced;
    },
  };
}

/** Create or verify lq.events and lq.sources; the partition count of lq.events. */
export async function prepareTopics(settings: KafkaSettings, logger: Logger): Promise<{ eventsPartitions: number }> {
  const admin = await KafkaAdmin.connect(settings, { logger });
  try {
    const r = await admin.ensureTopics(projectTopicSpecs(settings));
    if (r.created.length > 0) logger.info({ topics: r.created }, 'created topics');
    return { eventsPartitions: await admin.partitionCount(settings.topics.events.name) };
  } finally {
    await admin.close();
  }
}

export { ProducerFencedError };

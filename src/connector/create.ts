// A connector wired to the real world: Kafka (producer, checkpoints, topics, and with
// sharing the consumer group of work slots) and TCP requestor connections. Tests of the
// state machine use Connector directly.
import type { ConnectorConfig } from '../config/index.js';
import { SlotGroupMember } from '../kafka/index.js';
import type { Logger } from '../log.js';
import type { Registry } from '../metrics/index.js';
import { kafkaCheckpointLoader } from './checkpoint.js';
import { Connector } from './connector.js';
import { connectRequestor, type Connect } from './requestor.js';
import type { SlotAssignment } from './sharing.js';
import { connectKafkaSink, prepareTopics, sharingGroupIdOf, slotTransactionalIdOf, transactionalIdOf } from './sink.js';

/** Sharing: the Kafka consumer group that assigns this instance its work slots (the partitions of lq.sources). */
export function kafkaSlotAssignment(cfg: ConnectorConfig, logger: Logger): SlotAssignment {
  const sh = cfg.sharing;
  if (!sh) throw new Error('kafkaSlotAssignment needs a configuration with sharing');
  const member = new SlotGroupMember(cfg.kafka, {
    groupId: sharingGroupIdOf(sh.group),
    topic: cfg.kafka.topics.sources.name,
    slots: sh.slots,
    sessionTimeoutMs: sh.sessionTimeoutMs,
    heartbeatIntervalMs: sh.heartbeatIntervalMs,
    rebalanceTimeoutMs: sh.rebalanceTimeoutMs,
    clientId: `lqr-connector-${cfg.id}`,
    logger,
  });
  return {
    start: (listener, owned) => member.start({ assigned: (slots, info) => listener.assigned(slots, { joins: info.joins }) }, owned),
    stop: () => member.stop(),
    fresh: () => member.fresh(),
  };
}

export function createConnector(cfg: ConnectorConfig, opts: { registry: Registry; logger: Logger; connect?: Connect; assignment?: SlotAssignment }): Connector {
  const { kafka } = cfg;
  const logger = opts.logger;
  const sharing = cfg.sharing;
  return new Connector(cfg, {
    connectSink: (slot?: number) =>
      connectKafkaSink(kafka, {
        transactionalId: sharing && slot !== undefined ? slotTransactionalIdOf(sharing.group, slot) : transactionalIdOf(cfg.id),
        transactionTimeoutMs: cfg.batch.transactionTimeoutMs,
        compression: cfg.batch.compression,
        logger: logger.child({ component: 'producer', ...(slot !== undefined ? { slot } : {}) }),
      }),
    loadCheckpoints: kafkaCheckpointLoader(kafka, logger.child({ component: 'checkpoints' })),
    prepareTopics: () => prepareTopics(kafka, logger.child({ component: 'admin' })),
    connect: opts.connect ?? connectRequestor,
    registry: opts.registry,
    logger,
    assignment: sharing ? (opts.assignment ?? kafkaSlotAssignment(cfg, logger.child({ component: 'group' }))) : undefined,
  });
}

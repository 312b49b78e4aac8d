// A connector wired to the real world: Kafka (producer, checkpoints, topics) and
// TCP requestor connections. Tests of the state machine use Connector directly.
import type { ConnectorConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Registry } from '../metrics/index.js';
import { kafkaCheckpointLoader } from './checkpoint.js';
import { Connector } from './connector.js';
import { connectRequestor, type Connect } from './requestor.js';
import { connectKafkaSink, prepareTopics, transactionalIdOf } from './sink.js';

export function createConnector(cfg: ConnectorConfig, opts: { registry: Registry; logger: Logger; connect?: Connect }): Connector {
  const { kafka } = cfg;
  const logger = opts.logger;
  return new Connector(cfg, {
    connectSink: () =>
      connectKafkaSink(kafka, {
        transactionalId: transactionalIdOf(cfg.id),
        transactionTimeoutMs: cfg.batch.transactionTimeoutMs,
        compression: cfg.batch.compression,
        logger: logger.child({ component: 'producer' }),
      }),
    loadCheckpoints: kafkaCheckpointLoader(kafka, logger.child({ component: 'checkpoints' })),
    prepareTopics: () => prepareTopics(kafka, logger.child({ component: 'admin' })),
    connect: opts.connect ?? connectRequestor,
    registry: opts.registry,
    logger,
  });
}

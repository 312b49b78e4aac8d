// The Kafka layer: the only place in the project that imports kafkajs.
// - config:   settings schema and KAFKA_* environment
// - admin:    topics (ensureTopics), end offsets, offsets by time
// - producer: transactional, idempotent, acks=all; one transaction per batch; fencing
// - reader:   read_committed readers with explicit offsets; readToEnd for catch-up
// - group:    work-slot membership through a consumer group (sharing the connector's sources)
// - probe:    "does the cluster take transactional writes" (the local launcher's readiness check)
export {
  DEFAULT_EVENTS_TOPIC,
  DEFAULT_SOURCES_TOPIC,
  KafkaSettingsSchema,
  kafkaSettingsFromEnv,
  parseBrokerList,
  parseKafkaSettings,
  type KafkaSettings,
  type KafkaSettingsInput,
  type KafkaSasl,
  type KafkaSsl,
} from './config.js';
export {
  KafkaLayerError,
  KafkaOperationError,
  KafkaTimeoutError,
  ProducerFencedError,
  TopicConfigMismatchError,
  TopicNotFoundError,
  TransactionAbortedError,
  TransactionOutcomeUnknownError,
} from './errors.js';
export {
  KafkaAdmin,
  endOffsets,
  ensureTopics,
  projectTopicSpecs,
  type EnsureTopicsResult,
  type PartitionOffsets,
  type TopicSpec,
} from './admin.js';
export {
  TransactionalProducer,
  type CommitResult,
  type CommittedPartition,
  type ProducerDescription,
  type ProducerRecord,
  type Transaction,
  type TransactionalProducerOptions,
} from './producer.js';
export {
  TopicReader,
  readToEnd,
  type BatchHandler,
  type ReadBatch,
  type ReadMessage,
  type ReadToEndOptions,
  type ReadToEndResult,
  type ReaderOptions,
  type StartPosition,
} from './reader.js';
export { PROBE_TOPIC, probeKafka, type ProbeResult } from './probe.js';
export { murmur2, partitionForKey } from './partition.js';
export { SlotGroupMember, type SlotAssignmentInfo, type SlotGroupListener, type SlotGroupOptions } from './group.js';
export { decodeClaim, encodeClaim, stickyAssign, type MemberClaim } from './sticky.js';

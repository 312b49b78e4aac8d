// The connector: Active Leasequery sessions to many DHCPv6 servers, their events into
// Kafka exactly once in effect (DESIGN.md "Data flow").
export { Connector, type ConnectorDeps, type SharingStatus, type SourceStatus } from './connector.js';
export { SlotWorker, STOP_DRAIN_MS, type SlotWorkerOptions } from './slot.js';
export { slotOf, type AssignmentListener, type SlotAssignment } from './sharing.js';
export { SourceSession, SessionEndedError, type QueueItem, type SessionOptions } from './session.js';
export { Publisher, type PublisherOptions, type TransactionSink } from './publisher.js';
export { SourceQueue, QueueBudget, QueueClosedError } from './queue.js';
export { Backoff } from './backoff.js';
export { ResumePoint } from './resume.js';
export { ScopeSet, type LearnedScopes } from './scopes.js';
export { SESSION_STATES, type SessionState } from './states.js';
export { linkAndEncode } from './encode.js';
export { ConnectorMetrics, noopPublisherMetrics, noopSourceMetrics, type PublisherMetrics, type SharingMetrics, type SourceMetrics } from './metrics.js';
export { connectRequestor, activeQuerySpec, requestorOptions, type Connect, type LeasequeryLink } from './requestor.js';
export {
  CHECKPOINT_VERSION,
  SourceCheckpointSchema,
  decodeCheckpoint,
  emptyCheckpoint,
  encodeCheckpoint,
  kafkaCheckpointLoader,
  type CheckpointLoader,
  type SourceCheckpoint,
  type SourceStart,
} from './checkpoint.js';
export { connectKafkaSink, prepareTopics, sharingGroupIdOf, slotTransactionalIdOf, transactionalIdOf } from './sink.js';
export { createConnector, kafkaSlotAssignment } from './create.js';

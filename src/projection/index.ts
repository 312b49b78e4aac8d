// Public surface of the projection (issue 6): lease tables folded from lq.events, served
// through the LeaseView interface, with snapshots.
export { Projection, type ProjectionOptions, type EventPosition, type ApplyOutcome, type ProjectionStats } from './projection.js';
export type { BindingDump, StateDump } from './dump.js';
export { SnapshotStore, type SnapshotStoreOptions } from './snapshot-store.js';
export { SNAPSHOT_VERSION, type SnapshotOffset, type SnapshotInfo } from './snapshot.js';
export { SnapshotError, ProjectionInputError, type SnapshotErrorReason } from './errors.js';
export { decodeEventFast } from './fast-decode.js';

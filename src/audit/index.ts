// Public surface of the audit tools (issue 7): as-of queries, binding history and its
// export, integrity verification and replay, all answered from lq.events.
export { AuditError, type AuditErrorCode } from './errors.js';
export { parseInstant, parseDuration, parseLookback, iso, serverInstant, type ServerInstant } from './time.js';
export { parseAddressArg, parsePrefixArg, matchResource, resourceOf, resourceText, withinPrefix, type Resource, type ResourceMatch } from './resources.js';
export { chooseSnapshot, parseSnapshotHead, type SnapshotChoice, type SnapshotRejection, type SnapshotHead } from './snapshot.js';
export { IntervalEngine, type SeedBinding, type SeedState, type SeedResync, type Interval, type EventRef, type CloseReason, type EngineOptions, type EngineStats, type RecordPosition, type ApplyOutcome } from './intervals.js';
export { TimeMerger, steerFlow, mergeOrder, type MergeItem, type MergeStats } from './merge.js';
export { sweep, eventTime, eventSort, peekEvent, DEFAULT_REORDER_WINDOW_MS, type SweptEvent, type SweepOptions, type SweepResult } from './sweep.js';
export { readRange, topicPartitions, withTimeout, type RangeSpec, type RangeResult, type ReadOptions } from './read.js';
export {
  whoHeld,
  heldBy,
  exportHistory,
  selects,
  overlaps,
  selectorText,
  type AuditTarget,
  type Lookback,
  type FoldBasis,
  type SnapshotBasis,
  type Holder,
  type WhoAnswer,
  type HeldAnswer,
  type HistorySummary,
  type Selector,
} from './queries.js';
export { intervalWriter, intervalJson, intervalCsv, intervalNdjson, csvHeader, csvField, CSV_COLUMNS, type ExportFormat } from './export.js';
export { ChainVerifier, verifyRange, readChainHeads, type ChainBreak, type BreakKind, type VerifyReport, type VerifyResult, type VerifyTarget, type SourceSummary } from './verify.js';
export { replayRange, type ReplayQuery, type ReplaySink, type ReplayResult, type ReplayTarget } from './replay.js';
export { murmur2, partitionForKey } from '../kafka/index.js';

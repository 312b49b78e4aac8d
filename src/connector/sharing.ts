// The seam between the connector and whatever divides the work slots among instances:
// a Kafka consumer group in production (src/kafka/group.ts), memory in unit tests.
import { partitionForKey } from '../kafka/index.js';

/** The work slot of a source: the partition of lq.sources its name (the record key) hashes to. */
export function slotOf(source: string, slots: number): number {
  return partitionForKey(source, slots);
}

export interface AssignmentListener {
  /** The complete set of slots this instance owns from now on (empty: none, e.g. membership lost). */
  assigned(slots: number[], info?: { joins?: number }): void;
}

/** Membership of the group that assigns the work slots. */
export interface SlotAssignment {
  /**
   * Join; every new assignment goes to `listener`. `owned` says which slots this
   * instance serves now (a sticky assignment keeps them here). Rejects when the first
   * join attempt fails (the connector retries).
   */
  start(listener: AssignmentListener, owned: () => readonly number[]): Promise<void>;
  /** Leave the group (the others take the slots over at once). */
  stop(): Promise<void>;
  /** Membership is current (a producer may be initialized without risk of fencing the slot's rightful owner). */
  fresh(): boolean;
}

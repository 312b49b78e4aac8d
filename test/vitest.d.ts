// Values the global set-up provides to test files (vitest provide/inject).
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap servers of the run's Kafka ("" when no broker was started for this run). */
    kafkaBrokers: string;
    /** JSON file the global set-up keeps up to date: {"state":"starting"|"ready"|"failed"|"skipped", ...}. */
    kafkaStatusFile: string;
  }
}

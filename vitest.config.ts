import { defineConfig } from 'vitest/config';

// One run for the whole suite. The global set-up starts one real Kafka broker
// (or uses KAFKA_BROKERS) for the integration and end-to-end tests.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    // A beforeAll may wait for the broker: on a fresh machine its jars come from
    // Maven Central first (test/helpers/kafka.ts waitForKafka bounds that at 290 s).
    hookTimeout: 300_000,
    // Stopping the broker at the end (a clean Kafka shutdown) can take longer than
    // vitest's default 10 s on a loaded machine.
    teardownTimeout: 45_000,
    pool: 'forks',
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';

// One run for the whole suite. The global set-up starts one real Kafka broker
// (or uses KAFKA_BROKERS) for the integration and end-to-end tests.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';

// The full fault suite (`npm run test:faults`): test/e2e/faults/*.faults.ts. It starts a
// broker of its own (so it can kill and freeze it), hence no global set-up. The reduced
// suite (test/e2e/faults/quick.test.ts) runs with `npm test` on the run's broker.
export default defineConfig({
  test: {
    include: ['test/e2e/faults/**/*.faults.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    teardownTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});

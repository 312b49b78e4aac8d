// Global set-up of the test run: ONE Kafka broker for every test file.
// - KAFKA_BROKERS set: that cluster is used, nothing is started.
// - Otherwise a local single-node KRaft broker (deploy/kafka/launcher.ts) is launched
//   in the background: its address is provided at once and unit tests do not wait;
//   tests that need Kafka call waitForKafka() (test/helpers/kafka.ts), which waits
//   for the status this file writes ("ready" or "failed" with the reason).
// - Runs that select no integration/e2e test file (e.g. `vitest run test/unit`) start
//   nothing; LQR_TEST_KAFKA=off does the same for any run.
// The broker is stopped at teardown, also when tests fail; if the run is killed,
// the launcher's exit handlers and its watchdog (which follows this process's pid)
// stop it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../src/log.js';
import { chooseKafkaMode, launchLocalKafka, startKafka, type RunningKafka } from '../deploy/kafka/launcher.js';

export interface KafkaStatus {
  state: 'starting' | 'ready' | 'failed' | 'skipped';
  brokers?: string;
  error?: string;
  timings?: RunningKafka['timings'];
}

/**
 * False only when the command line is plainly `vitest [run] <file filters...>` (no
 * options) and the filters select test files none of which is under
 * test/integration or test/e2e, e.g. `vitest run test/unit`. Anything else starts
 * the broker (the safe side).
 */
async function runNeedsKafka(project: TestProject): Promise<boolean> {
  try {
    const args = process.argv.slice(2).filter((a) => a !== 'run');
    if (args.length === 0 || args.some((a) => a.startsWith('-'))) return true;
    const { testFiles } = await project.globTestFiles(args);
    if (testFiles.length === 0) return true;
    const root = project.config.root;
    return testFiles.some((f) => /^test\/(integration|e2e)\//.test(relative(root, f).split('\\').join('/')));
  } catch {
    return true;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logger = createLogger('test-kafka');
  const statusDir = mkdtempSync(join(tmpdir(), 'lqr-test-kafka-'));
  const statusFile = join(statusDir, 'status.json');
  const write = (status: KafkaStatus) => writeFileSync(statusFile, JSON.stringify(status));
  project.provide('kafkaStatusFile', statusFile);
  const cleanupStatus = () => rmSync(statusDir, { recursive: true, force: true });

  if (process.env.LQR_TEST_KAFKA === 'off' || !(await runNeedsKafka(project))) {
    write({ state: 'skipped', error: 'no Kafka for this run (LQR_TEST_KAFKA=off or no integration/e2e test selected)' });
    project.provide('kafkaBrokers', '');
    return async () => cleanupStatus();
  }

  let mode: Awaited<ReturnType<typeof chooseKafkaMode>>;
  try {
    mode = await chooseKafkaMode();
  } catch (err) {
    write({ state: 'failed', error: (err as Error).message });
    project.provide('kafkaBrokers', '');
    return async () => cleanupStatus();
  }

  if (mode !== 'local') {
    // External cluster (nothing to wait for) or testcontainers (started here, blocking).
    const kafka = await startKafka({ logger });
    write({ state: 'ready', brokers: kafka.brokers, timings: kafka.timings });
    project.provide('kafkaBrokers', kafka.brokers);
    return async () => {
      await kafka.stop();
      cleanupStatus();
    };
  }

  const launching = await launchLocalKafka({ logger, watchPid: process.pid });
  write({ state: 'starting', brokers: launching.brokers });
  project.provide('kafkaBrokers', launching.brokers);
  launching.ready.then(
    (kafka) => write({ state: 'ready', brokers: kafka.brokers, timings: kafka.timings }),
    (err: unknown) => {
      logger.error({ err }, 'Kafka broker for the tests did not start');
      write({ state: 'failed', brokers: launching.brokers, error: err instanceof Error ? err.message : String(err) });
    },
  );
  return async () => {
    await launching.stop();
    cleanupStatus();
  };
}

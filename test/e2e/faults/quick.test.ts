// The reduced fault suite that `npm test` runs: the connector and a replica SIGKILLed
// under load, as separate processes, on the test run's broker (these two faults leave
// the broker alone), with a small lab. The full suite (every fault, combinations, a
// broker of its own) is `npm run test:faults` (suite.faults.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildForChild } from '../../helpers/build-child.js';
import { externalBroker } from '../../helpers/faults.js';
import type { ScenarioReport } from '../../helpers/faults-verify.js';
import { kafkaBrokers, waitForKafka } from '../../helpers/kafka.js';
import { runScenario, writeReports, type FaultEnv } from './runner.js';
import { QUICK, scenarios } from './scenarios.js';

const RESULTS = join(import.meta.dirname, 'results', 'quick');

describe('fault scenarios (quick)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'lqr-faults-quick-'));
  const reports: ScenarioReport[] = [];
  let env: FaultEnv;

  beforeAll(async () => {
    rmSync(join(RESULTS, 'logs'), { recursive: true, force: true });
    const entry = buildForChild('src/cli/lqr.ts');
    await waitForKafka();
    env = { entry, broker: externalBroker(kafkaBrokers()), workDir, logDir: join(RESULTS, 'logs') };
  });

  afterAll(() => {
    if (reports.length) writeReports(RESULTS, reports, 'Fault scenarios (quick, npm test)');
    rmSync(workDir, { recursive: true, force: true });
  });

  for (const id of ['connector-sigkill', 'replica-sigkill']) {
    it(`${id}: converges, nothing lost, no state-changing duplicate`, async () => {
      const r = await runScenario(env, scenarios(QUICK)[id]);
      reports.push(r);
      writeReports(RESULTS, reports, 'Fault scenarios (quick, npm test)', false);
      expect(r.error ?? '', r.error).toBe('');
      expect(r.ok).toBe(true);
      expect(r.eventsLost).toBe(0);
      expect(r.chainDuplicates).toBe(0);
      expect(r.duplicates?.changedState).toBe(0);
      expect(r.stateDiffs?.events).toBe(0);
      expect(Object.values(r.stateDiffs?.replicas ?? { none: 1 }).every((n) => n === 0)).toBe(true);
    }, 240_000);
  }
});

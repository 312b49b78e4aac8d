// The full fault suite (`npm run test:faults`): every scenario of scenarios.ts, alone and
// combined, against a broker of the suite's own (so it can be killed and frozen), each
// component a separate process. LQR_FAULTS=id,id,... runs a subset. The report (JSON and
// a Markdown table) goes to test/e2e/faults/results/ (gitignored) and is printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildForChild } from '../../helpers/build-child.js';
import { ownBroker, type BrokerHandle } from '../../helpers/faults.js';
import type { ScenarioReport } from '../../helpers/faults-verify.js';
import { runScenario, writeReports, type FaultEnv } from './runner.js';
import { FULL, scenarios } from './scenarios.js';

const RESULTS = join(import.meta.dirname, 'results');
const ORDER = [
  'no-fault-hot',
  'connector-sigkill',
  'replica-sigkill',
  'broker-sigkill',
  'lab-sigkill',
  'lab-restart',
  'duplicate-connector',
  'link-cut-stall',
  'clock-step',
  'clock-step-live',
  'broker-partition',
  'snapshot-unwritable',
  'combo-connector-broker',
  'combo-lab-replica-link',
];
const only = process.env.LQR_FAULTS ? process.env.LQR_FAULTS.split(',').map((s) => s.trim()) : undefined;

describe('fault scenarios (full)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'lqr-faults-'));
  const reports: ScenarioReport[] = [];
  let broker: BrokerHandle | undefined;
  let env: FaultEnv;

  beforeAll(async () => {
    rmSync(join(RESULTS, 'logs'), { recursive: true, force: true });
    const entry = buildForChild('src/cli/lqr.ts');
    broker = await ownBroker(join(workDir, 'kafka'));
    env = { entry, broker, workDir, logDir: join(RESULTS, 'logs'), labHostEntry: buildForChild('test/e2e/faults/lab-host.ts') };
  }, 300_000);

  afterAll(async () => {
    if (reports.length) writeReports(RESULTS, reports, 'Fault scenarios (full suite)');
    await broker?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, 120_000);

  const all = scenarios(FULL);
  for (const id of ORDER.filter((x) => !only || only.includes(x))) {
    it(id, async () => {
      const r = await runScenario(env, all[id]);
      reports.push(r);
      writeReports(RESULTS, reports, 'Fault scenarios (full suite)', false);
      expect(r.error ?? '', r.error).toBe('');
      expect(r.ok).toBe(true);
    }, 600_000);
  }
});

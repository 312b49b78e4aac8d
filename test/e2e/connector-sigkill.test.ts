// `lqr connector` as a child process, SIGKILLed at random moments while a lab server
// changes bindings quickly (so a Kafka transaction is almost always open), and
// restarted each time. Afterwards the committed events equal the server's bindings,
// every chain has each event exactly once, and a final SIGTERM stops it cleanly.
// Also: --print-config, /healthz, /readyz and /metrics of the running process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LabServer } from '../../src/lab/index.js';
import { readToEnd } from '../../src/kafka/index.js';
import { buildForChild } from '../helpers/build-child.js';
import { compareWithDump, EventCollector, foldPerSource, verifyChains, waitForConvergence } from '../helpers/convergence.js';
import { labSources, uniqueTopics } from '../helpers/connector-harness.js';
import { eventually, kafkaBrokers, kafkaConfig, waitForKafka } from '../helpers/kafka.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Child {
  proc: ChildProcess;
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(entry: string, args: string[]): Child {
  const proc = spawn(process.execPath, [entry, ...args], { env: { ...process.env, KAFKA_BROKERS: '', LQR_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, lines, exit };
}

function logged(c: Child, msg: RegExp): Record<string, unknown> | undefined {
  for (const l of c.lines) {
    if (!l.startsWith('{')) continue;
    const j = JSON.parse(l) as Record<string, unknown>;
    if (typeof j.msg === 'string' && msg.test(j.msg)) return j;
  }
  return undefined;
}

describe('lqr connector process', () => {
  let entry: string;
  let lab: LabServer;
  const dir = mkdtempSync(join(tmpdir(), 'lqr-e2e-connector-'));
  const children: Child[] = [];
  let collector: EventCollector | undefined;

  beforeAll(async () => {
    entry = buildForChild('src/cli/lqr.ts');
    await waitForKafka();
    lab = await LabServer.create({ seed: 51, clients: 2_000, links: 6, rate: 800 });
    await lab.start();
  });

  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await collector?.close();
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives SIGKILL at random moments: nothing lost, nothing committed twice', async () => {
    await sleep(3_100);
    const topics = uniqueTopics('e2e');
    const file = join(dir, 'connector.yaml');
    writeFileSync(
      file,
      stringify({
        id: `e2e-${process.pid}`,
        kafka: { brokers: kafkaBrokers().split(','), topics: { events: { name: topics.events, partitions: 3, replicationFactor: 1 }, sources: { name: topics.sources, replicationFactor: 1 } } },
        metrics: { host: '127.0.0.1', port: 0 },
        session: { connectTimeoutMs: 2_000, backoff: { initialMs: 100, maxMs: 1_000 } },
        batch: { maxEvents: 2_000 },
        sources: labSources([lab]),
      }),
    );

    // --print-config: effective configuration, defaults filled in.
    const pc = startChild(entry, ['connector', '--config', file, '--print-config']);
    expect((await pc.exit).code).toBe(0);
    expect(pc.lines.join('\n')).toMatch(/transactionalId: lqr-connector-e2e-/);
    expect(pc.lines.join('\n')).toMatch(/maxDelayMs: 5/);

    let child = startChild(entry, ['connector', '--config', file]);
    children.push(child);
    await eventually(() => logged(child, /source session live/), 60_000, 'first child live');
    const listening = logged(child, /metrics and probes listening/) as { port: number };
    const base = `http://127.0.0.1:${listening.port}`;
    await eventually(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 30_000, 'ready');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/lqr_connector_source_state\{source="lab-0",state="live"\} 1/);
    expect(metrics).toMatch(/lqr_connector_transaction_seconds_count \d+/);

    for (let kill = 0; kill < 2; kill++) {
      await sleep(1_000 + Math.floor(Math.random() * 2_000));
      child.proc.kill('SIGKILL');
      expect((await child.exit).signal).toBe('SIGKILL');
      child = startChild(entry, ['connector', '--config', file]);
      children.push(child);
      await eventually(() => logged(child, /source session live/), 60_000, `child ${kill + 2} live`);
    }
    await sleep(1_000);
    lab.setRate(0);
    collector = await EventCollector.start(kafkaConfig(), topics.events);
    const c = collector;
    await waitForConvergence(() => compareWithDump(foldPerSource(c.events).get('lab-0'), lab.dumpBindings()), 60_000);
    expect(verifyChains(c.events).get('lab-0')?.problems).toEqual([]);

    // SIGTERM: a clean stop, the last session event committed.
    child.proc.kill('SIGTERM');
    expect((await child.exit).code).toBe(0);
    await eventually(() => (c.sourceEvents('lab-0').some((e) => e.kind === 'disconnected' && e.reason === 'connector stopping') ? true : undefined), 10_000, 'disconnected committed');
    expect(verifyChains(c.events).get('lab-0')?.problems).toEqual([]);
    let all = 0;
    await readToEnd(kafkaConfig(), { topic: topics.events, isolation: 'read_uncommitted' }, (b) => {
      all += b.messages.length;
    });
    // Records of transactions the kills left open are in the log, never visible committed.
    console.log(`e2e: ${c.events.length} committed records, ${all - c.events.length} in aborted transactions`);
  }, 240_000);
});

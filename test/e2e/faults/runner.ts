// The fault-scenario runner. One scenario:
//   1. a lab process (`lqr lab`, N partitioned servers, --rate 0, a state file), one
//      in-runner TCP proxy per lab server, a connector process whose sources go
//      through the proxies, replica processes (`lqr replica`), all on private topics;
//   2. continuous load: the runner asks the labs for workload operations every 100 ms
//      (POST /step), so it can stop the load when it wants the truth to hold still;
//   3. the faults (concurrently when a scenario combines them), each injecting,
//      holding and healing itself; "healed" is when the last one has healed;
//   4. the load goes on for `postHealLoadMs`, then stops (quiesce);
//   5. convergence: until every source's fold of lq.events (read_committed) equals its
//      server's dump and every replica's HTTP answers equal the dumps, binding by
//      binding; then the integrity chains (no committed event lost or written twice),
//      re-delivered reports, and the scenario's own checks.
// The runner never asserts wall-clock performance: time-outs are safety bounds, and the
// times it measures go to the report.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../../../src/kafka/index.js';
import type { BindingEvent } from '../../../src/events/index.js';
import type { BindingsDump } from '../../../src/lab/index.js';
import { compareWithDump, describeComparison, EventCollector, foldPerSource, verifyChains, type Comparison } from '../../helpers/convergence.js';
import { ConnectorProc, LabProc, LoadGen, ReplicaProc, TcpProxy, freePorts, httpJson, sleep, writeConnectorConfig, type BrokerHandle, type LabSpec } from '../../helpers/faults.js';
import { analyzeDuplicates, brief, compareAnswersWithDumps, markdownTable, replicaAnswers, type Check, type ScenarioReport } from '../../helpers/faults-verify.js';

export interface FaultEnv {
  /** The compiled `lqr` entry (build-child.ts). */
  entry: string;
  broker: BrokerHandle;
  /** Scratch space (lab state, replica data, configs). */
  workDir: string;
  /** Where process logs go (one file per process and scenario). */
  logDir: string;
  /** The compiled lab host with live clock control (lab-host.ts), for scenarios that step a clock live. */
  labHostEntry?: string;
}

export interface Fault {
  name: string;
  /** Inject, hold, heal. Resolves once healed. */
  run(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioSpec {
  id: string;
  title: string;
  faults: Fault[];
  lab?: Partial<LabSpec>;
  /** Operations per second per lab server (default 30). */
  loadRate?: number;
  replicas?: number;
  /** Connector session.activeRcvTimeoutMs (a stall is noticed after this). */
  activeRcvTimeoutMs?: number;
  warmupMs?: number;
  postHealLoadMs?: number;
  convergeTimeoutMs?: number;
  /** Extra tolerance on valid-until instants (a scenario that steps a server clock). */
  extraSlackMs?: number;
  /** Checks on the committed events after convergence. */
  verify?: (ctx: ScenarioContext, collector: EventCollector) => Promise<void> | void;
  needsOwnBroker?: boolean;
  /** Run the lab as lab-host.ts (live clock steps) instead of `lqr lab`. */
  liveClockLab?: boolean;
}

/** What faults act on. */
export class ScenarioContext {
  lab!: LabProc;
  proxies: TcpProxy[] = [];
  connector!: ConnectorProc;
  readonly connectors: ConnectorProc[] = [];
  replicas: ReplicaProc[] = [];
  load!: LoadGen;
  readonly checks: Check[] = [];
  readonly notes: string[] = [];
  configFile = '';
  brokerPaused = false;
  /** Bindings whose last transaction lies in their server's future (clock stepped back). */
  futureTransactions = 0;
  private connectorN = 0;

  constructor(
    readonly env: FaultEnv,
    readonly spec: ScenarioSpec,
    readonly dir: string,
    readonly logDir: string,
  ) {}

  check(name: string, ok: boolean, detail?: string): void {
    this.checks.push({ name, ok, ...(detail ? { detail } : {}) });
  }

  note(s: string): void {
    this.notes.push(s);
  }

  /** Start another connector process with the scenario's configuration (the same id). */
  startConnector(): ConnectorProc {
    const c = new ConnectorProc(this.env.entry, this.configFile, `connector-${++this.connectorN}`, this.logDir);
    this.connectors.push(c);
    this.connector = c;
    return c;
  }

  sources(): string[] {
    return this.lab.sourceNames();
  }
}

const DEFAULT_LAB: LabSpec = { clients: 600, links: 4, servers: 2, seed: 7, history: 100_000, pdRatio: 0.3 };

function kafkaSettings(brokers: string): KafkaSettings {
  return kafkaSettingsFromEnv({}, { brokers: parseBrokerList(brokers), clientId: 'lqr-faults' });
}

interface Verdict {
  events: Comparison[];
  replicas: Record<string, Comparison>;
  equal: boolean;
}

async function compareAll(ctx: ScenarioContext, collector: EventCollector): Promise<Verdict> {
  const dumps: { source: string; dump: BindingsDump }[] = [];
  for (let i = 0; i < ctx.lab.spec.servers; i++) dumps.push({ source: `lab-${i}`, dump: await ctx.lab.dump(i) });
  const folds = foldPerSource(collector.events);
  const events = dumps.map(({ source, dump }) => tolerateFutureTransactions(compareWithDump(folds.get(source), dump), dump, ctx));
  const replicas: Record<string, Comparison> = {};
  for (const r of ctx.replicas) {
    try {
      replicas[r.name] = compareAnswersWithDumps(await replicaAnswers(r.base, ctx.lab.linkAddresses), dumps, ctx.spec.extraSlackMs ?? 0);
    } catch (err) {
      replicas[r.name] = { equal: false, expected: 0, actual: 0, missing: [], extra: [], different: [`not answering: ${(err as Error).message}`] };
    }
  }
  const equal = events.every((c) => c.equal) && Object.values(replicas).every((c) => c.equal);
  return { events, replicas, equal };
}

/**
 * After a server clock stepped back, the server holds transactions in its own future:
 * CLT_TIME (seconds since the last transaction, unsigned) cannot say that, so the
 * server reports 0 and the last transaction it implies is the report time. Such a
 * binding's only difference, a last transaction the wire cannot carry, is not counted
 * (scenarios with `extraSlackMs`, i.e. clock steps, only); everything else still is.
 */
function tolerateFutureTransactions(c: Comparison, dump: BindingsDump, ctx: ScenarioContext): Comparison {
  if (!ctx.spec.extraSlackMs || c.different.length === 0) return c;
  const different = c.different.filter((d) => {
    const m = /^[^ ]+: last transaction -?\d+ != (\d+) \(phase/.exec(d);
    return !(m && Number(m[1]) > dump.now - 2_000);
  });
  const tolerated = c.different.length - different.length;
  if (tolerated > 0) ctx.futureTransactions = Math.max(ctx.futureTransactions, tolerated);
  return { ...c, different, equal: c.missing.length + c.extra.length + different.length === 0 };
}

const diffCount = (c: Comparison) => c.missing.length + c.extra.length + c.different.length;

function describeVerdict(v: Verdict): string {
  const parts = v.events.map((c, i) => (c.equal ? '' : describeComparison(c, `events lab-${i}: `)));
  for (const [name, c] of Object.entries(v.replicas)) if (!c.equal) parts.push(describeComparison(c, `${name}: `));
  return parts.filter(Boolean).join('\n');
}

/** For a few differing keys: every committed report of that key, and what each replica answers for it. */
async function diagnose(ctx: ScenarioContext, v: Verdict, collector: EventCollector): Promise<string> {
  const keys = new Set<string>();
  for (const c of [...v.events, ...Object.values(v.replicas)]) {
    for (const d of [...c.missing, ...c.extra, ...c.different].slice(0, 3)) {
      const m = /([0-9a-f]{8,})\|([0-9a-f:]+)/.exec(d);
      if (m) keys.add(`${m[1]}|${m[2].endsWith('::') ? m[2] : m[2].replace(/:$/, '')}`);
    }
  }
  const out: string[] = [];
  for (const k of [...keys].slice(0, 4)) {
    const [client, link] = k.split('|');
    const evs = collector.events.filter((p) => p.event.type === 'binding' && p.event.clientId === client && p.event.linkAddress === link);
    out.push(`key ${k}: reports ${evs.map((p) => `${p.event.source.name} ${p.partition}/${p.offset} ${brief(p.event as BindingEvent)}`).join(' | ') || 'none'}`);
    for (const r of ctx.replicas) {
      try {
        const a = await httpJson<unknown>(`${r.base}/v1/bindings?client-id=${client}&link=${encodeURIComponent(link)}`);
        out.push(`  ${r.name} answers ${JSON.stringify(a.body).slice(0, 900)}`);
      } catch (err) {
        out.push(`  ${r.name}: ${(err as Error).message}`);
      }
    }
  }
  return out.join('\n');
}

/** Run one scenario; never throws (a failure is in the report, with its reason). */
export async function runScenario(env: FaultEnv, spec: ScenarioSpec): Promise<ScenarioReport> {
  const t0 = Date.now();
  const dir = join(env.workDir, spec.id);
  const logDir = join(env.logDir, spec.id);
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const ctx = new ScenarioContext(env, spec, dir, logDir);
  const report: ScenarioReport = {
    id: spec.id,
    title: spec.title,
    faults: spec.faults.map((f) => f.name),
    ok: false,
    convergeMs: null,
    quiesceToConvergeMs: null,
    postHealLoadMs: spec.postHealLoadMs ?? 3_000,
    faultMs: 0,
    eventsLost: null,
    chainDuplicates: null,
    duplicates: null,
    stateDiffs: null,
    committedEvents: null,
    bindings: null,
    labOps: 0,
    labOpsMissed: 0,
    checks: ctx.checks,
    notes: ctx.notes,
    startedAt: new Date(t0).toISOString(),
    wallMs: 0,
  };
  let collector: EventCollector | undefined;
  try {
    if (spec.needsOwnBroker && !env.broker.owned) throw new Error('this scenario needs a broker of its own');
    // ---- set-up
    const tag = `${spec.id}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    const topics = { events: `faults-events-${tag}`, sources: `faults-sources-${tag}` };
    if (spec.liveClockLab && !env.labHostEntry) throw new Error('this scenario needs the lab host (FaultEnv.labHostEntry)');
    ctx.lab = await LabProc.create(env.entry, { ...DEFAULT_LAB, ...spec.lab }, dir, logDir, spec.liveClockLab ? env.labHostEntry : undefined);
    await ctx.lab.start();
    for (let i = 0; i < ctx.lab.spec.servers; i++) ctx.proxies.push(await TcpProxy.start({ host: '::1', port: ctx.lab.port + i }));
    ctx.configFile = join(dir, 'connector.yaml');
    writeConnectorConfig(ctx.configFile, {
      id: `faults-${tag}`,
      brokers: env.broker.brokers,
      topics,
      partitions: 3,
      sources: ctx.proxies.map((p, i) => ({ name: `lab-${i}`, host: '::1', port: p.port, links: ctx.lab.linkAddresses })),
      activeRcvTimeoutMs: spec.activeRcvTimeoutMs,
    });
    ctx.load = new LoadGen(ctx.lab, spec.loadRate ?? 30);
    const first = ctx.startConnector();
    await first.waitLive(ctx.sources(), 120_000);
    for (let i = 0; i < (spec.replicas ?? 1); i++) {
      const r = new ReplicaProc(env.entry, `replica-${i}`, env.broker.brokers, topics.events, join(dir, `replica-${i}`), await freePorts(1), logDir);
      r.start();
      ctx.replicas.push(r);
    }
    for (const r of ctx.replicas) await r.waitReady(120_000);
    ctx.load.start();
    await sleep(spec.warmupMs ?? 4_000);

    // ---- faults
    const tf = Date.now();
    await Promise.all(spec.faults.map((f) => f.run(ctx)));
    const healedAt = Date.now();
    report.faultMs = healedAt - tf;
    await sleep(report.postHealLoadMs);
    await ctx.load.stop();
    const quiescedAt = Date.now();

    // ---- convergence
    collector = await EventCollector.start(kafkaSettings(env.broker.brokers), topics.events);
    const deadline = Date.now() + (spec.convergeTimeoutMs ?? 120_000);
    let v: Verdict;
    for (;;) {
      v = await compareAll(ctx, collector);
      if (v.equal) {
        const at = Date.now();
        report.convergeMs = at - healedAt;
        report.quiesceToConvergeMs = at - quiescedAt;
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(300);
    }
    report.stateDiffs = { events: v.events.reduce((n, c) => n + diffCount(c), 0), replicas: Object.fromEntries(Object.entries(v.replicas).map(([k, c]) => [k, diffCount(c)])) };
    report.bindings = v.events.reduce((n, c) => n + c.expected, 0);
    if (ctx.futureTransactions > 0) ctx.note(`${ctx.futureTransactions} bindings of one server had their last transaction in the server's future (clock stepped back): CLT_TIME cannot carry it, not counted as a difference`);
    report.labOps = ctx.load.ops;
    report.labOpsMissed = ctx.load.missed;

    // ---- the log itself
    const chains = verifyChains(collector.events);
    let lost = 0;
    let twice = 0;
    for (const s of ctx.sources()) {
      const c = chains.get(s);
      if (!c) {
        ctx.check(`chain of ${s} present`, false);
        continue;
      }
      lost += c.lastSeq - c.events;
      twice += c.problems.filter((p) => /appears twice/.test(p)).length;
      const other = c.problems.filter((p) => !/appears twice|missing/.test(p));
      if (other.length) ctx.check(`chain of ${s} intact`, false, other.slice(0, 3).join('; '));
    }
    const missingInFold = v.events.reduce((n, c) => n + c.missing.length, 0);
    report.eventsLost = lost + missingInFold;
    report.chainDuplicates = twice;
    report.duplicates = analyzeDuplicates(collector.events);
    report.committedEvents = collector.events.length;
    await spec.verify?.(ctx, collector);
    if (!v.equal) report.error = `no convergence within ${spec.convergeTimeoutMs ?? 120_000} ms after quiesce:\n${describeVerdict(v)}\n${await diagnose(ctx, v, collector)}`;
    report.ok = v.equal && report.eventsLost === 0 && twice === 0 && report.duplicates.changedState === 0 && ctx.checks.every((c) => c.ok);
    if (!report.ok && !report.error) report.error = [`events lost ${report.eventsLost}, chain duplicates ${twice}, duplicates that changed state ${report.duplicates.changedState}`, ...ctx.checks.filter((c) => !c.ok).map((c) => `check failed: ${c.name}${c.detail ? ` (${c.detail})` : ''}`)].join('; ');
  } catch (err) {
    report.ok = false;
    report.error = (err as Error).stack ?? String(err);
  } finally {
    report.wallMs = Date.now() - t0;
    await teardown(ctx, collector);
  }
  return report;
}

async function teardown(ctx: ScenarioContext, collector: EventCollector | undefined): Promise<void> {
  const quietly = async (p: Promise<unknown> | undefined) => {
    try {
      await p;
    } catch {
      // best effort
    }
  };
  if (ctx.brokerPaused) {
    ctx.env.broker.resume();
    ctx.brokerPaused = false;
  }
  await quietly(ctx.load?.stop());
  await quietly(collector?.close());
  await Promise.all([...ctx.connectors.map((c) => quietly(c.proc.stop(20_000))), ...ctx.replicas.map((r) => quietly(r.proc?.stop(20_000)))]);
  await quietly(ctx.lab?.proc?.stop(10_000));
  for (const p of ctx.proxies) await quietly(p.close());
}

/** Write report.json and report.md under `dir` and print the table. */
export function writeReports(dir: string, reports: ScenarioReport[], heading: string, print = true): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'report.json'), JSON.stringify(reports, null, 2) + '\n');
  const md = `# ${heading}\n\nRun ${new Date().toISOString()} (node ${process.version}, ${process.platform}).\n\n${markdownTable(reports)}\n${reports
    .map((r) => `- **${r.id}**: ${r.title}${r.notes.length ? `\n  - ${r.notes.join('\n  - ')}` : ''}${r.error ? `\n  - error: ${r.error.split('\n').slice(0, 6).join(' / ')}` : ''}`)
    .join('\n')}\n`;
  writeFileSync(join(dir, 'report.md'), md);
  if (print) console.log(md);
  return md;
}

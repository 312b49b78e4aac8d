// The faults and the scenarios built from them (docs/faults.md describes each).
import { existsSync, renameSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, until } from '../../helpers/faults.js';
import type { Fault, ScenarioContext, ScenarioSpec } from './runner.js';

// ---- faults ----------------------------------------------------------------------------

/** SIGKILL the connector (a transaction is almost always open under load), restart it after `downMs`. */
export const connectorSigkill = (downMs = 1_000, delayMs = 0): Fault => ({
  name: 'connector SIGKILL',
  async run(ctx) {
    await sleep(delayMs);
    const c = ctx.connector;
    const exit = await c.proc.kill9();
    ctx.check('connector died of SIGKILL', exit.signal === 'SIGKILL', JSON.stringify(exit));
    await sleep(downMs);
    ctx.startConnector();
  },
});

/** SIGKILL a replica, restart it on the same data directory (it resumes from its newest snapshot). */
export const replicaSigkill = (index = 0, downMs = 1_000, delayMs = 0): Fault => ({
  name: `replica SIGKILL`,
  async run(ctx) {
    await sleep(delayMs);
    const r = ctx.replicas[index];
    const exit = await r.proc!.kill9();
    ctx.check(`${r.name} died of SIGKILL`, exit.signal === 'SIGKILL', JSON.stringify(exit));
    await sleep(downMs);
    r.restarts++;
    r.start();
    const resumed = await r.proc!.waitForLine(/resuming from snapshot|no usable snapshot/, 60_000);
    ctx.note(`${r.name} after SIGKILL: ${/resuming from snapshot/.test(resumed) ? 'resumed from its newest snapshot' : 'no snapshot yet: rebuilt from the earliest offset'}`);
  },
});

/**
 * SIGKILL the lab process (both servers). Its state file is written only on a clean exit,
 * so it comes back from the last saved state (here: its seeded population, the file never
 * having been written) and has lost every change since: a server whose database rolled
 * back. Its workload is deterministic (the same seed and operation count give the same
 * changes), so the runner replays the lost operations at once after the restart; the
 * truth then holds what the events saw, with new transaction times. What is tested is
 * that the connector's catch-up / DataMissing recovery and the projection end up exactly
 * at the restarted server's truth.
 */
export const labSigkill = (downMs = 2_000, delayMs = 0): Fault => ({
  name: 'lab SIGKILL',
  async run(ctx) {
    await sleep(delayMs);
    const before = await ctx.lab.stats();
    const exit = await ctx.lab.proc!.kill9();
    ctx.check('lab died of SIGKILL', exit.signal === 'SIGKILL', JSON.stringify(exit));
    await sleep(downMs);
    await ctx.lab.restart();
    const after = await ctx.lab.stats();
    const lost = before[0].operations - after[0].operations;
    ctx.note(`lab restarted with ${after[0].operations} operations done (${lost} lost with the kill; replayed at once)`);
    if (lost > 0) await ctx.lab.step(lost);
  },
});

/** SIGTERM the lab (it saves its state file), restart it from the file after `downMs`. */
export const labRestart = (downMs = 2_000, delayMs = 0): Fault => ({
  name: 'lab stop + restart (state file)',
  async run(ctx) {
    await sleep(delayMs);
    const before = await ctx.lab.stats();
    const exit = await ctx.lab.proc!.stop();
    ctx.check('lab stopped cleanly', exit.code === 0, JSON.stringify(exit));
    await sleep(downMs);
    await ctx.lab.restart();
    const after = await ctx.lab.stats();
    const seqs = (xs: { seq: number; activeBindings: number }[]) => xs.map((x) => `seq ${x.seq}, ${x.activeBindings} bindings`).join('; ');
    ctx.check('lab database intact across the restart', after.every((s, i) => s.seq >= before[i].seq), `before: ${seqs(before)}; after: ${seqs(after)}`);
  },
});

/** SIGKILL the broker's process group (wrapper + JVM), start it again on the same data and ports. */
export const brokerSigkill = (downMs = 3_000, delayMs = 0): Fault => ({
  name: 'broker SIGKILL',
  async run(ctx) {
    await sleep(delayMs);
    await ctx.env.broker.kill9();
    await sleep(downMs);
    const t = Date.now();
    await ctx.env.broker.restart();
    ctx.note(`broker accepted transactions again ${((Date.now() - t) / 1000).toFixed(1)} s after its restart began`);
  },
});

/**
 * The broker frozen (SIGSTOP of its process group, SIGCONT after `ms`): the stand-in for a
 * partition between the connector and the broker. Every client of the broker is cut off
 * alike (the replicas too), connections stay open and silent, as in a partition.
 */
export const brokerPartition = (ms = 12_000, delayMs = 0): Fault => ({
  name: 'broker partition (SIGSTOP/SIGCONT)',
  async run(ctx) {
    await sleep(delayMs);
    ctx.env.broker.pause();
    ctx.brokerPaused = true;
    await sleep(ms);
    ctx.env.broker.resume();
    ctx.brokerPaused = false;
  },
});

/**
 * The connector-lab TCP connections through the proxies: cut (reset, new connections
 * refused) for `cutMs`, then, once live again, stalled in both directions (nothing
 * forwarded, nothing closed, new connections held) for `stallMs`. With a small lab
 * history both outlast it, so the connector must get DataMissing and recover.
 */
export const linkCutAndStall = (cutMs = 10_000, stallMs = 12_000, delayMs = 0): Fault => ({
  name: 'connector-lab TCP cut, then stalled',
  async run(ctx) {
    await sleep(delayMs);
    for (const p of ctx.proxies) p.cut();
    await sleep(cutMs);
    for (const p of ctx.proxies) p.heal();
    await ctx.connector.waitLive(ctx.sources(), 120_000);
    await sleep(1_000);
    for (const p of ctx.proxies) p.stall();
    await sleep(stallMs);
    for (const p of ctx.proxies) p.heal();
  },
});

/**
 * A server clock stepped forward by `stepS`, then back. The lab CLI sets its clock offset
 * only at start (--clock-offset-s; the admin port has no clock control), so each step is a
 * clean restart from the state file with the new offset: the connector sees a server whose
 * base times jumped across a reconnect.
 */
export const clockStep = (stepS = 300, holdMs = 6_000, delayMs = 0): Fault => ({
  name: `lab clock +${stepS}s then back`,
  async run(ctx) {
    await sleep(delayMs);
    await ctx.lab.proc!.stop();
    ctx.lab.clockOffsetS += stepS;
    await ctx.lab.restart();
    await sleep(holdMs);
    await ctx.lab.proc!.stop();
    ctx.lab.clockOffsetS -= stepS;
    await ctx.lab.restart();
  },
});

/**
 * The replica's snapshot directory unwritable for `ms`. chmod 555 where that binds (not
 * root); as root (which ignores modes) the directory is moved aside and a plain file put
 * in its place, so every snapshot write fails (ENOTDIR). Checks: the failures are logged,
 * the replica stays ready and keeps answering; after healing a snapshot is written, and a
 * replica SIGKILLed then resumes from it and converges.
 */
export const snapshotUnwritable = (index = 0, ms = 6_000, delayMs = 0): Fault => ({
  name: 'replica snapshot dir unwritable',
  async run(ctx) {
    await sleep(delayMs);
    const r = ctx.replicas[index];
    const snaps = join(r.dataDir, 'snapshots');
    const asRoot = process.getuid?.() === 0;
    const failuresBefore = r.proc!.logged(/snapshot|periodic task failed/).filter((l) => Number(l.level) >= 50).length;
    if (asRoot) {
      renameSync(snaps, `${snaps}.aside`);
      writeFileSync(snaps, 'not a directory\n');
      ctx.note('running as root (chmod does not bind): snapshots/ replaced by a plain file');
    } else {
      chmodSync(snaps, 0o555);
      ctx.note('snapshots/ chmod 555');
    }
    await sleep(ms / 2);
    ctx.check(`${r.name} ready while it cannot snapshot`, await r.ready());
    await sleep(ms / 2);
    const failures = r.proc!.logged(/snapshot|periodic task failed/).filter((l) => Number(l.level) >= 50).length - failuresBefore;
    ctx.check(`${r.name} logged its snapshot failures`, failures > 0, `${failures} error lines`);
    if (asRoot) {
      rmSync(snaps, { force: true });
      renameSync(`${snaps}.aside`, snaps);
    } else {
      chmodSync(snaps, 0o755);
    }
    if (!existsSync(snaps)) mkdirSync(snaps);
    const healed = Date.now();
    await until(() => (r.proc!.logged(/snapshot written/).some((l) => Number(l.time) > healed) ? true : undefined), 30_000, 'a snapshot written after healing');
    // Prove the snapshot is good: crash the replica, it must resume from it.
    await r.proc!.kill9();
    r.restarts++;
    r.start();
    const line = await r.proc!.waitForLine(/resuming from snapshot|no usable snapshot/, 60_000);
    ctx.check(`${r.name} resumed from a snapshot written after healing`, /resuming from snapshot/.test(line), line.slice(0, 200));
  },
});

/**
 * A second connector with the same id (same transactional id, same sources): it fences
 * the first, which must exit with code 3 while the second carries on.
 */
export const duplicateConnector = (delayMs = 0): Fault => ({
  name: 'second connector, same id',
  async run(ctx) {
    await sleep(delayMs);
    const first = ctx.connector;
    const second = ctx.startConnector();
    const exit = await Promise.race([first.proc.exit, sleep(90_000).then(() => undefined)]);
    ctx.check('first instance fenced: exit code 3', exit?.code === 3, JSON.stringify(exit ?? 'still running after 90 s'));
    ctx.check('second instance still running', second.proc.alive);
    const fatal = first.proc.logged(/fenced/);
    ctx.note(`first instance: ${fatal.length ? String(fatal[0].msg) : 'no "fenced" log line'}`);
  },
});

/**
 * A server clock stepped while it runs (the lab host's /clock): forward by `stepS`, held
 * for `holdMs` under load, then back to where it was. The connector sees the server's
 * base times jump within one session, and the resume point it keeps (server clock) is
 * ahead of the server after the step back.
 */
export const clockStepLive = (stepS = 300, holdMs = 6_000, delayMs = 0, reconnectAfterBack = true): Fault => ({
  name: `lab clock +${stepS}s then back (live)`,
  async run(ctx) {
    await sleep(delayMs);
    const base = ctx.lab.clockOffsetS;
    await ctx.lab.setClockOffset(base + stepS);
    await sleep(holdMs);
    await ctx.lab.setClockOffset(base);
    if (reconnectAfterBack) {
      // A reconnect while the clock is behind the resume point: the catch-up asks for
      // changes since a START that is in the server's future.
      await sleep(holdMs / 2);
      for (const p of ctx.proxies) p.cut();
      await sleep(500);
      for (const p of ctx.proxies) p.heal();
    }
  },
});

// ---- checks on the events ------------------------------------------------------------

const sawDataMissing = (ctx: ScenarioContext, collector: { sourceEvents(s?: string): { kind: string; scope?: { startTime?: number } }[] }) => {
  for (const s of ctx.sources()) {
    const evs = collector.sourceEvents(s);
    const dm = evs.filter((e) => e.kind === 'data-missing').length;
    const rec = evs.filter((e) => e.kind === 'bulk-complete' && e.scope?.startTime !== undefined).length;
    ctx.check(`${s}: DataMissing seen and a recovery bulk completed`, dm > 0 && rec > 0, `${dm} data-missing, ${rec} recovery bulk-complete`);
  }
};

// ---- scenarios -------------------------------------------------------------------------

export interface Sizes {
  clients: number;
  links: number;
  loadRate: number;
}

export const FULL: Sizes = { clients: 1_000, links: 4, loadRate: 40 };
export const QUICK: Sizes = { clients: 300, links: 3, loadRate: 20 };

export function scenarios(z: Sizes): Record<string, ScenarioSpec> {
  const lab = { clients: z.clients, links: z.links };
  return {
    // The control: no fault, a small population changing fast (several changes of one
    // binding within one second are common).
    'no-fault-hot': { id: 'no-fault-hot', title: 'no fault; 60 clients, 100 changes/s per server (the control)', lab: { clients: 60, links: 2 }, loadRate: 100, faults: [], warmupMs: 10_000 },
    'connector-sigkill': { id: 'connector-sigkill', title: 'the connector is SIGKILLed twice under load and restarted', lab, loadRate: z.loadRate, faults: [connectorSigkill(1_000), connectorSigkill(500, 6_000)] },
    'replica-sigkill': { id: 'replica-sigkill', title: 'a replica is SIGKILLed under load and restarted on its data directory', lab, loadRate: z.loadRate, replicas: 2, faults: [replicaSigkill(0, 1_000, 2_500)] },
    'lab-sigkill': { id: 'lab-sigkill', title: 'the lab process (both servers) is SIGKILLed and restarted (database rolled back, lost operations replayed)', lab, loadRate: z.loadRate, faults: [labSigkill(2_000)] },
    'lab-restart': { id: 'lab-restart', title: 'the lab process is stopped and restarted from its state file', lab, loadRate: z.loadRate, faults: [labRestart(2_000)] },
    'broker-sigkill': { id: 'broker-sigkill', title: 'the broker is SIGKILLed and restarted on the same data and ports', lab, loadRate: z.loadRate, faults: [brokerSigkill(3_000)], needsOwnBroker: true, convergeTimeoutMs: 180_000 },
    'link-cut-stall': {
      id: 'link-cut-stall',
      title: 'connector-lab TCP cut, then stalled both ways, each for longer than the lab history (150 changes)',
      lab: { ...lab, history: 150 },
      loadRate: z.loadRate,
      activeRcvTimeoutMs: 5_000,
      faults: [linkCutAndStall(8_000, 10_000)],
      verify: (ctx, c) => sawDataMissing(ctx, c),
    },
    'clock-step': { id: 'clock-step', title: 'a lab clock stepped 300 s forward, then back (each across a clean lab restart)', lab, loadRate: z.loadRate, faults: [clockStep(300, 6_000)], extraSlackMs: 305_000, convergeTimeoutMs: 60_000 },
    'clock-step-live': {
      id: 'clock-step-live',
      title: 'a lab clock stepped 300 s forward and back while running, then the connection reset',
      lab,
      loadRate: z.loadRate,
      liveClockLab: true,
      faults: [clockStepLive(300, 6_000)],
      extraSlackMs: 305_000,
      convergeTimeoutMs: 60_000,
    },
    'broker-partition': { id: 'broker-partition', title: 'the broker frozen (SIGSTOP) for 12 s while the servers keep changing', lab, loadRate: z.loadRate, faults: [brokerPartition(12_000)], needsOwnBroker: true, convergeTimeoutMs: 180_000 },
    'snapshot-unwritable': { id: 'snapshot-unwritable', title: "a replica's snapshot directory unwritable, then writable, then the replica SIGKILLed", lab, loadRate: z.loadRate, faults: [snapshotUnwritable(0, 6_000)] },
    'duplicate-connector': { id: 'duplicate-connector', title: 'a second connector with the same id starts: it fences the first (exit 3)', lab, loadRate: z.loadRate, faults: [duplicateConnector()] },
    'combo-connector-broker': {
      id: 'combo-connector-broker',
      title: 'connector SIGKILL while the broker is SIGKILLed and restarted',
      lab,
      loadRate: z.loadRate,
      faults: [brokerSigkill(3_000), connectorSigkill(2_000, 1_500)],
      needsOwnBroker: true,
      convergeTimeoutMs: 180_000,
    },
    'combo-lab-replica-link': {
      id: 'combo-lab-replica-link',
      title: 'lab SIGKILL, a replica SIGKILL and a cut/stalled connector-lab link, overlapping',
      lab: { ...lab, history: 150 },
      loadRate: z.loadRate,
      replicas: 2,
      activeRcvTimeoutMs: 5_000,
      faults: [linkCutAndStall(6_000, 8_000), replicaSigkill(1, 1_000, 3_000), labSigkill(2_000, 18_000)],
    },
  };
}

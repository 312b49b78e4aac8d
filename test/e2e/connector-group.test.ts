// Sharing the sources (docs/connector.md "Sharing the sources"): three `lqr connector`
// processes in one group divide many lab DHCPv6 servers among themselves through a Kafka
// consumer group on lq.sources. Under load one of them is SIGKILLed. Then:
// - its sources are taken over by the others (the time from the kill to each source's
//   new `connected` and `catch-up-complete` events is measured and printed);
// - once the rebalance has settled, every source has a session open on exactly one
//   instance (sampled from the instances' /metrics all along);
// - the committed events, folded, equal every lab server's ground truth, and every
//   source's integrity chain holds each event exactly once (no loss, no duplicate
//   commit, even though the killed instance died with transactions open).
// LQR_GROUP_SOURCES (default 30) sets the number of lab servers, LQR_GROUP_SLOTS (12) the
// work slots; the 300-source run is `LQR_GROUP_SOURCES=300 npx vitest run test/e2e/connector-group.test.ts`.
// LQR_GROUP_DEBUG=1 prints the survivors' slot logs and, when a chain breaks, the
// records and checkpoints around the first duplicate (how the kafkajs fix was found).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { endOffsets, partitionForKey, readToEnd } from '../../src/kafka/index.js';
import { LabServer } from '../../src/lab/index.js';
import { buildForChild } from '../helpers/build-child.js';
import { compareWithDump, describeComparison, EventCollector, foldPerSource, verifyChains } from '../helpers/convergence.js';
import { labSources, uniqueTopics } from '../helpers/connector-harness.js';
import { eventually, kafkaBrokers, kafkaConfig, waitForKafka } from '../helpers/kafka.js';

const SOURCES = Number(process.env.LQR_GROUP_SOURCES ?? 30);
const SLOTS = Number(process.env.LQR_GROUP_SLOTS ?? 12);
const INSTANCES = 3;
const OPEN_STATES = new Set(['connecting', 'initial-load', 'catch-up', 'live', 'recovering']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Child {
  name: string;
  proc: ChildProcess;
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port?: number;
  dead: boolean;
}

function startChild(entry: string, name: string, args: string[]): Child {
  const proc = spawn(process.execPath, [entry, ...args], { env: { ...process.env, KAFKA_BROKERS: '', LQR_LOG_LEVEL: process.env.LQR_GROUP_LOG_LEVEL ?? 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    // Keep what the test reads (and warnings), not every session transition.
    for (const l of parts) if (/metrics and probes|"level":[4-6]0|work slot|slot group|Kafka failure|starting source sessions|rebalancing|checkpoints read/.test(l)) lines.push(l);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { name, proc, lines, exit, dead: false };
}

function logged(c: Child, msg: RegExp): Record<string, unknown> | undefined {
  for (const l of c.lines) {
    if (!l.startsWith('{')) continue;
    const j = JSON.parse(l) as Record<string, unknown>;
    if (typeof j.msg === 'string' && msg.test(j.msg)) return j;
  }
  return undefined;
}

/** Per source, the state whose one-hot gauge is 1; plus a few counters. */
async function scrape(c: Child): Promise<{ states: Map<string, string>; values: Map<string, number> } | undefined> {
  if (c.dead || !c.port) return undefined;
  try {
    const text = await (await fetch(`http://127.0.0.1:${c.port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const states = new Map<string, string>();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^lqr_connector_source_state\{source="([^"]+)",state="([^"]+)"\} 1$/.exec(line);
      if (m) states.set(m[1], m[2]);
      const v = /^(lqr_connector_(?:assigned_slots|assigned_sources|rebalances_total|slot_fenced_total|slot_start_seconds_(?:sum|count)|takeover_gap_seconds_(?:sum|count)|slots_moved_total\{direction="(?:in|out)"\}|restarts_total\{[^}]*\})) (\S+)$/.exec(line);
      if (v) values.set(v[1], Number(v[2]));
    }
    return { states, values };
  } catch {
    return undefined;
  }
}

interface Sample {
  at: number;
  /** Every instance still running answered. */
  complete: boolean;
  /** source -> instances with a session open to it */
  open: Map<string, string[]>;
  live: Map<string, string[]>;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

describe(`lqr connector: ${INSTANCES} processes sharing ${SOURCES} sources`, () => {
  let entry: string;
  const labs: LabServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lqr-e2e-group-'));
  const children: Child[] = [];
  let collector: EventCollector | undefined;

  beforeAll(async () => {
    entry = buildForChild('src/cli/lqr.ts');
    await waitForKafka();
    const clients = SOURCES > 100 ? 100 : 300;
    const rate = SOURCES > 100 ? 3 : 20;
    for (let i = 0; i < SOURCES; i++) {
      const lab = await LabServer.create({ seed: 700 + i, clients, links: 2, rate });
      await lab.start();
      labs.push(lab);
    }
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await collector?.close();
    await Promise.all(labs.map((l) => l.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a SIGKILLed instance’s sources are taken over within seconds, each served once, nothing lost or doubled', async () => {
    await sleep(3_100); // lab history older than the first resume points
    const topics = uniqueTopics('e2e-group');
    const names = labs.map((_, i) => `lab-${i}`);
    const group = `e2e-${process.pid}-${Date.now().toString(36)}`;
    const base = {
      kafka: { brokers: kafkaBrokers().split(','), topics: { events: { name: topics.events, partitions: 3, replicationFactor: 1 }, sources: { name: topics.sources, replicationFactor: 1 } } },
      metrics: { host: '127.0.0.1', port: 0 },
      session: { connectTimeoutMs: 2_000, backoff: { initialMs: 100, maxMs: 1_000 } },
      batch: { maxEvents: 2_000 },
      sharing: { group, slots: SLOTS, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 },
      sources: labSources(labs, names),
    };
    for (let i = 0; i < INSTANCES; i++) {
      const file = join(dir, `connector-${i}.yaml`);
      writeFileSync(file, stringify({ id: `${group}-i${i}`, ...base }));
      children.push(startChild(entry, `i${i}`, ['connector', '--config', file]));
    }
    for (const c of children) {
      const l = await eventually(() => logged(c, /metrics and probes listening/), 30_000, `${c.name} listening`);
      c.port = (l as { port: number }).port;
    }

    // Sample every instance's /metrics all along.
    const samples: Sample[] = [];
    const lsoSeries: string[] = [];
    let sampling = true;
    const lsoSampler = (async () => {
      if (!process.env.LQR_GROUP_DEBUG) return;
      while (sampling) {
        try {
          const e = await endOffsets(kafkaConfig(), topics.sources);
          lsoSeries.push(`${Date.now()} ${JSON.stringify(Object.fromEntries([...e].map(([p, o]) => [p, Number(o)])))}`);
        } catch {
          // ignore
        }
        await sleep(1000);
      }
    })();
    const sampler = (async () => {
      while (sampling) {
        const at = Date.now();
        const open = new Map<string, string[]>();
        const live = new Map<string, string[]>();
        const got = await Promise.all(children.map(async (c) => ({ c, r: await scrape(c) })));
        const complete = got.every(({ c, r }) => c.dead || r !== undefined);
        for (const { c, r } of got) {
          if (!r) continue;
          for (const [source, state] of r.states) {
            if (OPEN_STATES.has(state)) open.set(source, [...(open.get(source) ?? []), c.name]);
            if (state === 'live') live.set(source, [...(live.get(source) ?? []), c.name]);
          }
        }
        samples.push({ at, complete, open, live });
        await sleep(200);
      }
    })();
    const last = (): Sample | undefined => {
      for (let i = samples.length - 1; i >= 0; i--) if (samples[i].complete) return samples[i];
      return undefined;
    };
    const byInstance = (s: Sample) => {
      const m = new Map<string, string[]>();
      for (const [src, owners] of s.live) for (const o of owners) m.set(o, [...(m.get(o) ?? []), src]);
      return m;
    };
    // Every source live on exactly one instance, and every instance serving some: the
    // first member to join gets every slot until the others' joins rebalance the group.
    const allLiveOnce = () => {
      const s = last();
      return s && names.every((n) => s.live.get(n)?.length === 1 && s.open.get(n)?.length === 1) ? true : undefined;
    };
    const allLiveOnceOnEveryInstance = () => {
      const s = last();
      return allLiveOnce() && s && byInstance(s).size === children.filter((c) => !c.dead).length ? true : undefined;
    };

    const t0 = Date.now();
    await eventually(allLiveOnceOnEveryInstance, 180_000, 'every source live on exactly one instance, every instance serving some');
    const startup = Date.now() - t0;
    const before = byInstance(last() as Sample);
    expect([...before.keys()].sort()).toEqual(children.map((c) => c.name).sort());

    // Under load (the labs keep changing bindings), kill the instance with the most sources.
    await sleep(3_000);
    const victim = children.reduce((a, b) => ((before.get(b.name)?.length ?? 0) > (before.get(a.name)?.length ?? 0) ? b : a));
    const fresh = await eventually(async () => (await scrape(victim))?.states, 30_000, 'victim scraped');
    const victimSources = [...fresh].filter(([, st]) => OPEN_STATES.has(st)).map(([src]) => src);
    expect(victimSources.length).toBeGreaterThan(0);
    const killAt = Date.now();
    victim.proc.kill('SIGKILL');
    victim.dead = true;
    expect((await victim.exit).signal).toBe('SIGKILL');
    const liveAgainAt = new Map<string, number>();
    await eventually(
      () => {
        const s = last();
        if (!s) return undefined;
        for (const n of victimSources) if (!liveAgainAt.has(n) && s.at > killAt && s.live.get(n)?.length === 1) liveAgainAt.set(n, s.at);
        return liveAgainAt.size === victimSources.length ? true : undefined;
      },
      60_000,
      'the victim’s sources live elsewhere',
    );
    const takeoverAll = Math.max(...liveAgainAt.values()) - killAt;

    // Settled: for 5 s, every source open on exactly one instance in every sample.
    await eventually(allLiveOnce, 60_000, 'settled');
    const settledFrom = samples.length;
    await sleep(5_000);
    const settled = samples.slice(settledFrom).filter((s) => s.complete);
    expect(settled.length).toBeGreaterThanOrEqual(3);
    for (const s of settled) for (const n of names) expect(s.open.get(n) ?? [], `${n} at ${s.at}`).toHaveLength(1);
    // Overlaps seen at any time (sessions to one source on two instances in one sample: only during a handover).
    const overlaps = samples.filter((s) => s.complete).flatMap((s) => [...s.open].filter(([, o]) => o.length > 1).map(([src, o]) => ({ at: s.at - killAt, src, o })));

    const survivors = children.filter((c) => !c.dead);
    const metrics = await Promise.all(survivors.map(async (c) => ({ name: c.name, values: (await scrape(c))?.values })));

    // Convergence: stop the workload, read everything committed, fold, compare.
    for (const l of labs) l.setRate(0);
    sampling = false;
    await sampler;
    await lsoSampler;
    collector = await EventCollector.start(kafkaConfig(), topics.events);
    const c = collector;
    const deadline = Date.now() + 120_000;
    let bad: string[] = [];
    for (;;) {
      const folds = foldPerSource(c.events);
      bad = [];
      labs.forEach((l, i) => {
        const cmp = compareWithDump(folds.get(names[i]), l.dumpBindings());
        if (!cmp.equal) bad.push(describeComparison(cmp, `${names[i]}: `));
      });
      if (bad.length === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    expect(bad.slice(0, 3).join('\n')).toBe('');
    const chains = verifyChains(c.events);
    const broken = names.filter((n) => (chains.get(n)?.problems.length ?? 0) > 0);
    if (broken.length > 0 && process.env.LQR_GROUP_DEBUG) {
      const n = broken[0];
      const rows: string[] = [];
      const firstDup = Math.min(...(chains.get(n)?.problems ?? []).map((p) => Number(/seq (\d+)/.exec(p)?.[1] ?? 1e9)));
      console.log(`slot of ${n}: ${partitionForKey(n, SLOTS)}`);
      await readToEnd(kafkaConfig(), { topic: topics.events, isolation: 'read_committed' }, (b) => {
        for (const m of b.messages) {
          const e = m.value ? (JSON.parse(m.value.toString()) as { source: { name: string }; chain?: { seq: number }; type: string; kind?: string; phase?: string; at?: number; receivedAt?: number }) : undefined;
          if (e?.source.name === n && (e.chain?.seq ?? 0) >= firstDup - 3 && (e.chain?.seq ?? 0) <= firstDup + 3) rows.push(`${e.chain?.seq} ${b.partition}/${m.offset} pid=${m.producerId} ep=${m.producerEpoch} ${e.type} ${e.kind ?? e.phase} t=${(e.at ?? e.receivedAt ?? 0) - killAt}`);
        }
      });
      console.log(`LSO series (kill at ${killAt}):\n${lsoSeries.map((l) => `${Number(l.split(' ')[0]) - killAt} ${l.split(' ')[1]}`).join('\n')}`);
      const cps: string[] = [];
      await readToEnd(kafkaConfig(), { topic: topics.sources, isolation: 'read_committed' }, (b) => {
        for (const m of b.messages) {
          if (m.key?.toString() !== n || !m.value) continue;
          const cp = JSON.parse(m.value.toString()) as { chainHead: { seq: number }; updatedAt: number };
          cps.push(`cp ${b.partition}/${m.offset} pid=${m.producerId} ep=${m.producerEpoch} head=${cp.chainHead.seq} t=${cp.updatedAt - killAt}`);
        }
      });
      console.log(cps.slice(0, 6).join('\n'));
      const ucps: string[] = [];
      await readToEnd(kafkaConfig(), { topic: topics.sources, isolation: 'read_uncommitted' }, (b) => {
        for (const m of b.messages) {
          if (m.key?.toString() !== n || !m.value) continue;
          const cp = JSON.parse(m.value.toString()) as { chainHead: { seq: number }; updatedAt: number };
          ucps.push(`ucp ${b.partition}/${m.offset} pid=${m.producerId} ep=${m.producerEpoch} head=${cp.chainHead.seq} t=${cp.updatedAt - killAt}`);
        }
      });
      console.log(ucps.slice(0, 6).join('\n'));
      const uncommitted: string[] = [];
      await readToEnd(kafkaConfig(), { topic: topics.events, isolation: 'read_uncommitted' }, (b) => {
        for (const m of b.messages) {
          const e = m.value ? (JSON.parse(m.value.toString()) as { source: { name: string }; chain?: { seq: number } }) : undefined;
          if (e?.source.name === n && (e.chain?.seq ?? 0) >= firstDup - 1 && (e.chain?.seq ?? 0) <= firstDup + 1) uncommitted.push(`U ${e.chain?.seq} ${b.partition}/${m.offset} ep=${m.producerEpoch}`);
        }
      });
      console.log(uncommitted.join('\n'));
      console.log(`BROKEN ${broken.length} sources; ${n}:\n${rows.sort((a, b) => parseInt(a) - parseInt(b)).join('\n')}`);
      for (const ch of children) for (const l of ch.lines) if (/"level":[4-6]0|starting source|checkpoints read|work slots assigned/.test(l)) console.log(ch.name, l.slice(0, 600));
    }
    for (const n of names) expect(chains.get(n)?.problems, n).toEqual([]);

    // When each of the victim's sources reconnected and caught up elsewhere (connector clock, same host).
    const connectedAfter: number[] = [];
    const caughtUpAfter: number[] = [];
    for (const n of victimSources) {
      const ev = c.sourceEvents(n);
      const conn = ev.find((e) => e.kind === 'connected' && e.at > killAt);
      const cu = ev.find((e) => e.kind === 'catch-up-complete' && e.at > killAt);
      if (conn) connectedAfter.push(conn.at - killAt);
      if (cu) caughtUpAfter.push(cu.at - killAt);
    }
    expect(connectedAfter.length).toBe(victimSources.length);

    const summary = {
      bench: 'connector-group',
      sources: SOURCES,
      slots: SLOTS,
      instances: INSTANCES,
      startupAllLiveMs: startup,
      victimSources: victimSources.length,
      takeoverConnectedMs: { min: Math.min(...connectedAfter), p50: pct(connectedAfter, 50), max: Math.max(...connectedAfter) },
      takeoverCaughtUpMs: { min: Math.min(...caughtUpAfter), p50: pct(caughtUpAfter, 50), max: Math.max(...caughtUpAfter) },
      takeoverAllLiveSampledMs: takeoverAll,
      overlapSamples: overlaps.length,
      overlapWindowMs: overlaps.length ? [Math.min(...overlaps.map((o) => o.at)), Math.max(...overlaps.map((o) => o.at))] : null,
      committedRecords: c.events.length,
      bindings: c.bindings().length,
      survivors: metrics.map((m) => ({ name: m.name, ...Object.fromEntries(m.values ?? []) })),
    };
    console.log(JSON.stringify(summary));
    if (process.env.LQR_GROUP_DEBUG) {
      for (const sv of survivors) {
        for (const l of sv.lines) {
          const j = JSON.parse(l) as { time: number; msg: string; slot?: number; startMs?: number };
          if (j.time > killAt - 1000) console.log(sv.name, j.time - killAt, j.msg, j.slot ?? '', j.startMs ?? '');
        }
      }
    }
    // Takeover within seconds: session timeout (6 s) + rebalance + producer init + checkpoint read + reconnect.
    expect(Math.max(...connectedAfter)).toBeLessThan(20_000);
    for (const m of metrics) expect(m.values?.get('lqr_connector_rebalances_total')).toBeGreaterThanOrEqual(1);

    // SIGTERM: the survivors stop cleanly (drain, leave the group).
    for (const s of survivors) s.proc.kill('SIGTERM');
    for (const s of survivors) expect((await s.exit).code).toBe(0);
  }, 600_000);
});

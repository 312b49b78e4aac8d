// The replica against a real broker: binding events for a lab population are written
// to a fresh topic (built here from the lab's own bulk answers through the events
// model, independent of the connector), a Replica consumes them, and its answers over
// UDP, Bulk and HTTP are compared with the lab server's answers to the same queries.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent, normalizeClientData, type BindingEvent } from '../../src/events/index.js';
import { TransactionalProducer, partitionForKey } from '../../src/kafka/index.js';
import { LabServer } from '../../src/lab/index.js';
import { activeLeasequery, bulkLeasequery, udpLeasequery, type QuerySpec, type ReportedBinding } from '../../src/leasequery/requestor/index.js';
import { dhcpTimeToUnixMs, formatIPv6, parseIPv6, unixMsToDhcpTime } from '../../src/protocol/index.js';
import { Replica, startReplicaHttp, type ReplicaHttp } from '../../src/replica/index.js';
import { compareViewWithDump, describeComparison } from '../helpers/convergence.js';
import { createTopic, eventually, kafkaConfig, uniqueTopic, waitForKafka } from '../helpers/kafka.js';

let lab: LabServer;
let topic: string;
let producer: TransactionalProducer;
let dataDir: string;
let produced = 0;

/** The lab's current bindings on `link` as the connector would publish them (bulk phase). */
async function labEvents(link: string): Promise<BindingEvent[]> {
  const out: BindingEvent[] = [];
  const addr = lab.addresses!;
  for await (const e of bulkLeasequery({ host: '::1', port: addr.tcpPort }, { type: 'link', link: parseIPv6(link) })) {
    if (e.kind !== 'binding') continue;
    out.push(
      normalizeClientData(e.clientData, e.raw(), {
        source: { name: 'lab-0', serverDuid: lab.serverDuid.toString('hex') },
        phase: 'bulk',
        baseTime: e.baseTime as number,
        receivedAt: e.receivedAt,
        queryLink: parseIPv6(link),
      }),
    );
  }
  return out;
}

async function publish(events: BindingEvent[], extra: Buffer[] = []): Promise<void> {
  const records = events.map((e) => ({ topic, ...encodeEvent(e) }));
  for (const v of extra) records.push({ topic, key: 'junk', value: v as unknown as Buffer, headers: {} });
  await producer.commitBatch(records);
  await producer.settle();
  produced += records.length;
}

function links(): string[] {
  return [...new Set(lab.dumpBindings().bindings.map((b) => b.linkAddress))].sort();
}

/** What a reported binding says, up to elapsed time: resources, the client, its relay. */
function shape(b: ReportedBinding | undefined): unknown {
  if (!b) return undefined;
  return {
    client: b.clientDuid?.toString('hex'),
    link: b.linkAddress ? formatIPv6(b.linkAddress) : undefined,
    addresses: b.addresses.map((a) => formatIPv6(a.address)).sort(),
    prefixes: b.prefixes.map((p) => `${formatIPv6(p.prefix)}/${p.prefixLength}`).sort(),
    relayPeer: b.relay ? formatIPv6(b.relay.peerAddress) : undefined,
  };
}

/** Lifetimes and CLT_TIME agree within a few seconds (the two answers are not simultaneous). */
function expectTimesClose(a: ReportedBinding, b: ReportedBinding): void {
  const la = new Map(a.addresses.map((x) => [formatIPv6(x.address), x.validLifetime]));
  for (const x of b.addresses) expect(Math.abs((la.get(formatIPv6(x.address)) ?? -1e9) - x.validLifetime)).toBeLessThanOrEqual(3);
  if (a.cltTime !== undefined || b.cltTime !== undefined) expect(Math.abs((a.cltTime ?? 0) - (b.cltTime ?? 0))).toBeLessThanOrEqual(3);
}

async function udpBoth(replica: Replica, spec: QuerySpec) {
  const opts = { host: '::1', irtMs: 200, mrc: 4 };
  const [l, r] = await Promise.all([udpLeasequery(spec, { ...opts, port: lab.addresses!.udpPort }), udpLeasequery(spec, { ...opts, port: replica.listening!.udpPort })]);
  return { l, r };
}

async function bulkSet(port: number | undefined, spec: QuerySpec): Promise<{ status: number; items: string[]; byKey: Map<string, ReportedBinding> }> {
  const items: string[] = [];
  const byKey = new Map<string, ReportedBinding>();
  let status = -1;
  for await (const e of bulkLeasequery({ host: '::1', port: port as number }, spec)) {
    if (e.kind === 'done') status = e.status;
    else {
      items.push(JSON.stringify(shape(e.binding)));
      byKey.set(`${e.binding.clientDuid?.toString('hex')}`, e.binding);
    }
  }
  return { status, items: items.sort(), byKey };
}

function captureLogger(lines: string[]) {
  return pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
}

function newReplica(extra: Partial<ConstructorParameters<typeof Replica>[0]> = {}): Replica {
  return new Replica({ kafka: kafkaConfig(), topic, dataDir, udpPort: 0, tcpPort: 0, lagPollMs: 200, snapshotIntervalMs: 0, ...extra });
}

beforeAll(async () => {
  await waitForKafka();
  topic = await createTopic(uniqueTopic('replica'), { partitions: 3 });
  dataDir = await mkdtemp(join(tmpdir(), 'lqr-replica-'));
  lab = await LabServer.create({ seed: 11, clients: 160, links: 4, pdRatio: 0.3 });
  await lab.start();
  producer = await TransactionalProducer.connect(kafkaConfig(), { transactionalId: `replica-test-${process.pid}-${Date.now()}` });
  const all: BindingEvent[] = [];
  for (const l of links()) all.push(...(await labEvents(l)));
  expect(all.length).toBeGreaterThan(100);
  // One record that is not an event: counted and skipped, never a crash.
  await publish(all, [Buffer.from('{"type":"binding","garbage":true}')]);
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await lab?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('replica', () => {
  it('is not ready and keeps its listeners closed until caught up, then answers like the lab server', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const replica = newReplica({ beforeBatch: () => gate });
    await replica.start();
    let http: ReplicaHttp | undefined;
    try {
      http = await startReplicaHttp({ replica, port: 0 });
      const base = `http://[::1]:${http.port}`;
      expect(replica.ready).toBe(false);
      expect(replica.listening).toBeUndefined();
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const some = lab.dumpBindings().bindings[0];
      expect((await fetch(`${base}/v1/bindings?client-id=${some.clientId}`)).status).toBe(503);
      release();
      await replica.whenReady();
      await eventually(() => (replica.ready ? true : undefined), 30_000, 'ready');
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(replica.status().records.invalid).toBe(1);
      expect(replica.status().records.total).toBe(produced);

      const dump = lab.dumpBindings().bindings;
      const sample = dump.filter((_, i) => i % 9 === 0);
      // UDP: by address and by client-id.
      for (const b of sample) {
        const target = b.addresses[0]?.address ?? b.prefixes[0]?.prefix;
        const specs: QuerySpec[] = [{ type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') }];
        if (target) specs.push({ type: 'address', address: parseIPv6(target) });
        for (const spec of specs) {
          const { l, r } = await udpBoth(replica, spec);
          expect(r.status, JSON.stringify(spec)).toBe(l.status);
          expect(shape(r.binding)).toEqual(shape(l.binding));
          expect(r.serverDuid?.equals(replica.serverDuid)).toBe(true);
          if (l.binding && r.binding) expectTimesClose(l.binding, r.binding);
        }
      }
      // An address nobody holds: no binding from either. The lab knows its configured
      // ranges and says NotConfigured (RFC 5007 4.4.1) for one outside them; the replica
      // does not know the servers' ranges (the projection does not model them), so it
      // answers Success without client data.
      const none = await udpBoth(replica, { type: 'address', address: parseIPv6('2001:db8:ffff::1') });
      expect(none.l.binding).toBeUndefined();
      expect(none.r.binding).toBeUndefined();
      expect([0, none.l.status]).toContain(none.r.status);

      // Bulk: by link, relay-id, remote-id.
      const bulkSpecs: QuerySpec[] = links().map((l) => ({ type: 'link', link: parseIPv6(l) }) as QuerySpec);
      for (const b of sample.slice(0, 6)) {
        if (b.relayId) bulkSpecs.push({ type: 'relay-id', relayId: Buffer.from(b.relayId, 'hex') });
        if (b.remoteId) bulkSpecs.push({ type: 'remote-id', enterpriseNumber: b.remoteId.enterpriseNumber, remoteId: Buffer.from(b.remoteId.id, 'hex') });
      }
      expect(bulkSpecs.length).toBeGreaterThan(links().length);
      for (const spec of bulkSpecs) {
        const [l, r] = await Promise.all([bulkSet(lab.addresses!.tcpPort, spec), bulkSet(replica.listening!.tcpPort, spec)]);
        expect(r.status).toBe(l.status);
        expect(r.items).toEqual(l.items);
        for (const [k, lb] of l.byKey) expectTimesClose(lb, r.byKey.get(k)!);
      }

      // HTTP: the same bindings as UDP by address, with lifetimes recomputed now.
      for (const b of sample) {
        const target = b.addresses[0]?.address;
        if (!target) continue;
        const res = await fetch(`${base}/v1/bindings?address=${target}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { status: string; bindings: { clientId: string; addresses: { address: string; validLifetime: number }[] }[]; kafka: { positions: Record<string, string> } };
        const { l } = await udpBoth(replica, { type: 'address', address: parseIPv6(target) });
        expect(body.status).toBe('Success');
        expect(body.bindings.map((x) => x.clientId)).toEqual([l.binding!.clientDuid!.toString('hex')]);
        expect(body.bindings[0].addresses.map((a) => a.address).sort()).toEqual(shape(l.binding) && (shape(l.binding) as { addresses: string[] }).addresses);
        expect(Object.keys(body.kafka.positions).length).toBe(3);
        // The report it rests on: source, its record in lq.events (keyed by client), both clocks.
        const report = (body.bindings[0] as unknown as { report: { source: string; kafka: { topic: string; partition: number; offset: string }; baseTime: number; serverClock: { reportedAt: string }; connectorClock: { receivedAt: string } } }).report;
        expect(report.source).toBe('lab-0');
        expect(report.kafka.topic).toBe(topic);
        expect(report.kafka.partition).toBe(partitionForKey(body.bindings[0].clientId, 3));
        expect(BigInt(report.kafka.offset)).toBeLessThan(BigInt(body.kafka.positions[String(report.kafka.partition)]));
        expect(Date.parse(report.serverClock.reportedAt)).toBe(dhcpTimeToUnixMs(report.baseTime));
        expect(Number.isFinite(Date.parse(report.connectorClock.receivedAt))).toBe(true);
      }
      // HTTP by link, client-id, relay-id: the same clients as the lab's bulk answers.
      const httpClients = async (qs: string) => {
        const body = (await (await fetch(`${base}/v1/bindings?${qs}`)).json()) as { bindings: { clientId: string }[] };
        return body.bindings.map((x) => x.clientId).sort();
      };
      const labClients = async (spec: QuerySpec) => [...(await bulkSet(lab.addresses!.tcpPort, spec)).byKey.keys()].sort();
      for (const l of links()) expect(await httpClients(`link=${l}`)).toEqual(await labClients({ type: 'link', link: parseIPv6(l) }));
      for (const b of sample.slice(0, 5)) {
        expect(await httpClients(`client-id=${b.clientId}`)).toEqual(await labClients({ type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') }));
        if (b.relayId) expect(await httpClients(`relay-id=${b.relayId}`)).toEqual(await labClients({ type: 'relay-id', relayId: Buffer.from(b.relayId, 'hex') }));
      }
      const bad = await fetch(`${base}/v1/bindings?address=nope`);
      expect(bad.status).toBe(400);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/lqr_replica_bindings \d+/);
      expect(metrics).toMatch(/lqr_replica_lag_records 0/);
      expect(metrics).toMatch(/lqr_replica_records_total\{outcome="invalid"\} 1/);
      expect(metrics).toMatch(/lqr_replica_leasequery_queries_total\{kind="udp"\} \d+/);
    } finally {
      await http?.close();
      await replica.stop(); // writes the shutdown snapshot
    }
  });

  it('restarts from its snapshot and consumes only the tail', async () => {
    const snaps = await readdir(join(dataDir, 'snapshots'));
    expect(snaps.some((n) => n.endsWith('.lqsnap'))).toBe(true);
    // The tail: the same link reported again later (a connector's resync). Releases are
    // not part of this: a lab step would need bulk-complete retirement events too.
    const link = links()[0];
    const tail = await labEvents(link);
    const before = produced;
    await publish(tail);
    const replica = newReplica();
    await replica.start();
    try {
      await replica.whenReady();
      expect(replica.status().snapshot.loadedFrom).not.toBeNull();
      expect(replica.status().records.total).toBe(produced - before);
      const spec: QuerySpec = { type: 'link', link: parseIPv6(link) };
      const [l, r] = await Promise.all([bulkSet(lab.addresses!.tcpPort, spec), bulkSet(replica.listening!.tcpPort, spec)]);
      expect(r.items).toEqual(l.items);
    } finally {
      await replica.stop();
    }
  });

  it('ignores a corrupt snapshot with a warning and rebuilds from the topic', async () => {
    const dir = join(dataDir, 'snapshots');
    for (const n of await readdir(dir)) await writeFile(join(dir, n), Buffer.from('not a snapshot at all'));
    const lines: string[] = [];
    const replica = newReplica({ logger: captureLogger(lines) });
    await replica.start();
    try {
      await replica.whenReady();
      expect(lines.some((l) => l.includes('skipping bad snapshot'))).toBe(true);
      expect(replica.status().snapshot.loadedFrom).toBeNull();
      expect(replica.status().records.total).toBe(produced);
      const link = links()[0];
      const spec: QuerySpec = { type: 'link', link: parseIPv6(link) };
      const [l, r] = await Promise.all([bulkSet(lab.addresses!.tcpPort, spec), bulkSet(replica.listening!.tcpPort, spec)]);
      expect(r.items).toEqual(l.items);
    } finally {
      await replica.stop({ snapshot: false });
    }
  });

  it('several replicas on the same topic: each complete, each with its own server DUID', async () => {
    const dirs = await Promise.all([0, 1, 2].map(() => mkdtemp(join(tmpdir(), 'lqr-replica-many-'))));
    const replicas = dirs.map((d) => new Replica({ kafka: kafkaConfig(), topic, dataDir: d, udpPort: 0, tcpPort: 0, lagPollMs: 200, snapshotIntervalMs: 0 }));
    try {
      await Promise.all(replicas.map((r) => r.start()));
      await Promise.all(replicas.map((r) => r.whenReady()));
      const truth = lab.dumpBindings();
      for (const r of replicas) {
        const c = compareViewWithDump(r.projection, truth);
        expect(c.equal, describeComparison(c)).toBe(true);
        expect(c.actual).toBe(truth.bindings.length);
      }
      expect(new Set(replicas.map((r) => r.serverDuid.toString('hex'))).size).toBe(3);
      // Each answers on its own port, the same answer.
      const target = truth.bindings.find((b) => b.addresses.length > 0)!.addresses[0].address;
      const answers = await Promise.all(replicas.map((r) => udpLeasequery({ type: 'address', address: parseIPv6(target) }, { host: '::1', port: r.listening!.udpPort, irtMs: 200, mrc: 4 })));
      expect(new Set(answers.map((a) => a.binding?.clientDuid?.toString('hex'))).size).toBe(1);
      expect(answers[0].binding).toBeDefined();
    } finally {
      await Promise.all(replicas.map((r) => r.stop({ snapshot: false })));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  });

  it('answers Active Leasequery catch-up from the topic history, without DataMissing', async () => {
    const replica = newReplica();
    await replica.start();
    try {
      await replica.whenReady();
      const since = Date.now();
      await new Promise((r) => setTimeout(r, 1100));
      lab.step(60);
      const link = links()[1];
      const changed = lab
        .dumpBindings()
        .bindings.filter((b) => b.linkAddress === link && b.changedAt >= since + 1000)
        .map((b) => b.clientId)
        .sort();
      expect(changed.length).toBeGreaterThan(0);
      const tail = await labEvents(link);
      const before = replica.status().records.total;
      await publish(tail);
      await eventually(() => (replica.status().records.total >= before + tail.length ? true : undefined), 30_000, 'tail applied');
      const seen = new Set<string>();
      let ended: string | undefined;
      for await (const e of activeLeasequery({ host: '::1', port: replica.listening!.tcpPort as number }, undefined, { startTime: unixMsToDhcpTime(since) })) {
        if (e.kind === 'binding' && e.phase === 'catch-up') seen.add(e.binding.clientDuid!.toString('hex'));
        if (e.kind === 'catch-up-complete' || e.kind === 'data-missing' || e.kind === 'done') {
          ended = e.kind;
          break;
        }
      }
      expect(ended).toBe('catch-up-complete');
      for (const c of changed) expect(seen.has(c), c).toBe(true);
    } finally {
      await replica.stop({ snapshot: false });
    }
  });
});

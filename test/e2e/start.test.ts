// `lqr start` as a person runs it: the built CLI as a child process on the test run's
// broker (KAFKA_BROKERS, so no second broker is started) with its own data directory
// and topic prefix. It must print where everything listens and a command for an
// address that is bound; that address must really be answered by the replica over UDP
// (the project's requestor) and over HTTP; status lines must follow; SIGINT must stop
// it with exit code 0, leaving no process or listening port behind. Also: --config
// with a bad file, --config with a good one (a lab server standing in for a real
// DHCPv6 server), and a port given on the command line that is taken.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LabServer } from '../../src/lab/index.js';
import { udpLeasequery } from '../../src/leasequery/requestor/index.js';
import { formatIPv6, parseIPv6 } from '../../src/protocol/index.js';
import { buildForChild } from '../helpers/build-child.js';
import { eventually, kafkaBrokers, uniqueTopic, waitForKafka } from '../helpers/kafka.js';

interface Child {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(entry: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, [entry, 'start', ...args], {
    env: { ...process.env, npm_lifecycle_event: '', LQR_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (into: string[]) => {
    let buf = '';
    return (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      into.push(...parts);
    };
  };
  const stdout: string[] = [];
  const stderr: string[] = [];
  proc.stdout?.on('data', collect(stdout));
  proc.stderr?.on('data', collect(stderr));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return { proc, stdout, stderr, exit };
}

const text = (c: Child) => `--- stdout\n${c.stdout.join('\n')}\n--- stderr\n${c.stderr.join('\n')}`;

/** Fails with the child's output when it exits before `check` holds. */
async function until<T>(c: Child, check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  let exited = false;
  void c.exit.then(() => (exited = true));
  return eventually(
    () => {
      const v = check();
      if (v !== undefined) return v;
      if (exited) throw new Error(`lqr start exited before ${what}:\n${text(c)}`);
      return undefined;
    },
    timeoutMs,
    what,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${text(c)}`);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}

function children(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp6');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

interface Printed {
  labs: { name: string; port: number }[];
  replicaUdp: { host: string; port: number };
  replicaTcp: { host: string; port: number };
  httpUrl: string;
  address: string;
  queryCommand: string;
  curlCommand: string;
}

/** The endpoints and commands of the "Ready" summary, once it is complete. */
function parseSummary(lines: string[]): Printed | undefined {
  const out = lines.join('\n');
  if (!/^Ready in [\d.]+ s\./m.test(out) || !/^ {2}curl /m.test(out)) return undefined;
  const labs = [...out.matchAll(/^ {2}(lab-\d) \(DHCPv6\)\s+(?:\[[^\]]+\]:(\d+) UDP\+TCP|UDP \[[^\]]+\]:(\d+), TCP)/gm)].map((m) => ({ name: m[1], port: Number(m[2] ?? m[3]) }));
  const both = /^ {2}replica leasequery\s+\[([^\]]+)\]:(\d+) UDP\+TCP/m.exec(out);
  const udp = both ?? /^ {2}replica leasequery\s+\[([^\]]+)\]:(\d+) UDP$/m.exec(out);
  const tcp = both ?? /^ {2}replica leasequery\s+\[([^\]]+)\]:(\d+) TCP$/m.exec(out);
  const http = /^ {2}replica HTTP\s+(http:\/\/\S+)/m.exec(out);
  const example = /^Try it: (\S+) is bound right now/m.exec(out);
  const query = /^ {2}(.* query --server '\[[^\]]+\]:\d+' --address \S+)$/m.exec(out);
  const curl = /^ {2}(curl .*)$/m.exec(out);
  if (!udp || !tcp || !http || !example || !query || !curl) throw new Error(`summary not as expected:\n${out}`);
  return {
    labs,
    replicaUdp: { host: udp[1], port: Number(udp[2]) },
    replicaTcp: { host: tcp[1], port: Number(tcp[2]) },
    httpUrl: http[1],
    address: example[1],
    queryCommand: query[1],
    curlCommand: curl[1],
  };
}

const STATUS = /│ (?:…|[\d.,]+) events\/s │ replica ([\d,]+) bindings, lag ([\d,]+)/;

describe('lqr start', () => {
  let entry: string;
  const dirs: string[] = [];
  const procs: Child[] = [];
  const tempDir = (tag: string) => {
    const d = mkdtempSync(join(tmpdir(), `lqr-e2e-start-${tag}-`));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    entry = buildForChild('src/cli/lqr.ts');
    await waitForKafka();
  });

  afterAll(() => {
    for (const c of procs) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('runs lab servers, connector and replica; the printed address answers over UDP and HTTP; SIGINT stops everything', async () => {
    const dataDir = tempDir('lab');
    const prefix = `${uniqueTopic('e2e-start')}.`;
    const c = startChild(
      entry,
      // Ephemeral ports (other tests or a running demo may hold the defaults); a slow
      // workload, so that the printed address is still bound when it is asked for.
      ['--data-dir', dataDir, '--topic-prefix', prefix, '--lab-port', '0', '--replica-port', '0', '--http-port', '0', '--metrics-port', '0', '--clients', '400', '--rate', '2', '--status-every', '1'],
      { KAFKA_BROKERS: kafkaBrokers() },
    );
    procs.push(c);
    const printed = await until(c, () => parseSummary(c.stdout), 180_000, 'the Ready summary');
    const pid = c.proc.pid as number;
    const kids = children(pid);

    // Progress went to stderr, human readable, naming the external cluster and the topics.
    const progress = c.stderr.join('\n');
    expect(progress).toMatch(/Kafka: using the existing cluster \(KAFKA_BROKERS\)/);
    expect(progress).toContain(`${prefix}lq.events`);
    expect(progress).toMatch(/initial load: .*: done/);
    expect(progress).not.toMatch(/^\s+at /m);
    expect(printed.labs.map((l) => l.name)).toEqual(['lab-0', 'lab-1']);
    expect(printed.queryCommand).toContain(`--server '[${printed.replicaUdp.host}]:${printed.replicaUdp.port}' --address ${printed.address}`);
    expect(printed.curlCommand).toBe(`curl '${printed.httpUrl}/v1/bindings?address=${printed.address}'`);

    // A real RFC 5007 UDP leasequery to the printed replica port, for the printed address.
    const address = parseIPv6(printed.address);
    const answer = await udpLeasequery({ type: 'address', address }, { host: printed.replicaUdp.host, port: printed.replicaUdp.port, irtMs: 500, mrc: 4 });
    expect(answer.status).toBe(0);
    expect(answer.binding?.addresses.map((a) => formatIPv6(a.address))).toContain(printed.address);

    // The HTTP API, at the printed URL.
    const res = await fetch(`${printed.httpUrl}/v1/bindings?address=${printed.address}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { bindings: { addresses: { address: string }[] }[] };
    expect(body.bindings.flatMap((b) => b.addresses.map((a) => a.address))).toContain(printed.address);

    // Status lines (stdout is a pipe: whole lines, no rewriting), with bindings in the replica.
    const statuses = await until(
      c,
      () => {
        const s = c.stdout.filter((l) => STATUS.test(l));
        return s.length >= 3 ? s : undefined;
      },
      30_000,
      'three status lines',
    );
    expect(statuses.join('\n')).not.toContain('\r');
    const last = STATUS.exec(statuses[statuses.length - 1]) as RegExpExecArray;
    expect(Number(last[1].replace(/,/g, ''))).toBeGreaterThan(0);
    expect(statuses[statuses.length - 1]).toMatch(/lab-0 live, lab-1 live/);

    // SIGINT: everything stops in order, exit code 0.
    c.proc.kill('SIGINT');
    const exit = await withTimeout(c.exit, 60_000, 'exit after SIGINT');
    expect(exit, text(c)).toEqual({ code: 0, signal: null });
    const shutdown = c.stderr.join('\n');
    expect(shutdown).toMatch(/replica: stopped \(snapshot of [\d,]+ bindings/);
    expect(shutdown).toMatch(/connector: stopped/);
    expect(shutdown).toMatch(/lab server 0: stopped \(database saved/);
    expect(shutdown).toMatch(/^stopped\.$/m);
    expect(shutdown).not.toMatch(/^\s+at /m);
    for (const k of kids) expect(alive(k), `child ${k} of lqr start still running`).toBe(false);
    // Nothing listens any more on the ports it printed.
    expect(await udpFree(printed.replicaUdp.host, printed.replicaUdp.port)).toBe(true);
    expect(await tcpFree(printed.replicaTcp.host, printed.replicaTcp.port)).toBe(true);
    expect(await tcpFree('::1', Number(new URL(printed.httpUrl).port))).toBe(true);
    for (const l of printed.labs) expect(await udpFree('::1', l.port)).toBe(true);
    expect(existsSync(join(dataDir, 'lqr-start.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'lab', 'server-0.state'))).toBe(true);
  }, 300_000);

  // What `npm start` does on a fresh machine: its own broker. A second JVM beside the
  // run's broker is heavy for a small machine, hence opt-in: LQR_TEST_START_LOCAL_KAFKA=1.
  it.runIf(process.env.LQR_TEST_START_LOCAL_KAFKA === '1')('starts and stops its own local Kafka broker', async () => {
    const dataDir = tempDir('local');
    const c = startChild(entry, ['--data-dir', dataDir, '--kafka-port', '0', '--lab-port', '0', '--replica-port', '0', '--http-port', '0', '--metrics-port', '0', '--clients', '200'], {
      KAFKA_BROKERS: '',
    });
    procs.push(c);
    const printed = await until(c, () => parseSummary(c.stdout), 280_000, 'the Ready summary');
    expect(c.stderr.join('\n')).toMatch(/^Kafka: starting a local broker on 127\.0\.0\.1:\d+: done/m);
    const brokerPid = Number(/local broker \(Kafka [\d.]+, pid (\d+)\)/.exec(c.stdout.join('\n'))?.[1]);
    expect(alive(brokerPid)).toBe(true);
    const answer = await udpLeasequery({ type: 'address', address: parseIPv6(printed.address) }, { host: printed.replicaUdp.host, port: printed.replicaUdp.port, irtMs: 500, mrc: 4 });
    expect(answer.status).toBe(0);
    c.proc.kill('SIGINT');
    expect(await withTimeout(c.exit, 90_000, 'exit after SIGINT'), text(c)).toEqual({ code: 0, signal: null });
    expect(c.stderr.join('\n')).toMatch(/Kafka broker: stopped/);
    expect(alive(brokerPid)).toBe(false);
  }, 400_000);

  it('--config with a bad file: the fields named, exit code 2, no stack trace, nothing started', async () => {
    const dir = tempDir('badcfg');
    const file = join(dir, 'connector.yaml');
    writeFileSync(file, stringify({ id: 'not valid!', sources: [{ name: 'dhcp-a', host: '::1', port: 70000 }], batch: { maxEvnts: 10 } }));
    const c = startChild(entry, ['--config', file, '--data-dir', join(dir, 'state')], { KAFKA_BROKERS: '' });
    procs.push(c);
    const exit = await withTimeout(c.exit, 30_000, 'exit on a bad config');
    const err = c.stderr.join('\n');
    expect(exit.code, text(c)).toBe(2);
    expect(err).toContain(file);
    expect(err).toMatch(/\bid: /);
    expect(err).toMatch(/sources\[0\]\.port: /);
    expect(err).toMatch(/batch\.maxEvnts: unknown field/);
    expect(err).not.toMatch(/^\s+at /m);
    expect(err).not.toMatch(/Kafka: starting/);
    expect(existsSync(join(dir, 'state'))).toBe(false);

    const missing = startChild(entry, ['--config', join(dir, 'nope.yaml'), '--data-dir', join(dir, 'state')], {});
    procs.push(missing);
    expect((await withTimeout(missing.exit, 30_000, 'exit on a missing config')).code).toBe(2);
    expect(missing.stderr.join('\n')).toMatch(/nope\.yaml: invalid configuration: \(root\): cannot read the file: ENOENT/);
    expect(missing.stderr.join('\n')).not.toMatch(/^\s+at /m);
  });

  it('a port given on the command line that is taken: a clear error, exit code 1', async () => {
    const dir = tempDir('port');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ host: '::1', port: 0 }, () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const c = startChild(entry, ['--data-dir', dir, '--lab-port', String(port), '--topic-prefix', `${uniqueTopic('e2e-start-port')}.`], { KAFKA_BROKERS: kafkaBrokers() });
      procs.push(c);
      const exit = await withTimeout(c.exit, 60_000, 'exit on a taken port');
      expect(exit.code, text(c)).toBe(1);
      const err = c.stderr.join('\n');
      expect(err).toContain(`lab server 0: UDP+TCP port [::1]:${port} is already in use; choose another with --lab-port`);
      expect(err).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('--config runs the connector and a replica against the servers of the file', async () => {
    const dir = tempDir('cfg');
    // A lab server stands in for a production DHCPv6 server.
    const lab = await LabServer.create({ seed: 77, clients: 200, links: 3 });
    const addr = await lab.start();
    try {
      const prefix = `${uniqueTopic('e2e-start-cfg')}.`;
      const file = join(dir, 'connector.yaml');
      writeFileSync(
        file,
        stringify({
          id: `e2e-start-${process.pid}`,
          kafka: { brokers: kafkaBrokers().split(','), topics: { events: { name: 'lq.events', partitions: 2 }, sources: { name: 'lq.sources' } } },
          metrics: { port: 0 },
          sources: [{ name: 'dhcp-x', host: addr.host, port: addr.tcpPort, scopes: { links: lab.db.topology.links.map((l) => formatIPv6(l.linkAddress)) } }],
        }),
      );
      const c = startChild(entry, ['--config', file, '--data-dir', join(dir, 'state'), '--topic-prefix', prefix, '--replica-port', '0', '--http-port', '0'], { KAFKA_BROKERS: '' });
      procs.push(c);
      const printed = await until(c, () => parseSummary(c.stdout), 180_000, 'the Ready summary');
      expect(printed.labs).toEqual([]);
      expect(c.stdout.join('\n')).toMatch(/^ {2}source dhcp-x\s+\[::1\]:\d+ TCP/m);
      expect(c.stderr.join('\n')).toMatch(new RegExp(`Kafka: using the existing cluster \\(from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
      expect(c.stderr.join('\n')).toContain(`${prefix}lq.events`);
      // The printed address is one the server holds, and the replica answers for it.
      const truth = lab.dumpBindings().bindings.flatMap((b) => b.addresses.map((a) => a.address));
      expect(truth).toContain(printed.address);
      const answer = await udpLeasequery({ type: 'address', address: parseIPv6(printed.address) }, { host: printed.replicaUdp.host, port: printed.replicaUdp.port, irtMs: 500, mrc: 4 });
      expect(answer.status).toBe(0);
      c.proc.kill('SIGTERM');
      expect(await withTimeout(c.exit, 60_000, 'exit after SIGTERM'), text(c)).toEqual({ code: 0, signal: null });
      expect(c.stderr.join('\n')).toMatch(/^SIGTERM: stopping/m);
    } finally {
      await lab.stop();
    }
  }, 300_000);
});

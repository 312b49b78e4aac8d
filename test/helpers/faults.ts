// Processes and fault tools for the fault suites (test/e2e/faults/): the lab servers,
// connectors and replicas each run as a separate `lqr` process (the CLI built by
// build-child.ts), the broker is a local KRaft broker of the suite's own (or the test
// run's, which is never killed), and faults are real: signals (SIGKILL, SIGSTOP/SIGCONT),
// TCP connections cut or stalled by an in-runner proxy, restarts on the same ports and
// data, a replica's snapshot directory made unwritable.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { launchLocalKafka, portIsFree, type LaunchingKafka } from '../../deploy/kafka/launcher.js';
import type { BindingsDump } from '../../src/lab/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it returns something other than undefined (or throw after timeoutMs). */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}

/** A free TCP port on loopback (and, with `span`, the `span - 1` ports after it too). */
export async function freePorts(span = 1): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < span && ok; i++) ok = (await portIsFree(p + i)) && (await v6PortIsFree(p + i));
    if (ok) return p;
  }
  throw new Error('no free port range found');
}

function v6PortIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '::1', () => s.close(() => resolve(true)));
  });
}

// ---- child processes -------------------------------------------------------------------

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One `lqr` child process: its output lines (kept, and appended to a log file), signals, exit. */
export class Proc {
  readonly lines: string[] = [];
  readonly exit: Promise<ExitInfo>;
  exitInfo?: ExitInfo;
  readonly startedAt = Date.now();
  private readonly proc: ChildProcess;
  private readonly log?: WriteStream;

  constructor(
    readonly name: string,
    entry: string,
    readonly args: string[],
    opts: { logDir?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    if (opts.logDir) {
      mkdirSync(opts.logDir, { recursive: true });
      this.log = createWriteStream(join(opts.logDir, `${name}.log`), { flags: 'a' });
      this.log.write(`---- ${new Date().toISOString()} start: lqr ${args.join(' ')}\n`);
    }
    this.proc = spawn(process.execPath, [entry, ...args], {
      env: { ...process.env, KAFKA_BROKERS: '', LQR_LOG_LEVEL: 'info', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    const onData = (d: Buffer) => {
      this.log?.write(d);
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.lines.push(...parts);
      // Keep memory bounded on long runs (the log file has everything).
      if (this.lines.length > 20_000) this.lines.splice(0, this.lines.length - 10_000);
    };
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
    this.exit = new Promise<ExitInfo>((r) =>
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.log?.write(`---- ${new Date().toISOString()} exit: code ${code} signal ${signal}\n`);
        this.log?.end();
        r(this.exitInfo);
      }),
    );
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** JSON log lines (pino) whose msg matches. */
  logged(msg: RegExp): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.lines) {
      if (!l.startsWith('{')) continue;
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        if (typeof j.msg === 'string' && msg.test(j.msg)) out.push(j);
      } catch {
        // a partial line
      }
    }
    return out;
  }

  /** Wait for an output line matching `re` (plain or JSON text). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
    return until(
      () => {
        const l = this.lines.find((x) => re.test(x));
        if (l !== undefined) return l;
        if (!this.alive) throw new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before printing ${re}:\n${this.lines.slice(-15).join('\n')}`);
        return undefined;
      },
      timeoutMs,
      `${this.name}: ${re}`,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n  last output of ${this.name}:\n  ${this.lines.slice(-10).join('\n  ')}`);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  async kill9(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exit;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<ExitInfo> {
    if (!this.alive) return this.exit;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(t);
    }
  }
}

// ---- HTTP ------------------------------------------------------------------------------

export async function httpJson<T>(url: string, init?: RequestInit, timeoutMs = 10_000): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** The value of one Prometheus sample (undefined when absent). */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

// ---- lab servers -----------------------------------------------------------------------

export interface LabSpec {
  clients: number;
  links: number;
  /** Servers in the process (partitioned: disjoint clients, so no two sources contend for an address). */
  servers: number;
  seed: number;
  /** History kept for catch-up (small = DataMissing sooner). */
  history: number;
  pdRatio?: number;
  clockOffsetS?: number;
}

/** `lqr lab` as a process: fixed ports (so a restart keeps them), a state file, an admin port. */
export class LabProc {
  proc?: Proc;
  restarts = 0;
  clockOffsetS: number;

  private constructor(
    private readonly entry: string,
    readonly spec: LabSpec,
    readonly port: number,
    readonly adminPort: number,
    readonly stateFile: string,
    private readonly logDir: string,
    /** A lab host (test/e2e/faults/lab-host.ts) with live clock control instead of `lqr lab`. */
    private readonly clockHost?: { entry: string; port: number },
  ) {
    this.clockOffsetS = spec.clockOffsetS ?? 0;
  }

  static async create(entry: string, spec: LabSpec, dir: string, logDir: string, clockHostEntry?: string): Promise<LabProc> {
    const port = await freePorts(spec.servers);
    const admin = await freePorts(1);
    const clockHost = clockHostEntry ? { entry: clockHostEntry, port: await freePorts(1) } : undefined;
    return new LabProc(entry, spec, port, admin, join(dir, 'lab.state'), logDir, clockHost);
  }

  /** Step the servers' clocks while they run (lab host only). */
  async setClockOffset(offsetS: number): Promise<void> {
    if (!this.clockHost) throw new Error('live clock steps need the lab host');
    const r = await fetch(`http://[::1]:${this.clockHost.port}/clock?offset-s=${offsetS}`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    await r.text();
    if (r.status !== 200) throw new Error(`lab /clock: HTTP ${r.status}`);
    this.clockOffsetS = offsetS;
  }

  get base(): string {
    return `http://[::1]:${this.adminPort}`;
  }

  get linkAddresses(): string[] {
    return Array.from({ length: this.spec.links }, (_, l) => `2001:db8:${l.toString(16)}::1`);
  }

  async start(): Promise<void> {
    const s = this.spec;
    const args = ['--port', String(this.port), '--admin-port', String(this.adminPort), '--clients', String(s.clients), '--links', String(s.links)];
    args.push('--servers', String(s.servers), '--seed', String(s.seed), '--history', String(s.history));
    args.push('--pd-ratio', String(s.pdRatio ?? 0.3), '--state', this.stateFile, '--clock-offset-s', String(this.clockOffsetS));
    this.proc = this.clockHost
      ? new Proc('lab', this.clockHost.entry, [...args, '--clock-port', String(this.clockHost.port)], { logDir: this.logDir })
      : new Proc('lab', this.entry, ['lab', ...args, '--mode', 'partitioned', '--rate', '0'], { logDir: this.logDir });
    await this.proc.waitForLine(/admin HTTP on/, 60_000);
  }

  async restart(): Promise<void> {
    this.restarts++;
    await this.start();
  }

  get up(): boolean {
    return this.proc?.alive === true;
  }

  async dump(server: number, released = false): Promise<BindingsDump> {
    const r = await httpJson<BindingsDump>(`${this.base}/bindings?server=${server}${released ? '&released=1' : ''}`, undefined, 30_000);
    if (r.status !== 200) throw new Error(`lab /bindings: HTTP ${r.status}`);
    return r.body;
  }

  async stats(): Promise<{ operations: number; seq: number; activeBindings: number }[]> {
    return (await httpJson<{ operations: number; seq: number; activeBindings: number }[]>(`${this.base}/stats`)).body;
  }

  /** n workload operations on every server of the process. */
  async step(n: number): Promise<void> {
    const r = await fetch(`${this.base}/step?n=${n}`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    await r.text();
    if (r.status !== 200) throw new Error(`lab /step: HTTP ${r.status}`);
  }

  sourceNames(): string[] {
    return Array.from({ length: this.spec.servers }, (_, i) => `lab-${i}`);
  }
}

/**
 * Continuous load: every tick, N workload operations on each lab server through the
 * admin port (the labs run with --rate 0, so the runner can quiesce them). A lab that
 * is down is skipped; its ticks are counted as missed.
 */
export class LoadGen {
  ops = 0;
  missed = 0;
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly lab: LabProc,
    /** Operations per second per server. */
    readonly rate: number,
    private readonly tickMs = 100,
  ) {}

  start(): void {
    if (this.timer) return;
    const perTick = Math.max(1, Math.round((this.rate * this.tickMs) / 1000));
    this.timer = setInterval(() => {
      if (this.busy || !this.lab.up) {
        this.missed++;
        return;
      }
      this.busy = true;
      this.lab
        .step(perTick)
        .then(() => (this.ops += perTick))
        .catch(() => this.missed++)
        .finally(() => (this.busy = false));
    }, this.tickMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await sleep(20);
  }

  get running(): boolean {
    return this.timer !== undefined;
  }
}

// ---- TCP proxy between the connector and a lab server ----------------------------------

type ProxyMode = 'pass' | 'cut' | 'stall';

/**
 * A TCP proxy in the runner. 'pass' forwards; 'cut' destroys every connection and
 * resets new ones at once (the connection is cut, the peer unreachable); 'stall'
 * stops forwarding in both directions on every open connection and holds new ones
 * without connecting them (a black hole: nothing is closed, nothing arrives). Healing
 * ('pass') destroys what a stall held (by then both ends have timed out or will) and
 * forwards new connections again.
 */
export class TcpProxy {
  mode: ProxyMode = 'pass';
  connections = 0;
  private readonly pairs = new Set<{ a: Socket; b?: Socket }>();
  private server?: Server;

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const p = new TcpProxy(await freePorts(1), target);
    await p.listen();
    return p;
  }

  private listen(): Promise<void> {
    this.server = createServer((a) => this.accept(a));
    return new Promise((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.port, '::1', () => resolve());
    });
  }

  private accept(a: Socket): void {
    this.connections++;
    a.on('error', () => undefined);
    if (this.mode === 'cut') {
      a.resetAndDestroy();
      return;
    }
    const pair: { a: Socket; b?: Socket } = { a };
    this.pairs.add(pair);
    a.once('close', () => {
      pair.b?.destroy();
      this.pairs.delete(pair);
    });
    if (this.mode === 'stall') {
      a.pause();
      return;
    }
    this.connect(pair);
  }

  private connect(pair: { a: Socket; b?: Socket }): void {
    const b = new Socket();
    pair.b = b;
    b.on('error', () => pair.a.destroy());
    b.once('close', () => pair.a.destroy());
    b.connect(this.target.port, this.target.host, () => {
      pair.a.pipe(b);
      b.pipe(pair.a);
    });
  }

  cut(): void {
    this.mode = 'cut';
    for (const p of this.pairs) {
      p.a.resetAndDestroy();
      p.b?.resetAndDestroy();
    }
    this.pairs.clear();
  }

  stall(): void {
    this.mode = 'stall';
    for (const p of this.pairs) {
      p.a.unpipe();
      p.b?.unpipe();
      p.a.pause();
      p.b?.pause();
    }
  }

  heal(): void {
    if (this.mode === 'stall') {
      for (const p of this.pairs) {
        p.a.destroy();
        p.b?.destroy();
      }
      this.pairs.clear();
    }
    this.mode = 'pass';
  }

  close(): Promise<void> {
    for (const p of this.pairs) {
      p.a.destroy();
      p.b?.destroy();
    }
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

// ---- connector -------------------------------------------------------------------------

export interface ConnectorSpec {
  id: string;
  brokers: string;
  topics: { events: string; sources: string };
  partitions: number;
  sources: { name: string; host: string; port: number; links: string[] }[];
  activeRcvTimeoutMs?: number;
}

export function writeConnectorConfig(file: string, s: ConnectorSpec): void {
  writeFileSync(
    file,
    stringify({
      id: s.id,
      kafka: {
        brokers: s.brokers.split(','),
        clientId: `lqr-faults-${s.id}`,
        topics: { events: { name: s.topics.events, partitions: s.partitions, replicationFactor: 1 }, sources: { name: s.topics.sources, replicationFactor: 1 } },
      },
      metrics: { host: '127.0.0.1', port: 0 },
      session: {
        connectTimeoutMs: 2_000,
        backoff: { initialMs: 100, maxMs: 1_000 },
        ...(s.activeRcvTimeoutMs ? { activeRcvTimeoutMs: s.activeRcvTimeoutMs } : {}),
      },
      batch: { maxEvents: 2_000 },
      sources: s.sources.map((x) => ({ name: x.name, host: x.host, port: x.port, scopes: { links: x.links } })),
    }),
  );
}

/** `lqr connector` as a process, with its metrics port (ephemeral, read from its log). */
export class ConnectorProc {
  readonly proc: Proc;
  metricsPort?: number;

  constructor(entry: string, configFile: string, name: string, logDir: string) {
    this.proc = new Proc(name, entry, ['connector', '--config', configFile], { logDir });
  }

  async metricsText(): Promise<string> {
    if (this.metricsPort === undefined) {
      const l = this.proc.logged(/metrics and probes listening/)[0];
      if (!l) throw new Error('metrics port not known yet');
      this.metricsPort = Number(l.port);
    }
    const r = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return r.text();
  }

  /** Every source live and /readyz 200. */
  async waitLive(sources: string[], timeoutMs: number): Promise<void> {
    await until(
      async () => {
        if (!this.proc.alive) throw new Error(`connector exited ${JSON.stringify(this.proc.exitInfo)}:\n${this.proc.lines.slice(-10).join('\n')}`);
        const text = await this.metricsText();
        if (!sources.every((s) => promValue(text, 'lqr_connector_source_state', { source: s, state: 'live' }) === 1)) return undefined;
        const r = await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`, { signal: AbortSignal.timeout(5_000) });
        await r.text();
        return r.status === 200 ? true : undefined;
      },
      timeoutMs,
      `${this.proc.name} live`,
      250,
    );
  }
}

// ---- replica ---------------------------------------------------------------------------

export class ReplicaProc {
  proc?: Proc;
  restarts = 0;

  constructor(
    private readonly entry: string,
    readonly name: string,
    readonly brokers: string,
    readonly topic: string,
    readonly dataDir: string,
    readonly httpPort: number,
    private readonly logDir: string,
    readonly snapshotEveryS = 2,
  ) {
    mkdirSync(dataDir, { recursive: true });
  }

  get base(): string {
    return `http://[::1]:${this.httpPort}`;
  }

  start(): void {
    const args = ['replica', '--brokers', this.brokers, '--topic', this.topic, '--data-dir', this.dataDir, '--udp-port', '0', '--tcp-port', '0'];
    args.push('--http-port', String(this.httpPort), '--snapshot-every-s', String(this.snapshotEveryS));
    this.proc = new Proc(this.name, this.entry, args, { logDir: this.logDir });
  }

  async ready(): Promise<boolean> {
    try {
      const r = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(5_000) });
      await r.text();
      return r.status === 200;
    } catch {
      return false;
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await until(
      async () => {
        if (!this.proc?.alive) throw new Error(`${this.name} exited ${JSON.stringify(this.proc?.exitInfo)}:\n${this.proc?.lines.slice(-10).join('\n')}`);
        return (await this.ready()) ? true : undefined;
      },
      timeoutMs,
      `${this.name} ready`,
      250,
    );
  }

  async status(): Promise<Record<string, unknown>> {
    return (await httpJson<Record<string, unknown>>(`${this.base}/v1/status`)).body;
  }
}

// ---- broker ----------------------------------------------------------------------------

/** The suite's broker: its own local KRaft broker (killable), or the test run's (never touched). */
export interface BrokerHandle {
  brokers: string;
  owned: boolean;
  /** SIGKILL the broker's process group (wrapper + JVM). */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT the broker's process group. */
  pause(): void;
  resume(): void;
  /** Start it again on the same data directory and ports; resolves once it accepts transactions. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function externalBroker(brokers: string): BrokerHandle {
  const no = () => {
    throw new Error('the run broker is shared: this scenario needs the suite broker of its own');
  };
  return { brokers, owned: false, kill9: async () => no(), pause: no, resume: no, restart: async () => no(), stop: async () => undefined };
}

export async function ownBroker(dataDir: string): Promise<BrokerHandle> {
  const ports = { broker: await freePorts(1), controller: await freePorts(1) };
  let current: LaunchingKafka | undefined;
  const launch = async () => {
    current = await launchLocalKafka({ dataDir, keepData: true, brokerPort: ports.broker, controllerPort: ports.controller, heapMb: 384, readyTimeoutMs: 240_000 });
    await current.ready;
  };
  await launch();
  const group = (sig: NodeJS.Signals) => {
    const pid = current?.pid;
    if (pid === undefined) throw new Error('broker not running');
    process.kill(-pid, sig);
  };
  return {
    brokers: `127.0.0.1:${ports.broker}`,
    owned: true,
    async kill9() {
      group('SIGKILL');
      // The launcher sees the wrapper exit; wait for the port to be released.
      await until(async () => ((await portIsFree(ports.broker)) && (await portIsFree(ports.controller)) ? true : undefined), 30_000, 'broker ports free', 200);
    },
    pause: () => group('SIGSTOP'),
    resume: () => group('SIGCONT'),
    restart: launch,
    stop: async () => {
      await current?.stop();
    },
  };
}

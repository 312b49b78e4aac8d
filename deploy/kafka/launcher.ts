// Local Apache Kafka for development, tests and benchmarks: a single-node KRaft
// broker (combined broker + controller) on 127.0.0.1, run from the release's jars,
// which Maven resolves from Maven Central (deploy/kafka/pom.xml) into a cache.
//
//   const kafka = await startKafka();        // KAFKA_BROKERS set: uses that cluster
//   ... kafka.brokers ...                    // "127.0.0.1:PORT"
//   await kafka.stop();
//
// Modes (LQR_KAFKA_MODE or opts.mode):
//   external        KAFKA_BROKERS is set: nothing is started (chosen whenever it is set)
//   local           java + the jars (needs Java 17 and Maven, or a warm jar cache)
//   testcontainers  @testcontainers/kafka (needs a reachable Docker engine)
//   auto (default)  local when Java is installed, else testcontainers when `docker info` works
//
// A started broker dies with the process that started it: a small shell wrapper
// around java polls the parent pid (the watchdog), and exit/SIGINT/SIGTERM handlers
// stop it. The CLI (`npm run kafka:up`) starts it detached instead, with a pid file
// under .kafka/, and `npm run kafka:down` stops it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '../../src/log.js';
import { parseBrokerList, probeKafka, type KafkaSettingsInput } from '../../src/kafka/index.js';

/** The Kafka release this project is proven against (see test/integration/kafka*.test.ts). */
export const PINNED_KAFKA_VERSION = '3.9.1';
/** Image for testcontainers mode: Confluent Platform 7.9 carries Apache Kafka 3.9. */
export const TESTCONTAINERS_KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.1';

// ---------------------------------------------------------------------------------
// Errors

export type KafkaLaunchErrorCode =
  | 'NO_JAVA'
  | 'NO_MAVEN'
  | 'MAVEN_FAILED'
  | 'PORT_IN_USE'
  | 'FORMAT_FAILED'
  | 'BROKER_EXITED'
  | 'NOT_READY'
  | 'NO_DOCKER'
  | 'TESTCONTAINERS_FAILED'
  | 'INVALID_OPTIONS'
  | 'CANCELLED';

/** Why a broker could not be started. `code` says which case; the message says what to do. */
export class KafkaLaunchError extends Error {
  constructor(
    readonly code: KafkaLaunchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaLaunchError';
  }
}

export class JavaNotFoundError extends KafkaLaunchError {
  constructor(detail: string) {
    super('NO_JAVA', `Java not found (${detail}): install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME, or set KAFKA_BROKERS to use an existing cluster`);
    this.name = 'JavaNotFoundError';
  }
}

export class MavenNotFoundError extends KafkaLaunchError {
  constructor() {
    super('NO_MAVEN', 'Maven (mvn) not found on PATH and the Kafka jars are not cached yet: install Maven (e.g. apt-get install maven) or set KAFKA_BROKERS');
    this.name = 'MavenNotFoundError';
  }
}

export class MavenResolutionError extends KafkaLaunchError {
  constructor(
    readonly exitCode: number | null,
    readonly outputTail: string,
  ) {
    super('MAVEN_FAILED', `mvn could not resolve the Kafka jars (exit ${exitCode}); last lines of its output:\n${outputTail}`);
    this.name = 'MavenResolutionError';
  }
}

export class PortInUseError extends KafkaLaunchError {
  constructor(readonly port: number) {
    super('PORT_IN_USE', `port ${port} on 127.0.0.1 is already in use`);
    this.name = 'PortInUseError';
  }
}

export class BrokerExitedError extends KafkaLaunchError {
  constructor(
    readonly exitCode: number | null,
    readonly logTail: string,
    code: KafkaLaunchErrorCode = 'BROKER_EXITED',
    what = 'the Kafka broker exited during start-up',
  ) {
    super(code, `${what} (exit ${exitCode}); last lines of its log:\n${logTail}`);
    this.name = 'BrokerExitedError';
  }
}

export class BrokerNotReadyError extends KafkaLaunchError {
  constructor(
    readonly timeoutMs: number,
    readonly lastProbeError: string | undefined,
    readonly logTail: string,
  ) {
    super('NOT_READY', `the Kafka broker did not accept a transactional write within ${timeoutMs} ms (last probe: ${lastProbeError ?? 'none'}); last lines of its log:\n${logTail}`);
    this.name = 'BrokerNotReadyError';
  }
}

// ---------------------------------------------------------------------------------
// Options and result

export type KafkaMode = 'auto' | 'local' | 'testcontainers' | 'external';

export interface StartKafkaOptions {
  /** Default: LQR_KAFKA_MODE, else "auto". KAFKA_BROKERS in `env` always means "external". */
  mode?: KafkaMode;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Kafka release (default LQR_KAFKA_VERSION or PINNED_KAFKA_VERSION). */
  version?: string;
  /** Directory for the broker's data and logs; default a fresh temporary one, removed at stop. */
  dataDir?: string;
  /** Keep `dataDir` after stop (always kept when it was given). */
  keepData?: boolean;
  /** Ports on 127.0.0.1 (0 or unset = a free one). */
  brokerPort?: number;
  controllerPort?: number;
  /** JVM max heap in MiB (default 768). */
  heapMb?: number;
  /** Bound on the wait for readiness after the JVM is spawned (default 120 s). */
  readyTimeoutMs?: number;
  /** Bound on a clean shutdown before SIGKILL (default 30 s). */
  stopTimeoutMs?: number;
  /**
   * Pid the broker's watchdog follows: when that process is gone, the broker is
   * stopped. Default process.pid; 0 = no watchdog (the CLI's detached broker).
   */
  watchPid?: number;
  /** Start detached and let this process exit while the broker runs (CLI). Default false. */
  detached?: boolean;
  /** Jar cache root (default LQR_KAFKA_JAR_CACHE or ~/.cache/lq-replicator/kafka-jars). */
  jarCacheDir?: string;
  /** -Dmaven.repo.local for the jar resolution (default LQR_KAFKA_M2_REPO or Maven's own). */
  mavenRepoLocal?: string;
  /** Extra broker properties (override the defaults). */
  brokerProperties?: Record<string, string>;
  /**
   * How the readiness probe talks to the broker when brokerProperties make its listener
   * TLS or SASL (the `ssl` and `sasl` of the Kafka settings). Default: plaintext.
   */
  clientSettings?: Pick<KafkaSettingsInput, 'ssl' | 'sasl'>;
  /** Called with the wrapper's pid right after the JVM is spawned. */
  onSpawn?: (pid: number, brokers: string) => void;
}

export interface KafkaTimings {
  /** Finding the jars (mvn, or the cache). */
  resolveMs: number;
  /** kafka-storage format. */
  formatMs: number;
  /** Spawn to "accepts transactional writes". */
  readyMs: number;
  totalMs: number;
}

export interface RunningKafka {
  /** Bootstrap servers, "host:port[,host:port]". */
  brokers: string;
  mode: Exclude<KafkaMode, 'auto'>;
  /** Kafka release (unknown for external clusters). */
  version?: string;
  /** Local mode: the wrapper's pid (also its process group id). */
  pid?: number;
  dataDir?: string;
  logFile?: string;
  ports?: { broker: number; controller: number };
  /** Local mode: the java class path (the perf tools of the benchmark use it). */
  classpath?: string;
  timings?: KafkaTimings;
  /** Stop the broker (no-op for external clusters). Safe to call more than once. */
  stop(): Promise<void>;
}

/** A local broker being started: its address is known at once, readiness later. */
export interface LaunchingKafka {
  brokers: string;
  /** The wrapper's pid (also the process group of wrapper and java), once spawned. */
  readonly pid: number | undefined;
  ports: { broker: number; controller: number };
  /** Resolves once the broker accepts transactional writes; rejects with a KafkaLaunchError. */
  ready: Promise<RunningKafka>;
  /** Stop it, whether or not it is ready yet. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------
// Small helpers

const here = dirname(fileURLToPath(import.meta.url));

/** The project root: the nearest directory above this file with the project's package.json. */
export function projectRoot(): string {
  let dir = here;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lq-replicator') return dir;
      } catch {
        // not ours
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`project root (package.json of lq-replicator) not found above ${here}`);
    dir = up;
  }
}

function pomPath(): string {
  return join(projectRoot(), 'deploy', 'kafka', 'pom.xml');
}

function which(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

interface ExecResult {
  code: number | null;
  output: string;
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolvePromise({ code, output: `${stdout}${stderr}` });
    });
  });
}

function tail(text: string, lines: number): string {
  const all = text.split('\n');
  while (all.length > 0 && all[all.length - 1] === '') all.pop();
  return all.slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A sleep that does not keep the process alive (for bounds raced against other events). */
const sleepUnref = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function bindTest(port: number): Promise<number | undefined> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolvePromise(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolvePromise(bound));
    });
  });
}

/**
 * A free TCP port on 127.0.0.1. Chosen below Linux's ephemeral range (32768-60999),
 * so that no outgoing connection (e.g. Maven's downloads while the broker is being
 * prepared) takes it before the broker binds it; any free port if none is found.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await bindTest(candidate)) !== undefined) return candidate;
  }
  const any = await bindTest(0);
  if (any === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

/** True when nothing listens on 127.0.0.1:port and it can be bound. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolvePromise(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePromise(true)));
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolvePromise(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, '127.0.0.1', () => done(true));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------
// Java, Maven and the jars

export function findJava(env: NodeJS.ProcessEnv = process.env): string {
  const fromHome = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : undefined;
  if (fromHome && existsSync(fromHome)) return fromHome;
  const onPath = which('java', env);
  if (onPath) return onPath;
  throw new JavaNotFoundError(env.JAVA_HOME ? `not at JAVA_HOME=${env.JAVA_HOME} nor on PATH` : 'not on PATH, JAVA_HOME unset');
}

export interface ResolvedJars {
  version: string;
  /** Directory holding the jars. */
  dir: string;
  /** Java class path (the directory's wildcard). */
  classpath: string;
  /** True when the cache already had them (mvn not run). */
  cached: boolean;
  ms: number;
}

export interface ResolveJarsOptions {
  version?: string;
  env?: NodeJS.ProcessEnv;
  jarCacheDir?: string;
  mavenRepoLocal?: string;
  logger?: Logger;
}

function defaultJarCache(env: NodeJS.ProcessEnv): string {
  if (env.LQR_KAFKA_JAR_CACHE) return resolve(env.LQR_KAFKA_JAR_CACHE);
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'lq-replicator', 'kafka-jars');
}

function kafkaMajor(version: string): number {
  return Number.parseInt(version.split('.')[0] ?? '0', 10);
}

/**
 * The jars of one Kafka release: from the cache when complete (its classpath.txt is
 * written last), else `mvn dependency:copy-dependencies` of deploy/kafka/pom.xml into
 * a temporary directory renamed into the cache (safe when two runs race).
 */
export async function resolveKafkaJars(opts: ResolveJarsOptions = {}): Promise<ResolvedJars> {
  const t0 = Date.now();
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? silentLogger;
  const version = opts.version ?? env.LQR_KAFKA_VERSION ?? PINNED_KAFKA_VERSION;
  const pom = pomPath();
  const key = createHash('sha256').update(readFileSync(pom)).update(`\0${version}`).digest('hex').slice(0, 12);
  const cacheRoot = opts.jarCacheDir ?? defaultJarCache(env);
  const dir = join(cacheRoot, `kafka-${version}-${key}`);
  const marker = join(dir, 'classpath.txt');
  if (existsSync(marker)) {
    return { version, dir, classpath: join(dir, '*'), cached: true, ms: Date.now() - t0 };
  }
  const mvn = which('mvn', env);
  if (!mvn) throw new MavenNotFoundError();
  await mkdir(cacheRoot, { recursive: true });
  const tmp = await mkdtemp(join(cacheRoot, `.tmp-kafka-${version}-`));
  const args = [
    '-B',
    '-ntp',
    '-f',
    pom,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${tmp}`,
    '-DincludeScope=runtime',
    `-Dkafka.version=${version}`,
  ];
  if (kafkaMajor(version) >= 4) args.push('-Dkafka.logging=log4j2');
  const repoLocal = opts.mavenRepoLocal ?? env.LQR_KAFKA_M2_REPO;
  if (repoLocal) args.push(`-Dmaven.repo.local=${resolve(repoLocal)}`);
  logger.info({ version, cache: dir }, 'resolving Kafka jars with Maven (first run downloads them from Maven Central)');
  const res = await run(mvn, args, { env: { ...env, MAVEN_OPTS: env.MAVEN_OPTS ?? '-Xmx512m' }, timeoutMs: 30 * 60_000 });
  if (res.code !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new MavenResolutionError(res.code, tail(res.output, 40));
  }
  const jars = (await readdir(tmp)).filter((f) => f.endsWith('.jar')).sort();
  if (!jars.some((j) => /^kafka_2\.13-/.test(j))) {
    await rm(tmp, { recursive: true, force: true });
    throw new MavenResolutionError(res.code, `no kafka_2.13 jar among the ${jars.length} copied\n${tail(res.output, 30)}`);
  }
  await writeFile(join(tmp, 'classpath.txt'), `${jars.join('\n')}\n`);
  try {
    await rename(tmp, dir);
  } catch {
    // Another run finished first: use its copy.
    await rm(tmp, { recursive: true, force: true });
    if (!existsSync(marker)) throw new MavenResolutionError(0, `could not move the jars into ${dir}`);
  }
  logger.info({ version, jars: jars.length, ms: Date.now() - t0 }, 'Kafka jars resolved');
  return { version, dir, classpath: join(dir, '*'), cached: false, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------------------------
// Broker configuration

function brokerProperties(p: { brokerPort: number; controllerPort: number; logDirs: string; extra?: Record<string, string> }): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${p.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${p.brokerPort},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${p.brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': p.logDirs,
    // One node: every internal topic has one replica.
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '4',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '4',
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'num.partitions': '1',
    // Tests join many short-lived groups: no initial rebalance delay.
    'group.initial.rebalance.delay.ms': '0',
    // Topics are created on purpose (ensureTopics); a misspelt topic must fail, not appear.
    'auto.create.topics.enable': 'false',
    'delete.topic.enable': 'true',
    'num.network.threads': '2',
    'num.io.threads': '4',
    'log.retention.check.interval.ms': '300000',
  };
  Object.assign(props, p.extra ?? {});
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function log4jProperties(logFile: string): string {
  // log4j 1.x (reload4j), as the 3.x line uses.
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.MaxFileSize=20MB',
    'log4j.appender.file.MaxBackupIndex=2',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.org.apache.kafka.controller=INFO',
    '',
  ].join('\n');
}

function log4j2Properties(logFile: string): string {
  // log4j 2.x, as the 4.x line uses.
  return [
    'appender.file.type=RollingFile',
    'appender.file.name=file',
    `appender.file.fileName=${logFile}`,
    `appender.file.filePattern=${logFile}.%i`,
    'appender.file.layout.type=PatternLayout',
    'appender.file.layout.pattern=[%d] %p %m (%c)%n',
    'appender.file.policies.type=Policies',
    'appender.file.policies.size.type=SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size=20MB',
    'appender.file.strategy.type=DefaultRolloverStrategy',
    'appender.file.strategy.max=2',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.file.ref=file',
    'logger.request.name=kafka.request.logger',
    'logger.request.level=WARN',
    '',
  ].join('\n');
}

/** A KRaft cluster id: 16 random bytes, base64url (what kafka-storage random-uuid prints). */
/**
 * A KRaft cluster id: 16 random bytes in URL-safe base64, never starting with '-' (the
 * storage tool would read such an id as an option and fail: 1 start in 64; Kafka's own
 * Uuid.randomUuid() skips those ids for the same reason).
 */
export function newClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

// The wrapper: runs java in the background, forwards SIGTERM, and when the watched pid
// disappears stops java (SIGTERM, then SIGKILL after 30 s). When java has exited and
// the watched process is gone, it removes the directory named by $2 (library mode's
// temporary data directory; while the parent lives, stop() removes it, after reading
// the logs it needs).
const WRAPPER = `
parent="$1"; cleanup="$2"; shift 2
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  if [ "$parent" != 0 ] && ! kill -0 "$parent" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    i=0
    while kill -0 "$child" 2>/dev/null && [ "$i" -lt 30 ]; do sleep 1; i=$((i+1)); done
    kill -KILL "$child" 2>/dev/null
    break
  fi
  sleep 1
done
wait "$child"
status=$?
if [ -n "$cleanup" ] && [ "$parent" != 0 ] && ! kill -0 "$parent" 2>/dev/null; then rm -rf "$cleanup"; fi
exit "$status"
`;

/**
 * Spawn `command` under the watchdog wrapper, in a new process group (whose id is the
 * returned child's pid): when `watchPid` (0 = none) disappears, the command gets
 * SIGTERM, then SIGKILL after 30 s; `cleanupDir` is removed after it exits. Output
 * goes to `outFile` (appended) or nowhere.
 */
export function spawnWatched(
  command: string,
  args: string[],
  opts: { watchPid: number; cleanupDir?: string; outFile?: string; env?: NodeJS.ProcessEnv },
): ChildProcess {
  const outFd = opts.outFile ? openSync(opts.outFile, 'a') : 'ignore';
  try {
    return spawn('/bin/sh', ['-c', WRAPPER, 'lqr-watchdog', String(opts.watchPid), opts.cleanupDir ?? '', command, ...args], {
      detached: true,
      stdio: ['ignore', outFd, outFd],
      env: opts.env ?? process.env,
    });
  } finally {
    if (typeof outFd === 'number') closeSync(outFd);
  }
}

// Brokers started by this process, stopped on its exit or on SIGINT/SIGTERM/SIGHUP.
const running = new Set<number>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAll = () => {
    for (const pgid of running) killGroup(pgid, 'SIGTERM');
  };
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      // Were we the only listener, the default action (exit) was suppressed: re-raise it.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

async function readLogTail(files: string[], lines = 30): Promise<string> {
  const parts: string[] = [];
  for (const f of files) {
    try {
      const text = await readFile(f, 'utf8');
      const t = tail(text, lines);
      if (t) parts.push(`--- ${f}\n${t}`);
    } catch {
      // missing
    }
  }
  return parts.join('\n') || '(no log output)';
}

// ---------------------------------------------------------------------------------
// Local mode

/**
 * Start a local broker without waiting for it. Java is checked and the ports are
 * chosen at once, so `brokers` is known when this resolves; the jars, the storage
 * format, the JVM and the readiness probe happen behind `ready`, which resolves once
 * the broker accepts transactional writes.
 */
export async function launchLocalKafka(opts: StartKafkaOptions = {}): Promise<LaunchingKafka> {
  const t0 = Date.now();
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? silentLogger;
  const java = findJava(env);

  for (const port of [opts.brokerPort, opts.controllerPort]) {
    if (port && !(await portIsFree(port))) throw new PortInUseError(port);
  }
  const brokerPort = opts.brokerPort || (await freePort());
  let controllerPort = opts.controllerPort || (await freePort());
  while (controllerPort === brokerPort) controllerPort = await freePort();
  const ports = { broker: brokerPort, controller: controllerPort };
  const brokers = `127.0.0.1:${brokerPort}`;

  const tempData = opts.dataDir === undefined;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : await mkdtemp(join(tmpdir(), 'lqr-kafka-'));
  const cleanup = tempData && !opts.keepData ? dataDir : '';
  const logDir = join(dataDir, 'logs');
  const kraftDir = join(dataDir, 'kraft');
  const logFile = join(logDir, 'server.log');
  const outFile = join(logDir, 'stdout.log');

  let pgid: number | undefined;
  let exited = false;
  let exitCode: number | null = null;
  let markExited: () => void = () => undefined;
  const exitedPromise = new Promise<void>((r) => (markExited = r));
  let cancelled = false;
  let stopping: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      cancelled = true;
      if (pgid !== undefined && !exited) {
        killGroup(pgid, 'SIGTERM');
        const timedOut = await Promise.race([exitedPromise.then(() => false), sleepUnref(stopTimeoutMs).then(() => true)]);
        if (timedOut) {
          logger.warn({ wrapperPid: pgid }, 'Kafka broker did not stop in time: SIGKILL');
          killGroup(pgid, 'SIGKILL');
          await Promise.race([exitedPromise, sleepUnref(5_000)]);
        }
        running.delete(pgid);
        logger.info({ brokers }, 'Kafka broker stopped');
      }
      if (cleanup) await rm(cleanup, { recursive: true, force: true }).catch(() => undefined);
    })();
    return stopping;
  };

  const cancelledError = () => new KafkaLaunchError('CANCELLED', 'start cancelled by stop()');

  const ready = (async (): Promise<RunningKafka> => {
    const jars = await resolveKafkaJars({ version: opts.version, env, jarCacheDir: opts.jarCacheDir, mavenRepoLocal: opts.mavenRepoLocal, logger });
    if (cancelled) throw cancelledError();
    await mkdir(logDir, { recursive: true });
    await mkdir(kraftDir, { recursive: true });
    const propsFile = join(dataDir, 'server.properties');
    const log4jFile = join(dataDir, 'log4j.properties');
    const log4j2File = join(dataDir, 'log4j2.properties');
    await writeFile(propsFile, brokerProperties({ brokerPort, controllerPort, logDirs: kraftDir, extra: opts.brokerProperties }));
    await writeFile(log4jFile, log4jProperties(logFile));
    await writeFile(log4j2File, log4j2Properties(logFile));
    const logProps = [`-Dlog4j.configuration=file:${log4jFile}`, `-Dlog4j2.configurationFile=${log4j2File}`, `-Dkafka.logs.dir=${logDir}`];

    // Format the storage (once: a kept data directory is reused as it is).
    const tf = Date.now();
    if (!existsSync(join(kraftDir, 'meta.properties'))) {
      const fmt = await run(java, ['-Xmx256m', ...logProps, '-cp', jars.classpath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', propsFile], {
        env,
        timeoutMs: 120_000,
      });
      if (fmt.code !== 0) throw new BrokerExitedError(fmt.code, tail(fmt.output, 30), 'FORMAT_FAILED', 'kafka-storage format failed');
    }
    const formatMs = Date.now() - tf;
    if (cancelled) throw cancelledError();

    const heapMb = opts.heapMb ?? 768;
    const javaArgs = [
      `-Xms${Math.min(256, heapMb)}m`,
      `-Xmx${heapMb}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      ...logProps,
      '-cp',
      jars.classpath,
      'kafka.Kafka',
      propsFile,
    ];
    const watchPid = opts.watchPid ?? (opts.detached ? 0 : process.pid);
    const ts = Date.now();
    const child = spawnWatched(java, javaArgs, { watchPid, cleanupDir: cleanup, outFile, env });
    if (child.pid === undefined) throw new BrokerExitedError(null, 'spawn failed', 'BROKER_EXITED', 'could not spawn the broker');
    const pid = child.pid;
    pgid = pid;
    child.once('exit', (code, signal) => {
      exited = true;
      exitCode = code ?? (signal ? 128 : null);
      running.delete(pid);
      markExited();
    });
    if (opts.detached) child.unref();
    else {
      running.add(pid);
      installExitHandlers();
    }
    opts.onSpawn?.(pid, brokers);
    logger.info({ brokers, wrapperPid: pid, dataDir, version: jars.version }, 'Kafka broker starting');

    const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
    const deadline = Date.now() + readyTimeoutMs;
    let lastError: string | undefined;
    while (true) {
      if (exited) {
        const logTail = await readLogTail([logFile, outFile]);
        if (/Address already in use/i.test(logTail)) {
          const m = /(?:127\.0\.0\.1|0\.0\.0\.0|localhost)?:(\d+)[^\n]*Address already in use|Address already in use[^\n]*?:(\d+)/i.exec(logTail);
          const port = Number(m?.[1] ?? m?.[2] ?? 0);
          throw new PortInUseError(port === controllerPort ? controllerPort : brokerPort);
        }
        throw new BrokerExitedError(exitCode, logTail);
      }
      if (cancelled) throw cancelledError();
      if (Date.now() > deadline) {
        const logTail = await readLogTail([logFile, outFile]);
        throw new BrokerNotReadyError(readyTimeoutMs, lastError, logTail);
      }
      if (!(await tcpOpen(brokerPort))) {
        await Promise.race([sleep(200), exitedPromise]);
        continue;
      }
      const probe = await probeKafka({ brokers: [brokers], ...opts.clientSettings }, { timeoutMs: 15_000 });
      if (probe.ok) break;
      lastError = probe.error;
      await Promise.race([sleep(500), exitedPromise]);
    }
    const readyMs = Date.now() - ts;
    const timings: KafkaTimings = { resolveMs: jars.ms, formatMs, readyMs, totalMs: Date.now() - t0 };
    logger.info({ brokers, ...timings, jarsCached: jars.cached }, 'Kafka broker ready');
    return { brokers, mode: 'local', version: jars.version, pid, dataDir, logFile, ports, classpath: jars.classpath, timings, stop };
  })();
  ready.catch(() => undefined);
  return {
    brokers,
    ports,
    get pid() {
      return pgid;
    },
    ready,
    stop,
  };
}

// ---------------------------------------------------------------------------------
// Testcontainers mode (needs a Docker engine; not exercised on machines without one)

export async function dockerAvailable(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const docker = which('docker', env);
  if (!docker) return false;
  const res = await run(docker, ['info', '--format', '{{.ServerVersion}}'], { env, timeoutMs: 10_000 });
  return res.code === 0 && res.output.trim().length > 0;
}

export async function startTestcontainersKafka(opts: StartKafkaOptions = {}): Promise<RunningKafka> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? silentLogger;
  if (!(await dockerAvailable(env))) throw new KafkaLaunchError('NO_DOCKER', 'testcontainers mode needs a reachable Docker engine (`docker info` failed)');
  const t0 = Date.now();
  try {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const image = env.LQR_KAFKA_IMAGE ?? TESTCONTAINERS_KAFKA_IMAGE;
    const container = await new KafkaContainer(image)
      .withKraft()
      .withEnvironment({
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .start();
    const brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
    let ok = false;
    let lastError: string | undefined;
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
    while (Date.now() < deadline) {
      const probe = await probeKafka({ brokers: [brokers] }, { timeoutMs: 15_000 });
      if ((ok = probe.ok)) break;
      lastError = probe.error;
      await sleep(500);
    }
    if (!ok) {
      await container.stop();
      throw new BrokerNotReadyError(opts.readyTimeoutMs ?? 120_000, lastError, '(container logs: docker logs)');
    }
    const readyMs = Date.now() - t0;
    logger.info({ brokers, image, readyMs }, 'Kafka container ready');
    let stopping: Promise<void> | undefined;
    return {
      brokers,
      mode: 'testcontainers',
      version: image,
      timings: { resolveMs: 0, formatMs: 0, readyMs, totalMs: readyMs },
      stop: () => (stopping ??= container.stop().then(() => undefined)),
    };
  } catch (err) {
    if (err instanceof KafkaLaunchError) throw err;
    throw new KafkaLaunchError('TESTCONTAINERS_FAILED', `testcontainers could not start Kafka: ${(err as Error).message}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------
// The entry point

/** Which mode `startKafka` would use, without starting anything. */
export async function chooseKafkaMode(opts: StartKafkaOptions = {}): Promise<Exclude<KafkaMode, 'auto'>> {
  const env = opts.env ?? process.env;
  if (env.KAFKA_BROKERS && env.KAFKA_BROKERS.trim() !== '') return 'external';
  const mode = opts.mode ?? ((env.LQR_KAFKA_MODE as KafkaMode | undefined) || 'auto');
  if (mode === 'external') throw new KafkaLaunchError('INVALID_OPTIONS', 'mode "external" needs KAFKA_BROKERS');
  if (mode === 'local' || mode === 'testcontainers') return mode;
  if (mode !== 'auto') throw new KafkaLaunchError('INVALID_OPTIONS', `unknown LQR_KAFKA_MODE "${mode}" (auto | local | testcontainers)`);
  try {
    findJava(env);
    return 'local';
  } catch (err) {
    if (await dockerAvailable(env)) return 'testcontainers';
    throw err;
  }
}

/**
 * A Kafka cluster to use, started if need be: KAFKA_BROKERS when set (nothing is
 * started), else a local single-node KRaft broker (or a testcontainers one, see the
 * modes above). Resolves once the cluster accepts transactional writes.
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<RunningKafka> {
  const env = opts.env ?? process.env;
  const mode = await chooseKafkaMode(opts);
  if (mode === 'external') {
    const brokers = parseBrokerList(env.KAFKA_BROKERS ?? '').join(',');
    (opts.logger ?? silentLogger).info({ brokers }, 'using the Kafka cluster of KAFKA_BROKERS');
    return { brokers, mode, stop: async () => undefined };
  }
  if (mode === 'testcontainers') return startTestcontainersKafka(opts);
  const launching = await launchLocalKafka(opts);
  try {
    return await launching.ready;
  } catch (err) {
    await launching.stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------------
// The CLI's detached broker: state under .kafka/ in the project

export interface CliState {
  pid: number;
  brokers: string;
  ports: { broker: number; controller: number };
  version: string;
  dataDir: string;
  logFile: string;
  startedAt: string;
  timings?: KafkaTimings;
}

export function cliStateDir(): string {
  return join(projectRoot(), '.kafka');
}

export async function readCliState(): Promise<CliState | undefined> {
  try {
    return JSON.parse(await readFile(join(cliStateDir(), 'state.json'), 'utf8')) as CliState;
  } catch {
    return undefined;
  }
}

/** Ports of the last CLI broker (reused when free, so clients keep their address). */
async function lastCliPorts(): Promise<{ broker: number; controller: number } | undefined> {
  try {
    return (JSON.parse(await readFile(join(cliStateDir(), 'ports.json'), 'utf8')) as { broker: number; controller: number });
  } catch {
    return undefined;
  }
}

/**
 * `kafka:up`: start a detached broker with its data in .kafka/data (kept across
 * up/down), write .kafka/kafka.pid and .kafka/state.json, resolve once ready. When one
 * is already running (pid alive and it answers), return its state.
 */
export async function cliUp(opts: StartKafkaOptions & { fresh?: boolean } = {}): Promise<{ state: CliState; alreadyRunning: boolean }> {
  const dir = cliStateDir();
  const prev = await readCliState();
  if (prev && isAlive(prev.pid)) {
    const probe = await probeKafka({ brokers: [prev.brokers] }, { timeoutMs: 10_000 });
    if (probe.ok) return { state: prev, alreadyRunning: true };
    throw new KafkaLaunchError('NOT_READY', `a broker is recorded as running (pid ${prev.pid}) but does not answer (${probe.error}); run kafka:down first`);
  }
  const dataDir = join(dir, 'data');
  if (opts.fresh) await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  let { brokerPort, controllerPort } = opts;
  const last = await lastCliPorts();
  if (!brokerPort && last && (await portIsFree(last.broker))) brokerPort = last.broker;
  if (!controllerPort && last && last.controller !== brokerPort && (await portIsFree(last.controller))) controllerPort = last.controller;
  const launching = await launchLocalKafka({
    ...opts,
    dataDir,
    keepData: true,
    detached: true,
    watchPid: 0,
    brokerPort,
    controllerPort,
    // Recorded at once, so that kafka:down can stop a broker whose kafka:up was interrupted.
    onSpawn: (pid, brokers) => {
      writeFileSync(join(dir, 'kafka.pid'), `${pid}\n`);
      writeFileSync(join(dir, 'state.json'), `${JSON.stringify({ pid, brokers, starting: true }, null, 2)}\n`);
    },
  });
  let kafka: RunningKafka;
  try {
    kafka = await launching.ready;
  } catch (err) {
    await launching.stop();
    await rm(join(dir, 'kafka.pid'), { force: true });
    throw err;
  }
  const state: CliState = {
    pid: kafka.pid as number,
    brokers: kafka.brokers,
    ports: kafka.ports as { broker: number; controller: number },
    version: kafka.version as string,
    dataDir,
    logFile: kafka.logFile as string,
    startedAt: new Date().toISOString(),
    timings: kafka.timings,
  };
  await writeFile(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  await writeFile(join(dir, 'ports.json'), `${JSON.stringify(state.ports)}\n`);
  return { state, alreadyRunning: false };
}

/** `kafka:down`: SIGTERM the recorded broker, wait (SIGKILL after the timeout), remove the pid/state files. */
export async function cliDown(opts: { stopTimeoutMs?: number; purge?: boolean } = {}): Promise<{ stopped: boolean; pid?: number; forced: boolean }> {
  const dir = cliStateDir();
  const state = await readCliState();
  let stopped = false;
  let forced = false;
  if (state && isAlive(state.pid)) {
    killGroup(state.pid, 'SIGTERM');
    const deadline = Date.now() + (opts.stopTimeoutMs ?? 30_000);
    while (isAlive(state.pid) && Date.now() < deadline) await sleep(200);
    if (isAlive(state.pid)) {
      forced = true;
      killGroup(state.pid, 'SIGKILL');
      const hard = Date.now() + 5_000;
      while (isAlive(state.pid) && Date.now() < hard) await sleep(100);
    }
    stopped = true;
  }
  await rm(join(dir, 'state.json'), { force: true });
  await rm(join(dir, 'kafka.pid'), { force: true });
  if (opts.purge) await rm(join(dir, 'data'), { recursive: true, force: true });
  return { stopped, pid: state?.pid, forced };
}

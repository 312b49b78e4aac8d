// The Kafka cluster of `lqr start`: KAFKA_BROKERS (or the --config file's brokers)
// when given, else a local single-node broker from deploy/kafka (its data kept in the
// data directory, so events survive a restart of the demo), with progress for the
// slow parts: the first run's jar download and the broker's start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  KafkaLaunchError,
  PINNED_KAFKA_VERSION,
  chooseKafkaMode,
  launchLocalKafka,
  resolveKafkaJars,
  startTestcontainersKafka,
  type LaunchingKafka,
  type RunningKafka,
} from '../../deploy/kafka/launcher.js';
import { prepareTopics } from '../connector/index.js';
import type { KafkaSettings } from '../kafka/index.js';
import type { Logger } from '../log.js';
import type { DemoConsole } from './console.js';
import { DemoError, messageOf } from './errors.js';
import type { LogFile } from './logs.js';
import { displayPath } from './paths.js';
import { choosePort } from './ports.js';

export interface DemoKafka {
  /** Bootstrap servers, "host:port[,host:port]". */
  brokers: string;
  mode: 'external' | 'local' | 'testcontainers';
  /** For the summary: "local broker (Kafka 3.9.1), data in ...". */
  description: string;
  /** Local mode: the broker's log file. */
  logFile?: string;
  /** Stop what was started (nothing for an external cluster). */
  stop(): Promise<void>;
  /** Second Ctrl-C: signal the broker to stop without waiting for it. */
  kill(): void;
}

export interface StartKafkaOptions {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  /** Broker port (the controller takes the next free one). */
  port: number;
  portExplicit: boolean;
  console: DemoConsole;
  logs: LogFile;
  signal: AbortSignal;
  taken: Set<number>;
}

/** Resolves with `p`, or rejects with INTERRUPTED as soon as `signal` aborts. */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DemoError('INTERRUPTED', 'interrupted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DemoError('INTERRUPTED', 'interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function launchError(err: unknown): DemoError {
  if (err instanceof DemoError) return err;
  if (err instanceof KafkaLaunchError) {
    const hint = /KAFKA_BROKERS/.test(err.message) ? '' : '\n(or set KAFKA_BROKERS=host:port to use an existing Kafka cluster)';
    return new DemoError('KAFKA_START', `cannot start a local Kafka broker (${err.code}): ${err.message}${hint}`, { cause: err });
  }
  return new DemoError('KAFKA_START', `cannot start a local Kafka broker: ${messageOf(err)}`, { cause: err });
}

export function externalKafka(brokers: string, origin: string): DemoKafka {
  return { brokers, mode: 'external', description: `existing cluster (${origin})`, stop: async () => undefined, kill: () => undefined };
}

/** A local broker never takes the environment's cluster settings (TLS, SASL) meant for another one. */
function localEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('KAFKA_')));
}

/**
 * How a local broker would be run (Java, else a container), checked before anything
 * else starts: no Java and no Docker is an error naming what to install.
 */
export async function localKafkaMode(env: NodeJS.ProcessEnv): Promise<'local' | 'testcontainers'> {
  try {
    const mode = await chooseKafkaMode({ env: localEnv(env) });
    return mode === 'testcontainers' ? 'testcontainers' : 'local';
  } catch (err) {
    throw launchError(err);
  }
}

/** Start a local broker (or testcontainers when there is no Java but Docker). */
export async function startLocalKafka(opts: StartKafkaOptions & { mode: 'local' | 'testcontainers' }): Promise<DemoKafka> {
  const { console: ui, signal, mode } = opts;
  const env = localEnv(opts.env);
  const logger = opts.logs.logger('kafka-launcher');
  if (mode === 'testcontainers') {
    const step = ui.step('Kafka: no Java here, starting a broker container with testcontainers (Docker)');
    try {
      const k: RunningKafka = await unlessAborted(startTestcontainersKafka({ env, logger }), signal);
      step.done(k.brokers);
      return { brokers: k.brokers, mode: 'testcontainers', description: `container ${k.version ?? ''}`.trim(), stop: () => k.stop(), kill: () => void k.stop() };
    } catch (err) {
      step.fail();
      throw launchError(err);
    }
  }

  // 1. The jars: instant when cached; the first run downloads them with Maven.
  const version = env.LQR_KAFKA_VERSION ?? PINNED_KAFKA_VERSION;
  const jarsStep = ui.step(`Kafka ${version}: finding its jars`);
  const unobserve = opts.logs.observe((name, msg) => {
    if (name === 'kafka-launcher' && /resolving Kafka jars with Maven/.test(msg)) {
      jarsStep.update('first run: downloading them from Maven Central with mvn (about 60 MB, cached for next time)');
    }
  });
  try {
    const jars = await unlessAborted(resolveKafkaJars({ env, logger, version }), signal);
    jarsStep.done(jars.cached ? 'cached' : `downloaded into ${jars.dir}`);
  } catch (err) {
    jarsStep.fail();
    throw launchError(err);
  } finally {
    unobserve();
  }

  // 2. Ports, then the broker.
  const note = (line: string) => ui.note(`  note: ${line}`);
  const brokerPort = await choosePort({ what: 'the Kafka broker', host: '127.0.0.1', port: opts.port, explicit: opts.portExplicit, flag: '--kafka-port', protos: ['tcp'] }, opts.taken, note);
  const controllerPort = await choosePort(
    { what: 'the Kafka controller', host: '127.0.0.1', port: brokerPort === 0 ? 0 : brokerPort + 1, explicit: false, flag: '--kafka-port', protos: ['tcp'] },
    opts.taken,
    () => undefined,
  );
  const dataDir = join(opts.dataDir, 'kafka');
  const existed = existsSync(join(dataDir, 'kraft', 'meta.properties'));
  let launching: LaunchingKafka;
  try {
    launching = await launchLocalKafka({
      env,
      logger,
      version,
      dataDir,
      keepData: true,
      // Detached into its own process group, so that Ctrl-C on the terminal reaches only
      // this process, which stops the broker last, after the connector has flushed. The
      // watchdog still follows this process: if it dies, the broker is stopped.
      detached: true,
      watchPid: process.pid,
      brokerPort: brokerPort || undefined,
      controllerPort: controllerPort || undefined,
    });
  } catch (err) {
    throw launchError(err);
  }
  const step = ui.step(`Kafka: starting a local broker on ${launching.brokers}`);
  let k: RunningKafka;
  try {
    k = await unlessAborted(launching.ready, signal);
    step.done(`${existed ? 'data kept from the last run' : 'new storage'} in ${displayPath(dataDir)}`);
  } catch (err) {
    step.fail(err instanceof DemoError && err.code === 'INTERRUPTED' ? 'interrupted' : 'failed');
    await launching.stop().catch(() => undefined);
    ui.note('  Kafka broker: stopped');
    throw launchError(err);
  }
  return {
    brokers: k.brokers,
    mode: 'local',
    description: `local broker (Kafka ${k.version}, pid ${k.pid})`,
    logFile: k.logFile,
    stop: () => launching.stop(),
    kill: () => {
      const pid = launching.pid;
      if (pid === undefined) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // gone
      }
    },
  };
}

/** Create (or check) lq.events and lq.sources, with a bound: a wrong address must not hang the start. */
export async function prepareDemoTopics(settings: KafkaSettings, ui: DemoConsole, logger: Logger, signal: AbortSignal, timeoutMs = 60_000): Promise<number> {
  const names = `${settings.topics.events.name}, ${settings.topics.sources.name}`;
  const step = ui.step(`Kafka: creating or checking the topics ${names} on ${settings.brokers.join(',')}`);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DemoError('KAFKA', `Kafka at ${settings.brokers.join(',')} did not answer within ${timeoutMs / 1000} s: is the address right and the cluster up?`)), timeoutMs);
    timer.unref();
  });
  try {
    const r = await unlessAborted(Promise.race([prepareTopics(settings, logger), bound]), signal);
    step.done(`${settings.topics.events.name} has ${r.eventsPartitions} partitions`);
    return r.eventsPartitions;
  } catch (err) {
    step.fail();
    if (err instanceof DemoError) throw err;
    throw new DemoError('KAFKA', `Kafka at ${settings.brokers.join(',')}: cannot create or check the topics ${names}: ${messageOf(err)}`, { cause: err });
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// `lqr start --config FILE`: the connector's configuration file (YAML or JSON, the
// format of `lqr connector`), read and checked before anything starts, so that a bad
// field is reported at once with its path. A file without Kafka brokers (and no
// KAFKA_BROKERS) runs against the local broker that `lqr start` launches.
import { ConfigError, readConfigFile, resolveConnectorConfig, type ConnectorConfig } from '../config/index.js';
import { DemoError } from './errors.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Placeholder brokers for the validation that runs before the local broker exists. */
const PLACEHOLDER = '127.0.0.1:9';

export interface DemoConfigFile {
  file: string;
  /** Where the Kafka brokers come from; undefined: a local broker is needed. */
  brokersFrom?: 'KAFKA_BROKERS' | 'file';
  /** The effective configuration with these brokers (undefined: the file's or KAFKA_BROKERS). */
  resolve(localBrokers?: string): ConnectorConfig;
}

function withBrokers(data: unknown, brokers: string[]): unknown {
  if (!isObject(data)) return data;
  const kafka = data.kafka === undefined || data.kafka === null ? {} : data.kafka;
  return { ...data, kafka: isObject(kafka) ? { ...kafka, brokers } : kafka };
}

function configError(err: unknown): never {
  if (err instanceof ConfigError) throw new DemoError('CONFIG', err.message, { cause: err });
  throw err;
}

/** Read and validate `file`; every problem is a DemoError('CONFIG') naming the field. */
export function loadDemoConfig(file: string, env: NodeJS.ProcessEnv): DemoConfigFile {
  let data: unknown;
  try {
    data = readConfigFile(file);
  } catch (err) {
    configError(err);
  }
  const envBrokers = env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS.trim() !== '';
  const fileBrokers = isObject(data) && isObject(data.kafka) && data.kafka.brokers !== undefined && data.kafka.brokers !== null;
  const brokersFrom = envBrokers ? 'KAFKA_BROKERS' : fileBrokers ? 'file' : undefined;
  // A local broker never takes the environment's settings meant for another cluster.
  const localEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('KAFKA_')));
  const resolve = (localBrokers?: string): ConnectorConfig => {
    try {
      if (brokersFrom) return resolveConnectorConfig(data, env, file);
      return resolveConnectorConfig(withBrokers(data, (localBrokers ?? PLACEHOLDER).split(',')), localEnv, file);
    } catch (err) {
      configError(err);
    }
  };
  resolve(); // every problem now, before a broker or anything else is started
  return { file, brokersFrom, resolve };
}

/** The configuration with `prefix` before both topic names. */
export function prefixTopics(cfg: ConnectorConfig, prefix: string): ConnectorConfig {
  if (!prefix) return cfg;
  const { events, sources } = cfg.kafka.topics;
  return { ...cfg, kafka: { ...cfg.kafka, topics: { events: { ...events, name: `${prefix}${events.name}` }, sources: { ...sources, name: `${prefix}${sources.name}` } } } };
}

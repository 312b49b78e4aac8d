// The `kafka:` section of a configuration file, with the KAFKA_* environment variables
// laid over it (the environment wins: a deployment overrides a packaged file without
// editing it). Reused by every process that talks to the project's Kafka cluster.
import { KafkaSettingsSchema, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../kafka/index.js';
import { ConfigError, issuesFromZod } from './errors.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The environment variables kafkaSettingsFromEnv reads, and the settings field each one sets. */
const ENV_FIELDS: ReadonlyArray<[string[], (s: KafkaSettings) => [string[], unknown]]> = [
  [['KAFKA_BROKERS'], (s) => [['brokers'], s.brokers]],
  [['KAFKA_CLIENT_ID'], (s) => [['clientId'], s.clientId]],
  [['KAFKA_SSL', 'KAFKA_SSL_CA_FILE', 'KAFKA_SSL_REJECT_UNAUTHORIZED'], (s) => [['ssl'], s.ssl]],
  [['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_MECHANISM_FILE'], (s) => [['sasl'], s.sasl]],
  [['KAFKA_EVENTS_TOPIC'], (s) => [['topics', 'events', 'name'], s.topics.events.name]],
  [['KAFKA_EVENTS_PARTITIONS'], (s) => [['topics', 'events', 'partitions'], s.topics.events.partitions]],
  [['KAFKA_EVENTS_RETENTION_MS'], (s) => [['topics', 'events', 'retentionMs'], s.topics.events.retentionMs]],
  [['KAFKA_SOURCES_TOPIC'], (s) => [['topics', 'sources', 'name'], s.topics.sources.name]],
  [['KAFKA_REPLICATION_FACTOR'], (s) => [['topics', 'events', 'replicationFactor'], s.topics.events.replicationFactor]],
  [['KAFKA_REPLICATION_FACTOR'], (s) => [['topics', 'sources', 'replicationFactor'], s.topics.sources.replicationFactor]],
];

function setPath(target: Json, path: string[], value: unknown): void {
  let o = target;
  for (const k of path.slice(0, -1)) {
    if (!isObject(o[k])) o[k] = {};
    o = o[k] as Json;
  }
  o[path[path.length - 1]] = value;
}

/**
 * Kafka settings from a file's `kafka:` section (may be absent) and the environment.
 * Problems are ConfigErrors whose paths start with `kafka.`; a missing broker list says
 * where it can come from.
 */
export function resolveKafkaSettings(section: unknown, env: NodeJS.ProcessEnv = process.env, file?: string): KafkaSettings {
  if (section !== undefined && !isObject(section)) throw new ConfigError([{ path: 'kafka', message: 'must be a mapping (brokers, topics, ...)' }], file);
  const merged: Json = structuredClone(section ?? {});
  const set = ENV_FIELDS.filter(([vars]) => vars.some((v) => env[v] !== undefined && env[v] !== ''));
  if (set.length > 0) {
    // kafkaSettingsFromEnv reads every variable the project knows; only those actually
    // set are laid over the file (a placeholder broker keeps it from failing when only
    // other variables are set).
    let fromEnv: KafkaSettings;
    try {
      fromEnv = kafkaSettingsFromEnv(env, env.KAFKA_BROKERS ? {} : { brokers: ['placeholder:1'] });
    } catch (err) {
      throw new ConfigError([{ path: 'kafka (environment)', message: (err as Error).message }], file);
    }
    for (const [, pick] of set) {
      const [path, value] = pick(fromEnv);
      if (value !== undefined) setPath(merged, path, value);
    }
  }
  if (typeof merged.brokers === 'string') merged.brokers = parseBrokerList(merged.brokers);
  if (merged.brokers === undefined) {
    throw new ConfigError([{ path: 'kafka.brokers', message: 'required: list the bootstrap servers ("host:port") here or set KAFKA_BROKERS' }], file);
  }
  // strict at the top level: a misspelt key ("broker:") is an error, not silently ignored.
  const r = KafkaSettingsSchema.strict().safeParse(merged);
  if (!r.success) throw new ConfigError(issuesFromZod(r.error, ['kafka']), file);
  return r.data;
}

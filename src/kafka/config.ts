// Kafka settings: one zod schema for what the project needs to reach and lay out its
// cluster, and the reader of the KAFKA_* environment variables.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const DEFAULT_EVENTS_TOPIC = 'lq.events';
export const DEFAULT_SOURCES_TOPIC = 'lq.sources';

const topicName = z
  .string()
  .min(1)
  .max(249)
  .regex(/^[a-zA-Z0-9._-]+$/, 'a Kafka topic name uses only letters, digits, ".", "_" and "-"');

export const KafkaSslSchema = z.object({
  /** PEM text of the CA bundle that signs the brokers' certificates (system CAs when absent). */
  ca: z.string().optional(),
  /** Path of a PEM CA bundle; read when the client is created (`ca` wins when both are set). */
  caFile: z.string().optional(),
  /** Verify the brokers' certificates (default true; false only for lab set-ups). */
  rejectUnauthorized: z.boolean().default(true),
});
export type KafkaSsl = z.infer<typeof KafkaSslSchema>;

export const KafkaSaslSchema = z.object({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  password: z.string(),
});
export type KafkaSasl = z.infer<typeof KafkaSaslSchema>;

export const EventsTopicSchema = z.object({
  name: topicName.default(DEFAULT_EVENTS_TOPIC),
  /**
   * Partition count. Events are keyed by client DUID, so one client's changes stay in
   * order in one partition; changing the count later re-maps keys, which is why an
   * existing topic with another count is an error, not something to "fix".
   */
  partitions: z.number().int().min(1).max(10_000).default(12),
  /** Replication factor; unset = min(3, number of brokers). */
  replicationFactor: z.number().int().min(1).optional(),
  /**
   * retention.ms of lq.events. Default -1 (keep forever): the topic is the system of
   * record, audits replay it from the beginning and a replica must be able to rebuild
   * from the earliest offset. Set a bound (e.g. 400 days = 34_560_000_000) where
   * storage or policy require it; nothing older than the bound can then be replayed.
   */
  retentionMs: z.number().int().min(-1).default(-1),
  /** min.insync.replicas for the topic; unset = the broker's default. */
  minInsyncReplicas: z.number().int().min(1).optional(),
});
export type EventsTopic = z.infer<typeof EventsTopicSchema>;

export const SourcesTopicSchema = z.object({
  name: topicName.default(DEFAULT_SOURCES_TOPIC),
  /** Compacted resume points, keyed by source: few records, one partition is plenty. */
  partitions: z.number().int().min(1).max(10_000).default(1),
  replicationFactor: z.number().int().min(1).optional(),
  minInsyncReplicas: z.number().int().min(1).optional(),
});
export type SourcesTopic = z.infer<typeof SourcesTopicSchema>;

export const KafkaSettingsSchema = z.object({
  /** Bootstrap servers, "host:port". */
  brokers: z.array(z.string().regex(/^[^\s:]+:\d+$|^\[[0-9a-fA-F:.]+\]:\d+$/, 'a broker is "host:port"')).min(1),
  clientId: z.string().min(1).default('lq-replicator'),
  /** TLS to the brokers: false (plaintext), true (system CAs), or options. */
  ssl: z.union([z.boolean(), KafkaSslSchema]).default(false),
  sasl: KafkaSaslSchema.optional(),
  connectionTimeoutMs: z.number().int().positive().default(5_000),
  requestTimeoutMs: z.number().int().positive().default(30_000),
  topics: z
    .object({
      events: EventsTopicSchema.prefault({}),
      sources: SourcesTopicSchema.prefault({}),
    })
    .prefault({}),
});
/** Settings after parsing (defaults filled in). */
export type KafkaSettings = z.infer<typeof KafkaSettingsSchema>;
/** Settings as written by a person or a config file (defaults optional). */
export type KafkaSettingsInput = z.input<typeof KafkaSettingsSchema>;

export function parseKafkaSettings(input: KafkaSettingsInput): KafkaSettings {
  return KafkaSettingsSchema.parse(input);
}

/** Parse "host:port,host:port" (spaces allowed) into a broker list. */
export function parseBrokerList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** VAR, or the contents of the file named by VAR_FILE (trailing newline removed). */
function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  return undefined;
}

/**
 * Kafka settings from the environment:
 * - KAFKA_BROKERS: "host:port[,host:port...]" (required unless `overrides.brokers` is given)
 * - KAFKA_CLIENT_ID
 * - KAFKA_SSL=1 turns TLS on; KAFKA_SSL_CA_FILE names a PEM CA bundle (implies TLS);
 *   KAFKA_SSL_REJECT_UNAUTHORIZED=0 disables certificate checks (lab only)
 * - KAFKA_SASL_MECHANISM (plain | scram-sha-256 | scram-sha-512), KAFKA_SASL_USERNAME,
 *   KAFKA_SASL_PASSWORD; each of the three may instead come from a file: KAFKA_SASL_USERNAME_FILE ...
 * - KAFKA_EVENTS_TOPIC, KAFKA_EVENTS_PARTITIONS, KAFKA_EVENTS_RETENTION_MS, KAFKA_SOURCES_TOPIC,
 *   KAFKA_REPLICATION_FACTOR
 * Values in `overrides` win over the environment.
 */
export function kafkaSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<KafkaSettingsInput> = {},
): KafkaSettings {
  const brokers = env.KAFKA_BROKERS ? parseBrokerList(env.KAFKA_BROKERS) : undefined;
  const caFile = env.KAFKA_SSL_CA_FILE || undefined;
  let ssl: KafkaSettingsInput['ssl'] = false;
  if (truthy(env.KAFKA_SSL) || caFile) {
    const rejectUnauthorized = env.KAFKA_SSL_REJECT_UNAUTHORIZED === undefined ? true : truthy(env.KAFKA_SSL_REJECT_UNAUTHORIZED);
    ssl = caFile || !rejectUnauthorized ? { ca: caFile ? readFileSync(caFile, 'utf8') : undefined, rejectUnauthorized } : true;
  }
  const mechanism = secret(env, 'KAFKA_SASL_MECHANISM');
  const sasl = mechanism
    ? {
        mechanism: mechanism.toLowerCase() as KafkaSasl['mechanism'],
        username: secret(env, 'KAFKA_SASL_USERNAME') ?? '',
        password: secret(env, 'KAFKA_SASL_PASSWORD') ?? '',
      }
    : undefined;
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
    return n;
  };
  const rf = int('KAFKA_REPLICATION_FACTOR');
  const input: KafkaSettingsInput = {
    brokers: brokers ?? [],
    clientId: env.KAFKA_CLIENT_ID || undefined,
    ssl,
    sasl,
    topics: {
      events: {
        name: env.KAFKA_EVENTS_TOPIC || undefined,
        partitions: int('KAFKA_EVENTS_PARTITIONS'),
        retentionMs: int('KAFKA_EVENTS_RETENTION_MS'),
        replicationFactor: rf,
      },
      sources: { name: env.KAFKA_SOURCES_TOPIC || undefined, replicationFactor: rf },
    },
    ...overrides,
  };
  const parsed = KafkaSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    const hint = input.brokers.length === 0 ? ' (set KAFKA_BROKERS, e.g. 127.0.0.1:9092)' : '';
    throw new Error(`invalid Kafka settings${hint}: ${issues}`);
  }
  return parsed.data;
}

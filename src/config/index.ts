// Configuration files of the project's processes: zod schemas, loading, errors with
// field paths, the Kafka section with the environment laid over it, redaction.
export { ConfigError, formatPath, issuesFromZod, type ConfigIssue } from './errors.js';
export { parseConfig, readConfigFile } from './load.js';
export { resolveKafkaSettings } from './kafka.js';
export { redactSecrets, REDACTED } from './redact.js';
export { MetricsSchema, duidHex, hexBytes, ipv6Text, type MetricsConfig } from './fields.js';
export {
  ActiveQuerySchema,
  BackoffSchema,
  BatchSchema,
  ConnectorConfigSchema,
  ScopesSchema,
  SessionSchema,
  SourceSchema,
  SourceTlsSchema,
  type ActiveQueryConfig,
  type BackoffConfig,
  type BatchConfig,
  type ConnectorConfigInput,
  type ConnectorFileConfig,
  type ScopesConfig,
  type SessionConfig,
  type SourceConfig,
  type SourceTlsConfig,
} from './connector.js';
export { loadConnectorConfig, resolveConnectorConfig, type ConnectorConfig } from './connector-load.js';

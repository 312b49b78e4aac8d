// From a file (or a parsed document) to the connector's effective configuration:
// schema, Kafka section with the environment laid over it, TLS files that exist.
import { accessSync, constants } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { KafkaSettings } from '../kafka/index.js';
import { ConnectorConfigSchema, type ConnectorFileConfig } from './connector.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { resolveKafkaSettings } from './kafka.js';
import { parseConfig, readConfigFile } from './load.js';

export interface ConnectorConfig extends Omit<ConnectorFileConfig, 'kafka'> {
  kafka: KafkaSettings;
}

/** TLS file paths relative to the config file's directory, and each one readable. */
function checkTlsFiles(cfg: ConnectorFileConfig, baseDir: string | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  cfg.sources.forEach((s, i) => {
    const tls = s.tls;
    if (!tls) return;
    for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
      const p = tls[field];
      if (p === undefined) continue;
      const abs = isAbsolute(p) || !baseDir ? p : resolve(baseDir, p);
      tls[field] = abs;
      try {
        accessSync(abs, constants.R_OK);
      } catch (err) {
        issues.push({ path: `sources[${i}].tls.${field}`, message: `cannot read '${abs}' (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
      }
    }
  });
  return issues;
}

/**
 * Duplicate source names, from the raw document: zod runs the schema's own check only
 * when everything else is valid, and a person fixing a file wants every problem at once.
 */
function duplicateNames(data: unknown): ConfigIssue[] {
  const sources = (data as { sources?: unknown } | null)?.sources;
  if (!Array.isArray(sources)) return [];
  const seen = new Map<string, number>();
  const out: ConfigIssue[] = [];
  sources.forEach((s: unknown, i) => {
    const name = (s as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first !== undefined) out.push({ path: `sources[${i}].name`, message: `duplicate source name '${name}' (also sources[${first}])` });
    else seen.set(name, i);
  });
  return out;
}

/**
 * With sharing on, the work slots are the partitions of lq.sources: the topic's
 * partition count follows `sharing.slots` unless the kafka section names it, and then
 * the two must agree.
 */
function withSlotPartitions(section: unknown, slots: number): { section: unknown; issue?: ConfigIssue } {
  if (section !== undefined && (typeof section !== 'object' || section === null || Array.isArray(section))) return { section };
  const out = structuredClone((section ?? {}) as Record<string, unknown>);
  const topics = (out.topics ??= {}) as Record<string, unknown>;
  if (typeof topics !== 'object' || topics === null) return { section };
  const sources = (topics.sources ??= {}) as Record<string, unknown>;
  if (typeof sources !== 'object' || sources === null) return { section };
  if (sources.partitions === undefined) {
    sources.partitions = slots;
    return { section: out };
  }
  if (sources.partitions !== slots) {
    return { section: out, issue: { path: 'kafka.topics.sources.partitions', message: `must equal sharing.slots (${slots}): the work slots are the partitions of the sources topic` } };
  }
  return { section: out };
}

/** Validate a parsed document (from a file or built in code). */
export function resolveConnectorConfig(data: unknown, env: NodeJS.ProcessEnv = process.env, file?: string): ConnectorConfig {
  let cfg: ConnectorFileConfig;
  try {
    cfg = parseConfig(ConnectorConfigSchema, data, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const issues = [...err.issues];
    for (const d of duplicateNames(data)) if (!issues.some((i) => i.path === d.path && i.message === d.message)) issues.push(d);
    throw new ConfigError(issues, file);
  }
  const issues = checkTlsFiles(cfg, file ? dirname(resolve(file)) : undefined);
  let kafkaSection = cfg.kafka;
  if (cfg.sharing) {
    const r = withSlotPartitions(cfg.kafka, cfg.sharing.slots);
    kafkaSection = r.section;
    if (r.issue) issues.push(r.issue);
  }
  let kafka: KafkaSettings | undefined;
  try {
    kafka = resolveKafkaSettings(kafkaSection, env, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  if (issues.length > 0 || !kafka) throw new ConfigError(issues, file);
  return { ...cfg, kafka };
}

/** Read, validate and resolve `file` (YAML or JSON). */
export function loadConnectorConfig(file: string, env: NodeJS.ProcessEnv = process.env): ConnectorConfig {
  return resolveConnectorConfig(readConfigFile(file), env, file);
}

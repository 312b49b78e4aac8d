// Writes docs/configuration.md from the zod schemas (src/config, src/kafka) and from the
// commands' own --help: `npm run build && npm run docs:config`. A unit test
// (test/unit/deploy/config-docs.test.ts) fails when the committed file is stale.
//
// The tables come from z.toJSONSchema (input side: what a person writes), so types,
// defaults and constraints cannot drift from the schemas; descriptions are the schemas'
// `.describe()` texts. The Kafka schemas (src/kafka/config.ts) carry no `.describe()`, so
// their descriptions are kept here (KAFKA_DESCRIPTIONS); a row without any description
// is rendered with a dash, and the test fails on it.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConnectorConfigSchema } from '../config/index.js';
import { KafkaSettingsSchema } from '../kafka/index.js';

type Json = { [k: string]: unknown };

/** One documented field. */
export interface FieldRow {
  path: string;
  type: string;
  default: string;
  constraints: string[];
  description: string;
}

/** Descriptions of the `kafka:` fields (src/kafka/config.ts has JSDoc comments but no `.describe()`). */
const KAFKA_DESCRIPTIONS: Record<string, string> = {
  'kafka.brokers': 'Bootstrap servers, "host:port" ("[v6addr]:port" for an IPv6 literal). Env: KAFKA_BROKERS (comma-separated).',
  'kafka.clientId': 'Kafka client id (shows in broker logs and quotas). Env: KAFKA_CLIENT_ID.',
  'kafka.ssl': 'TLS to the brokers: false (plaintext), true (system CAs), or the options below. Env: KAFKA_SSL=1, KAFKA_SSL_CA_FILE, KAFKA_SSL_REJECT_UNAUTHORIZED=0.',
  'kafka.ssl.ca': 'PEM text of the CA bundle that signs the brokers\' certificates (system CAs when absent).',
  'kafka.ssl.caFile': 'Path of a PEM CA bundle, read when the client is created (`ca` wins when both are set).',
  'kafka.ssl.rejectUnauthorized': 'Verify the brokers\' certificates; false only for lab set-ups.',
  'kafka.sasl': 'SASL authentication. Env: KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (each also as ..._FILE).',
  'kafka.sasl.mechanism': 'SASL mechanism.',
  'kafka.sasl.username': 'SASL user name.',
  'kafka.sasl.password': 'SASL password (redacted by --print-config; prefer KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE over the file).',
  'kafka.connectionTimeoutMs': 'Timeout of a connection to a broker, ms.',
  'kafka.requestTimeoutMs': 'Timeout of one Kafka request, ms.',
  'kafka.topics': 'The two topics of the project; the connector creates them when missing and checks them when present.',
  'kafka.topics.events': 'lq.events: every binding and source event, keyed by client DUID.',
  'kafka.topics.events.name': 'Topic name. Env: KAFKA_EVENTS_TOPIC.',
  'kafka.topics.events.partitions':
    'Partition count. One client\'s changes stay in order in one partition; changing the count later re-maps keys, so an existing topic with another count is an error. Env: KAFKA_EVENTS_PARTITIONS.',
  'kafka.topics.events.replicationFactor': 'Replication factor; unset = min(3, number of brokers). Env: KAFKA_REPLICATION_FACTOR.',
  'kafka.topics.events.retentionMs':
    'retention.ms; -1 keeps events forever (the topic is the system of record: audits replay it and a replica rebuilds from the earliest offset). Env: KAFKA_EVENTS_RETENTION_MS.',
  'kafka.topics.events.minInsyncReplicas': 'min.insync.replicas of the topic; unset = the broker\'s default.',
  'kafka.topics.sources': 'lq.sources: compacted resume points and integrity-chain heads, keyed by source.',
  'kafka.topics.sources.name': 'Topic name. Env: KAFKA_SOURCES_TOPIC.',
  'kafka.topics.sources.partitions': 'Partition count (few records: one is plenty).',
  'kafka.topics.sources.replicationFactor': 'Replication factor; unset = min(3, number of brokers). Env: KAFKA_REPLICATION_FACTOR.',
  'kafka.topics.sources.minInsyncReplicas': 'min.insync.replicas of the topic; unset = the broker\'s default.',
};

/** The environment variables the project reads (src/kafka/config.ts kafkaSettingsFromEnv, src/log.ts). */
const ENVIRONMENT: ReadonlyArray<[string, string]> = [
  ['KAFKA_BROKERS', '`host:port[,host:port...]`: kafka.brokers (the replica: unless --brokers is given).'],
  ['KAFKA_CLIENT_ID', 'kafka.clientId.'],
  ['KAFKA_SSL', '`1`/`true`/`yes`/`on`: TLS to the brokers with the system CAs.'],
  ['KAFKA_SSL_CA_FILE', 'PEM CA bundle of the brokers (implies TLS).'],
  ['KAFKA_SSL_REJECT_UNAUTHORIZED', '`0`: do not verify the brokers\' certificates (lab only).'],
  ['KAFKA_SASL_MECHANISM', '`plain`, `scram-sha-256` or `scram-sha-512`; SASL is off when unset.'],
  ['KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD', 'SASL credentials.'],
  ['KAFKA_SASL_MECHANISM_FILE, KAFKA_SASL_USERNAME_FILE, KAFKA_SASL_PASSWORD_FILE', 'The same, read from a file (trailing newline removed): for mounted secrets.'],
  ['KAFKA_EVENTS_TOPIC', 'kafka.topics.events.name (the replica: its default --topic).'],
  ['KAFKA_EVENTS_PARTITIONS', 'kafka.topics.events.partitions.'],
  ['KAFKA_EVENTS_RETENTION_MS', 'kafka.topics.events.retentionMs.'],
  ['KAFKA_SOURCES_TOPIC', 'kafka.topics.sources.name.'],
  ['KAFKA_REPLICATION_FACTOR', 'replicationFactor of both topics.'],
  ['LQR_LOG_LEVEL, LOG_LEVEL', 'Log level of every command (default `info`); logs are JSON lines on stderr.'],
];

/** Rules that span fields (superRefine checks and the loader's own checks), which JSON Schema cannot show. */
const CONNECTOR_RULES = [
  'Unknown fields are errors at every level (a misspelt key is reported, not ignored), in the `kafka:` section too.',
  '`sources[].name` is unique within the file.',
  '`sources[].tls.certFile` and `sources[].tls.keyFile` go together; every TLS file must be readable when the file is loaded (relative paths are relative to the configuration file).',
  '`session.backoff.maxMs` >= `session.backoff.initialMs`.',
  '`kafka.brokers` is required, from the file or from KAFKA_BROKERS; the KAFKA_* variables that are set override the file\'s values.',
  'IPv6 addresses are accepted in any valid text form and normalized to RFC 5952; hex fields accept `:`, `-` or space separators and are normalized to lowercase hex.',
];

const SAFE = Number.MAX_SAFE_INTEGER;

const code = (v: unknown): string => `\`${JSON.stringify(v)}\``;

function typeLabel(node: Json): string {
  if (Array.isArray(node.enum)) return (node.enum as unknown[]).map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  const alts = (node.anyOf ?? node.oneOf) as Json[] | undefined;
  if (alts) {
    const labels = [...new Set(alts.map(typeLabel))];
    return labels.length === 1 && labels[0] === 'mapping' ? `mapping (one of ${alts.length} kinds)` : labels.join(' or ');
  }
  if (node.type === 'array') {
    const items = (node.items ?? {}) as Json;
    return items.properties ? 'list of mappings' : `list of ${typeLabel(items)}`;
  }
  if (node.type === 'object') return 'mapping';
  if (typeof node.type === 'string') return node.type;
  return 'any';
}

function constraintsOf(node: Json, required: boolean): string[] {
  const out: string[] = [];
  if (required) out.push('required');
  const num = (k: string) => (typeof node[k] === 'number' ? (node[k] as number) : undefined);
  const min = num('minimum');
  const max = num('maximum');
  const exMin = num('exclusiveMinimum');
  if (exMin !== undefined) out.push(`> ${exMin}`);
  if (min !== undefined && min !== -SAFE) out.push(`>= ${min}`);
  if (max !== undefined && max !== SAFE) out.push(`<= ${max}`);
  if (node.minLength !== undefined && node.minLength !== 1) out.push(`length >= ${String(node.minLength)}`);
  if (node.minLength === 1) out.push('not empty');
  if (node.maxLength !== undefined) out.push(`length <= ${String(node.maxLength)}`);
  if (typeof node.pattern === 'string') out.push(`matches \`${node.pattern}\``);
  if (node.minItems !== undefined) out.push(`at least ${String(node.minItems)} item${node.minItems === 1 ? '' : 's'}`);
  const items = node.items as Json | undefined;
  if (node.type === 'array' && items && !items.properties) {
    const inner = constraintsOf(items, false);
    if (inner.length > 0) out.push(`each: ${inner.join(', ')}`);
  }
  return out;
}

function defaultOf(node: Json): string {
  if (!('default' in node)) return '';
  const d = node.default;
  if (d !== null && typeof d === 'object' && !Array.isArray(d) && Object.keys(d).length === 0) return '';
  return code(d);
}

/** Rows for `node` at `path` and everything under it. */
function walk(node: Json, path: string, required: boolean, rows: FieldRow[], extra: Record<string, string>): void {
  const alts = ((node.anyOf ?? node.oneOf) as Json[] | undefined) ?? [];
  const objectAlts = alts.filter((a) => a.properties);
  if (path !== '') {
    rows.push({
      path,
      type: typeLabel(node),
      default: defaultOf(node),
      constraints: constraintsOf(node, required),
      description: (typeof node.description === 'string' ? node.description : undefined) ?? extra[path] ?? '',
    });
  }
  const prefix = path === '' ? '' : `${path}.`;
  if (node.properties) {
    const props = node.properties as Record<string, Json>;
    const req = new Set((node.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(props)) walk(v, `${prefix}${k}`, req.has(k), rows, extra);
  } else if (node.type === 'array' && (node.items as Json | undefined)?.properties) {
    const itemRows: FieldRow[] = [];
    const items = node.items as Json;
    const req = new Set((items.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(items.properties as Record<string, Json>)) walk(v, `${path}[].${k}`, req.has(k), itemRows, extra);
    rows.push(...itemRows);
  } else if (objectAlts.length > 0) {
    // A union of mappings (a discriminated union, or `ssl: boolean | {...}`): one row per
    // field name, saying in which variants it exists and whether it is required there.
    const discriminator = objectAlts.every((a) => (a.properties as Record<string, Json>).type?.const !== undefined) ? 'type' : undefined;
    const names = [...new Set(objectAlts.flatMap((a) => Object.keys(a.properties as Record<string, Json>)))];
    for (const name of names) {
      const variants = objectAlts.filter((a) => name in (a.properties as Record<string, Json>));
      const first = (variants[0].properties as Record<string, Json>)[name];
      if (discriminator && name === discriminator) {
        const values = objectAlts.map((a) => (a.properties as Record<string, Json>).type.const);
        rows.push({ path: `${prefix}${name}`, type: values.map((v) => JSON.stringify(v)).join(' \\| '), default: '', constraints: ['required'], description: 'Which kind of query (selects the other fields).' });
        continue;
      }
      const where = discriminator
        ? variants.map((a) => {
            const t = JSON.stringify((a.properties as Record<string, Json>).type.const);
            return `${t}: ${((a.required as string[] | undefined) ?? []).includes(name) ? 'required' : 'optional'}`;
          })
        : [];
      const childRows: FieldRow[] = [];
      walk(first, `${prefix}${name}`, false, childRows, extra);
      const descs = [...new Set(variants.map((a) => (a.properties as Record<string, Json>)[name].description).filter((d): d is string => typeof d === 'string'))];
      childRows[0].constraints = discriminator ? [`type ${where.join('; ')}`, ...childRows[0].constraints] : childRows[0].constraints;
      if (descs.length > 1) childRows[0].description = descs.join(' / ');
      rows.push(...childRows);
    }
  }
}

/** Every field of a schema as rows (path, type, default, constraints, description). */
export function schemaRows(schema: z.ZodType, root: string, extra: Record<string, string> = {}): FieldRow[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  const rows: FieldRow[] = [];
  walk(json, root, false, rows, extra);
  return root === '' ? rows : rows.slice(1);
}

/** Rows of the connector file (kafka: documented separately) and of its kafka: section. */
export function configRows(): { connector: FieldRow[]; kafka: FieldRow[] } {
  const connector = schemaRows(ConnectorConfigSchema, '');
  const kafka = schemaRows(KafkaSettingsSchema, 'kafka', KAFKA_DESCRIPTIONS);
  return { connector, kafka };
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(rows: FieldRow[]): string[] {
  const out = ['| field | type | default | constraints | description |', '| --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    // typeLabel already escapes the pipes it writes.
    out.push(`| \`${r.path}\` | ${r.type} | ${r.default} | ${cell(r.constraints.join(', '))} | ${cell(r.description || '—')} |`);
  }
  return out;
}

type CommandModule = { run(argv: string[]): Promise<number> };

/** The commands whose flags are documented, with their modules. */
export const DOCUMENTED_COMMANDS: ReadonlyArray<[string, () => Promise<CommandModule>]> = [
  ['connector', () => import('../cli/commands/connector.js')],
  ['replica', () => import('../cli/commands/replica.js')],
  ['lab', () => import('../cli/commands/lab.js')],
];

/**
 * Run a command's `run(argv)` with stdout captured. With `--help` among the arguments
 * the commands parse everything (strictly: an unknown flag is an error) and print their
 * usage, doing nothing else.
 */
export async function runCaptured(mod: CommandModule, argv: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as unknown as typeof process.stdout.write;
  try {
    const code = await mod.run(argv);
    return { code, stdout: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}

/** The whole of docs/configuration.md. */
export async function renderConfigurationDocs(): Promise<string> {
  const { connector, kafka } = configRows();
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run build && npm run docs:config` (src/tools/gen-config-docs.ts) from the zod',
    '     schemas and the commands\' --help. Do not edit by hand: test/unit/deploy/config-docs.test.ts fails',
    '     when this file is stale. -->',
    '',
    'What can be configured, and where:',
    '',
    '- `lqr connector` reads a configuration file (YAML or JSON, `--config FILE`) laid out below; the',
    '  `KAFKA_*` environment variables override its `kafka:` section. `lqr connector --config FILE',
    '  --print-config` prints the effective configuration (defaults filled in, secrets redacted).',
    '  A commented example: `deploy/examples/connector.yaml`.',
    '- `lqr replica` and `lqr lab` take command-line flags only (listed at the end); the replica reads',
    '  its Kafka settings from `--brokers` and the same `KAFKA_*` variables.',
    '',
    'Types are those of the file: "mapping" is a YAML mapping (JSON object), "list" a sequence.',
    'A path `a[].b` is field `b` of each item of list `a`.',
    '',
    '## Connector configuration file',
    '',
    ...table(connector),
    '',
    'Rules that span fields:',
    '',
    ...CONNECTOR_RULES.map((r) => `- ${r}`),
    '',
    '## The `kafka:` section',
    '',
    'The same settings are read from the environment by every command that talks to Kafka',
    '(see the next section); in the connector\'s file the variables that are set win over the file.',
    '',
    ...table(kafka),
    '',
    '## Environment variables',
    '',
    '| variable | meaning |',
    '| --- | --- |',
    ...ENVIRONMENT.map(([name, meaning]) => `| ${name.split(', ').map((n) => `\`${n}\``).join(', ')} | ${cell(meaning)} |`),
    '',
    '## Command-line flags',
    '',
    'As printed by `lqr <command> --help`.',
  ];
  for (const [name, load] of DOCUMENTED_COMMANDS) {
    const { code: exit, stdout } = await runCaptured(await load(), ['--help']);
    if (exit !== 0) throw new Error(`lqr ${name} --help exited ${exit}`);
    lines.push('', `### lqr ${name}`, '', '```text', stdout.trimEnd(), '```');
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'docs/configuration.md');
  writeFileSync(out, await renderConfigurationDocs());
  process.stdout.write(`wrote ${out}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`gen-config-docs: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}

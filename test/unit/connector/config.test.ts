// The connector's configuration: defaults, normalization, and errors that name the
// field path and what is wrong; the KAFKA_* environment over the file's kafka section.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, REDACTED, loadConnectorConfig, redactSecrets, resolveConnectorConfig } from '../../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'lqr-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const minimal = { id: 'c1', kafka: { brokers: ['127.0.0.1:9092'] }, sources: [{ name: 'a', host: '2001:DB8::1' }] };
const noEnv = {};

function issuesOf(data: unknown, env: NodeJS.ProcessEnv = noEnv): { path: string; message: string }[] {
  try {
    resolveConnectorConfig(data, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('connector config', () => {
  it('fills in defaults and normalizes addresses', () => {
    const c = resolveConnectorConfig(minimal, noEnv);
    expect(c.sources[0]).toMatchObject({ name: 'a', host: '2001:DB8::1', port: 547, scopes: { links: [], relayIds: [], learn: true } });
    expect(c.batch).toMatchObject({ maxEvents: 20_000, sourceQueue: 10_000, totalQueue: 100_000 });
    expect(c.session.backoff).toMatchObject({ initialMs: 500, maxMs: 30_000 });
    expect(c.metrics).toEqual({ host: '127.0.0.1', port: 9464, enabled: true });
    expect(c.kafka.topics.events.name).toBe('lq.events');
    const scoped = resolveConnectorConfig({ ...minimal, sources: [{ name: 'a', host: 'h', scopes: { links: ['2001:0DB8:0:1::1'], relayIds: ['00:02:00:00:7E:D9:72:65'] } }] }, noEnv);
    expect(scoped.sources[0].scopes).toMatchObject({ links: ['2001:db8:0:1::1'], relayIds: ['000200007ed97265'] });
  });

  it('names the field path of every problem', () => {
    const issues = issuesOf({
      id: 'bad id!',
      kafka: { brokers: ['nohostport'] },
      batch: { maxEvent: 5 },
      sources: [
        { name: 'a', host: 'h', port: 70000 },
        { name: 'a', host: 'h', tls: { certFile: 'x.pem' } },
        { name: 'b', host: 'h', query: { type: 'link', link: 'not-an-address' } },
        { name: 'c', host: 'h', scopes: { relayIds: ['zz'] } },
      ],
    });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath.id).toMatch(/letters, digits/);
    expect(byPath['batch.maxEvent']).toMatch(/unknown field/);
    expect(byPath['sources[0].port']).toMatch(/<=65535/);
    expect(byPath['sources[1].name']).toMatch(/duplicate source name 'a' \(also sources\[0\]\)/);
    expect(byPath['sources[1].tls.keyFile']).toMatch(/go together/);
    expect(byPath['sources[2].query.link']).toMatch(/not an IPv6 address/);
    expect(byPath['sources[3].scopes.relayIds[0]']).toMatch(/hex bytes/);
  });

  it('reports missing required fields as required, and a missing broker list with where it can come from', () => {
    const issues = issuesOf({ sources: [{ name: 'a' }] });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'id', message: 'required (string expected)' },
        { path: 'sources[0].host', message: 'required (string expected)' },
      ]),
    );
    const k = issuesOf({ id: 'x', sources: [{ name: 'a', host: 'h' }] });
    expect(k).toEqual([{ path: 'kafka.brokers', message: expect.stringMatching(/KAFKA_BROKERS/) }]);
    expect(issuesOf({ ...minimal, kafka: { brokers: ['h:1'], broker: 'typo' } })).toEqual([{ path: 'kafka.broker', message: expect.stringMatching(/unknown field/) }]);
  });

  it('lets KAFKA_* environment variables override the file', () => {
    const c = resolveConnectorConfig(
      { ...minimal, kafka: { brokers: ['file:1'], clientId: 'from-file', topics: { events: { name: 'file.events', partitions: 6 } } } },
      { KAFKA_BROKERS: 'env1:9092, env2:9092', KAFKA_EVENTS_TOPIC: 'env.events' },
    );
    expect(c.kafka.brokers).toEqual(['env1:9092', 'env2:9092']);
    expect(c.kafka.clientId).toBe('from-file');
    expect(c.kafka.topics.events).toMatchObject({ name: 'env.events', partitions: 6 });
    // The environment alone is enough for Kafka.
    const e = resolveConnectorConfig({ id: 'x', sources: [{ name: 'a', host: 'h' }] }, { KAFKA_BROKERS: 'k:9092' });
    expect(e.kafka.brokers).toEqual(['k:9092']);
  });

  it('reads YAML files, resolves TLS paths next to the file and checks they exist', () => {
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const file = join(dir, 'c.yaml');
    writeFileSync(file, ['id: c1', 'kafka: {brokers: ["127.0.0.1:9092"]}', 'sources:', '  - name: a', '    host: h', '    tls: {caFile: ca.pem, mode: prefer}', ''].join('\n'));
    const c = loadConnectorConfig(file, noEnv);
    expect(c.sources[0].tls).toMatchObject({ caFile: join(dir, 'ca.pem'), mode: 'prefer', rejectUnauthorized: true });
    writeFileSync(file, ['id: c1', 'kafka: {brokers: ["127.0.0.1:9092"]}', 'sources:', '  - name: a', '    host: h', '    tls: {caFile: missing.pem}', ''].join('\n'));
    expect(() => loadConnectorConfig(file, noEnv)).toThrow(/sources\[0\]\.tls\.caFile: cannot read '.*missing\.pem' \(ENOENT\)/);
  });

  it('reports YAML syntax errors with their line', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'id: c1\nsources:\n  - name: a\n   host: h\n');
    expect(() => loadConnectorConfig(file, noEnv)).toThrow(/bad\.yaml: invalid configuration: line \d+, column \d+: YAML/);
    expect(() => loadConnectorConfig(join(dir, 'nope.yaml'), noEnv)).toThrow(/cannot read the file: ENOENT/);
  });

  it('redacts secrets for printing', () => {
    const c = resolveConnectorConfig({ ...minimal, kafka: { brokers: ['h:1'], sasl: { mechanism: 'plain', username: 'u', password: 'hunter2' } } }, noEnv);
    const shown = redactSecrets(c);
    expect(shown.kafka.sasl?.password).toBe(REDACTED);
    expect(shown.kafka.sasl?.username).toBe('u');
    expect(c.kafka.sasl?.password).toBe('hunter2');
  });

  it('accepts the shipped example (deploy/examples/connector.yaml)', () => {
    const doc = parse(readFileSync(new URL('../../../deploy/examples/connector.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
    // Its TLS files are placeholders: check the rest of the schema.
    const sources = (doc.sources as Record<string, unknown>[]).map((s) => ({ ...s, tls: undefined }));
    const c = resolveConnectorConfig({ ...doc, sources }, noEnv);
    expect(c.sources.length).toBeGreaterThan(0);
  });
});

// Kafka settings from the environment, and kafkajs's logging routed into pino.
// (No broker needed.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafka, pinoLogCreator } from '../../src/kafka/client.js';
import { kafkaSettingsFromEnv, parseKafkaSettings } from '../../src/kafka/index.js';
import { logLevel } from '../../src/kafka/kafkajs.js';

describe('kafkaSettingsFromEnv', () => {
  it('reads brokers and fills the defaults (lq.events kept forever, lq.sources)', () => {
    const s = kafkaSettingsFromEnv({ KAFKA_BROKERS: ' 127.0.0.1:9092 , kafka-2:9093 ' });
    expect(s.brokers).toEqual(['127.0.0.1:9092', 'kafka-2:9093']);
    expect(s.ssl).toBe(false);
    expect(s.sasl).toBeUndefined();
    expect(s.topics.events).toMatchObject({ name: 'lq.events', partitions: 12, retentionMs: -1 });
    expect(s.topics.sources).toMatchObject({ name: 'lq.sources', partitions: 1 });
  });

  it('says what is missing when KAFKA_BROKERS is not set', () => {
    expect(() => kafkaSettingsFromEnv({})).toThrow(/KAFKA_BROKERS/);
  });

  it('TLS and SASL, with secrets from files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lqr-kafka-env-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'password'), 's3cret\n');
      const s = kafkaSettingsFromEnv({
        KAFKA_BROKERS: 'b:9094',
        KAFKA_SSL: '1',
        KAFKA_SSL_CA_FILE: join(dir, 'ca.pem'),
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'lqr',
        KAFKA_SASL_PASSWORD_FILE: join(dir, 'password'),
        KAFKA_EVENTS_PARTITIONS: '24',
        KAFKA_EVENTS_RETENTION_MS: '34560000000',
      });
      expect(s.ssl).toMatchObject({ rejectUnauthorized: true });
      expect(typeof s.ssl === 'object' && s.ssl.ca).toContain('BEGIN CERTIFICATE');
      expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'lqr', password: 's3cret' });
      expect(s.topics.events.partitions).toBe(24);
      expect(s.topics.events.retentionMs).toBe(34_560_000_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('KAFKA_SSL=1 alone means TLS with the system CAs', () => {
    expect(kafkaSettingsFromEnv({ KAFKA_BROKERS: 'b:9094', KAFKA_SSL: '1' }).ssl).toBe(true);
  });

  it('rejects a bad mechanism and a bad topic name', () => {
    expect(() => kafkaSettingsFromEnv({ KAFKA_BROKERS: 'b:1', KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u' })).toThrow(/sasl/);
    expect(() => kafkaSettingsFromEnv({ KAFKA_BROKERS: 'b:1', KAFKA_EVENTS_TOPIC: 'lq events' })).toThrow(/topic/);
  });
});

describe('kafkajs logging', () => {
  function capture() {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    return { lines, logger: pino({ level: 'debug' }, stream) };
  }

  it('goes to pino as JSON lines with the kafkajs namespace, at the matching level', async () => {
    const { lines, logger } = capture();
    const log = pinoLogCreator(logger)(logLevel.DEBUG);
    log({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: { timestamp: 'x', message: 'something odd', broker: 'b:1' } });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message: 'Response Produce', error: 'retriable' } });
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatchObject({ level: 40, msg: 'something odd', kafkajs: 'Producer', broker: 'b:1' });
    expect(lines[0]).not.toHaveProperty('timestamp');
    // Per-request error responses (retried by kafkajs) are debug, not error.
    expect(lines[1]).toMatchObject({ level: 20, msg: 'Response Produce', kafkajs: 'Connection' });
  });

  it('a client with a pino logger logs through it (nothing printed raw)', async () => {
    const { lines, logger } = capture();
    const kafka = createKafka(parseKafkaSettings({ brokers: ['127.0.0.1:1'], connectionTimeoutMs: 200 }), { logger, retries: 0 });
    const admin = kafka.admin();
    await expect(admin.connect()).rejects.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => typeof l.kafkajs === 'string' && l.component === 'kafkajs')).toBe(true);
  });
});
